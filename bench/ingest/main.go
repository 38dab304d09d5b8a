// Command ingest measures webhook ingest: POST /webhook/zalo of the real clubbot server (a
// real bbolt file, the worker and the sender running, every 200 answered only after the
// event is committed and fsynced) against a bare gin handler that reads the body and
// answers 200, both on loopback in the same run, at the same concurrency. Run from the
// repository root:
//
//	go run ./bench/ingest -n 20000 -c 64 -rounds 3
//
// Each round fires n signed, fixture-shaped user_send_text events (unique message ids, from
// a pool of users) at the bare handler and then at the server over c keep-alive
// connections, and records every request's latency. It prints requests/s of both, their
// ratio (target ≥ 0.40) and the server's p50/p99 latency (target p99 < 20 ms), per round
// and the median round; then it stops the server and checks that the inbox holds every
// acknowledged event. The whole run is bounded by -timeout.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/rs/zerolog"

	"clubbot/bench/benchkit"
	"clubbot/bot"
	"clubbot/bot/zalo"
	"clubbot/internal/memprobe"
	"clubbot/internal/runtimetune"
	"clubbot/store"
	"clubbot/zalosim"
)

const (
	appID    = "1027192766115822600"
	oaID     = "2910835123456789012"
	oaSecret = "FAKE_OA_SECRET_KEY_123"
)

func main() {
	// As cmd/clubbot runs the server; the bare handler runs in the same process, with the
	// same settings.
	runtimetune.Apply()
	n := flag.Int("n", 20000, "requests per target per round")
	conc := flag.Int("c", 64, "concurrent connections")
	rounds := flag.Int("rounds", 3, "rounds (each measures the bare handler and the server, alternating)")
	full := flag.Bool("full", true, "also measure the full server (worker and sender running)")
	slice := flag.Int("slice", 5000, "requests to one target before switching to the other within a round")
	users := flag.Int("users", 2000, "distinct Zalo users sending the events")
	timeout := flag.Duration("timeout", 5*time.Minute, "bound on the whole run")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of each webhook-path round to this file, suffixed .1, .2, … "+
		"(and of the bare handler's rounds, suffixed .bare.1, …); a round then does not alternate")
	flag.Parse()
	if err := run(*n, *slice, *conc, *rounds, *users, *full, *timeout, *cpuProfile); err != nil {
		fmt.Fprintln(os.Stderr, "ingest:", err)
		os.Exit(1)
	}
}

// result is one target's figures for one round.
type result struct {
	cpu       time.Duration // the process's CPU time during the round (both sides of loopback)
	ok        int
	failed    int
	elapsed   time.Duration
	lat       []time.Duration // of the requests answered 200
	perCommit float64         // requests per inbox commit (the servers)
	p50, p99  time.Duration
}

// add sums two parts of a round (see summarize).
func (r result) add(o result) result {
	return result{cpu: r.cpu + o.cpu, ok: r.ok + o.ok, failed: r.failed + o.failed, elapsed: r.elapsed + o.elapsed,
		lat: append(r.lat, o.lat...)}
}

// summarize sets the latency percentiles.
func (r *result) summarize() {
	slices.Sort(r.lat)
	if len(r.lat) > 0 {
		r.p50 = r.lat[len(r.lat)/2]
		r.p99 = r.lat[min(len(r.lat)-1, len(r.lat)*99/100)]
	}
}

func (r result) rps() float64 { return float64(r.ok) / r.elapsed.Seconds() }

// cpuPerReq is the process's CPU time per answered request, client side included: a figure
// that other work on a shared machine moves much less than requests/s.
func (r result) cpuPerReq() float64 {
	return float64(r.cpu) / float64(time.Microsecond) / float64(max(r.ok, 1))
}

// busy is how many of the machine's cores the process kept busy during the round.
func (r result) busy() float64 { return r.cpu.Seconds() / r.elapsed.Seconds() }

func run(n, slice, conc, rounds, users int, full bool, timeout time.Duration, cpuProfile string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "clubbot-bench-ingest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	// The bare handler: what gin costs with nothing behind it.
	gin.SetMode(gin.ReleaseMode)
	bare := gin.New()
	bare.POST("/webhook/zalo", func(c *gin.Context) {
		_, _ = io.Copy(io.Discard, c.Request.Body)
		c.Status(http.StatusOK)
	})
	bareURL, stopBare, err := listen(bare)
	if err != nil {
		return err
	}
	defer stopBare()

	// The real server twice, each on its own bbolt file: the webhook path alone (the inbox
	// is committed and fsynced, the worker does not run: what the ingest budget measures),
	// and the full server, whose worker turns every event into replies at the same time
	// (the turns have their own budget and benchmark, bench/turns).
	ingestSrv, err := startServer(dir, "ingest", true)
	if err != nil {
		return err
	}
	defer ingestSrv.stop()
	fullSrv, err := startServer(dir, "full", false)
	if err != nil {
		return err
	}
	defer fullSrv.stop()

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 3 * conc, MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, DisableCompression: true,
		DialContext: (&net.Dialer{Timeout: time.Second}).DialContext,
	}}
	var seq atomic.Int64
	fmt.Printf("webhook ingest: %d requests per target per round, %d connections, %d rounds, GOMAXPROCS=%d, %s/%s, %s%s\n",
		n, conc, rounds, runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), loadAvg())
	// Warm-up: connections, page cache, the first bbolt pages.
	warm := min(n, 2000)
	warmUp := func(u string, s *server) error {
		r, err := fire(ctx, client, u, events(&seq, warm, users), conc)
		if err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
		if s != nil {
			s.warmed += r.ok
		}
		return nil
	}
	if err := warmUp(bareURL, nil); err != nil {
		return err
	}
	if err := warmUp(ingestSrv.url, ingestSrv); err != nil {
		return err
	}
	// The webhook-path rounds come first, with the full server idle: once it has received
	// events, its sender works through their replies at the OA's pace (40/s) for many
	// minutes, a steady load of its own that would fall on every later round.
	bares, ingests, err := pairRounds(ctx, client, &seq, bareURL, ingestSrv, n, slice, conc, rounds, users, cpuProfile)
	if err != nil {
		return err
	}
	var fullBares, fulls []result
	if full {
		if err := warmUp(fullSrv.url, fullSrv); err != nil {
			return err
		}
		if err := fullSrv.drain(ctx); err != nil {
			return err
		}
		if fullBares, fulls, err = pairRounds(ctx, client, &seq, bareURL, fullSrv, n, slice, conc, rounds, users, ""); err != nil {
			return err
		}
	}
	fmt.Printf("\nmedian of the rounds, %d connections (ratio: of the same round's bare handler):\n", conc)
	mi := median(ingests, bares)
	fmt.Printf("  clubbot, webhook path  %6.0f req/s, ratio %.3f (target ≥ 0.40): %s; p50 %.2f ms, p99 %.2f ms (target < 20 ms): %s; CPU %.0f µs a request (bare %.0f µs)\n",
		mi.s.rps(), mi.ratio, verdict(mi.ratio >= 0.40), ms(mi.s.p50), ms(mi.s.p99), verdict(mi.s.p99 < 20*time.Millisecond),
		mi.s.cpuPerReq(), mi.b.cpuPerReq())
	if full {
		mf := median(fulls, fullBares)
		fmt.Printf("  clubbot, full server   %6.0f req/s, ratio %.3f; p50 %.2f ms, p99 %.2f ms; CPU %.0f µs a request (worker turning every event into replies meanwhile)\n",
			mf.s.rps(), mf.ratio, ms(mf.s.p50), ms(mf.s.p99), mf.s.cpuPerReq())
	}

	// Every 200 durably committed: stop the servers and count their inboxes.
	for _, s := range []*server{ingestSrv, fullSrv} {
		total, pending, err := s.close()
		if err != nil {
			return err
		}
		fmt.Printf("inbox of the %s server after stop: %d events recorded = %d acknowledged in the rounds + %d warm-up (%d not yet processed): %s\n",
			s.name, total, s.acked, s.warmed, pending, verdict(total == s.acked+s.warmed))
		if total != s.acked+s.warmed {
			return errors.New("an inbox does not hold every acknowledged event")
		}
	}
	return nil
}

// server is one clubbot server of the benchmark.
type server struct {
	name       string
	ingestOnly bool
	bot        *bot.Bot
	url        string
	db         *store.DB
	sim        *httptest.Server
	stop       context.CancelFunc
	served     chan error
	acked      int // answered 200 in the rounds
	warmed     int // answered 200 in the warm-up
}

// label names the server in the round lines.
func (s *server) label() string {
	if s.ingestOnly {
		return "webhook path"
	}
	return "full server"
}

// startServer runs a real server, as `clubbot serve` wires it, on its own bbolt file and
// against its own simulated Zalo (for the replies the worker queues). Logs are produced at
// info level, as in production, and discarded.
func startServer(dir, name string, ingestOnly bool) (*server, error) {
	sim := zalosim.New(zalosim.Config{AppID: appID, OAID: oaID, OASecretKey: oaSecret, AppSecret: "app-secret",
		AccessToken: "access-token-bench", RefreshToken: "refresh-token-bench"})
	s := &server{name: name, ingestOnly: ingestOnly, sim: httptest.NewServer(sim.APIHandler()), served: make(chan error, 1)}
	db, err := store.Open(filepath.Join(dir, name, "clubbot.db"))
	if err != nil {
		return nil, err
	}
	s.db = db
	b, err := bot.New(bot.Options{DB: db, Log: zerolog.New(io.Discard).Level(zerolog.InfoLevel),
		AppID: appID, OAID: oaID, OASecret: oaSecret, AppSecret: "app-secret",
		APIBase: s.sim.URL, OAuthBase: s.sim.URL, Bootstrap: zalo.Tokens{Access: "access-token-bench", Refresh: "refresh-token-bench"},
		IngestOnly: ingestOnly})
	if err != nil {
		return nil, err
	}
	s.bot = b
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	s.stop = stop
	go func() { s.served <- b.Serve(ctx, ln) }()
	s.url = "http://" + ln.Addr().String() + "/webhook/zalo"
	return s, benchkit.WaitUp("http://" + ln.Addr().String() + "/healthz")
}

// drain waits until the server's worker has processed every recorded event (the webhook
// path's events stay pending: it has no worker).
func (s *server) drain(ctx context.Context) error {
	if s.ingestOnly {
		return nil
	}
	for {
		n, err := s.db.InboxPending()
		if err != nil || n == 0 {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the %s server's worker: %w", s.name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// close stops the server and counts its inbox.
func (s *server) close() (total, pending int, err error) {
	s.stop()
	if err := <-s.served; err != nil {
		return 0, 0, fmt.Errorf("serve: %w", err)
	}
	s.sim.Close()
	total, pending, err = s.db.InboxStats()
	s.db.Close()
	return total, pending, err
}

// loadAvg is the machine's load average, when known: on a shared machine other work takes
// CPU and disk time from both targets and moves the figures.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil || len(b) < 14 {
		return ""
	}
	return ", load average " + string(b[:14])
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// pair is one round's server figures beside the bare handler's, measured just before.
type pair struct {
	b, s  result
	ratio float64
}

// median returns the round with the median ratio.
func median(servers, bares []result) pair {
	ps := make([]pair, len(servers))
	for i := range servers {
		ps[i] = pair{b: bares[i], s: servers[i], ratio: servers[i].rps() / bares[i].rps()}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].ratio < ps[j].ratio })
	return ps[len(ps)/2]
}

// pairRounds runs the rounds against one server: each fires n new events at the bare
// handler, then n at the server, and prints both. After each round it waits for the
// server's worker to finish the round's events (the full server), so that the worker does not
// take CPU from the next round's measurements.
func pairRounds(ctx context.Context, client *http.Client, seq *atomic.Int64, bareURL string, srv *server,
	n, slice, conc, rounds, users int, cpuProfile string) (bares, servers []result, err error) {
	if cpuProfile != "" {
		slice = n // one profile of each target a round
	}
	for r := range rounds {
		// The round alternates between the targets every slice requests, so that both see
		// the same moments of a shared machine (whose speed moves within seconds).
		var rb, rs result
		c0, e0 := srv.bot.CommitGroups()
		for k := 0; k < n; k += slice {
			m := min(slice, n-k)
			var b, s result
			err := profiled(cpuProfile, fmt.Sprintf("bare.%d", r+1), func() (err error) {
				b, err = fire(ctx, client, bareURL, events(seq, m, users), conc)
				return err
			})
			if err != nil {
				return nil, nil, err
			}
			evs := events(seq, m, users)
			err = profiled(cpuProfile, fmt.Sprint(r+1), func() (err error) {
				s, err = fire(ctx, client, srv.url, evs, conc)
				return err
			})
			if err != nil {
				return nil, nil, err
			}
			rb, rs = rb.add(b), rs.add(s)
		}
		rb.summarize()
		rs.summarize()
		c1, e1 := srv.bot.CommitGroups()
		rs.perCommit = float64(e1-e0) / float64(max(c1-c0, 1))
		if err := srv.drain(ctx); err != nil {
			return nil, nil, err
		}
		srv.acked += rs.ok
		bares, servers = append(bares, rb), append(servers, rs)
		fmt.Printf("%-12s round %d: bare gin %6.0f req/s, CPU %3.0f µs a request (%.2f cores) | clubbot %6.0f req/s, p50 %5.2f ms, p99 %6.2f ms, CPU %3.0f µs a request (%.2f cores), %.0f a commit | ratio %.3f\n",
			srv.label(), r+1, rb.rps(), rb.cpuPerReq(), rb.busy(), rs.rps(), ms(rs.p50), ms(rs.p99), rs.cpuPerReq(), rs.busy(), rs.perCommit, rs.rps()/rb.rps())
		if rb.failed+rs.failed > 0 {
			return nil, nil, fmt.Errorf("%s round %d: requests not answered 200: %d bare, %d server", srv.label(), r+1, rb.failed, rs.failed)
		}
	}
	return bares, servers, nil
}

// profiled runs f, with a CPU profile written to path.suffix if path is set.
func profiled(path, suffix string, f func() error) error {
	if path == "" {
		return f()
	}
	prof, err := os.Create(path + "." + suffix)
	if err != nil {
		return err
	}
	defer prof.Close()
	if err := pprof.StartCPUProfile(prof); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	return f()
}

// listen serves h on a loopback port.
func listen(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + "/webhook/zalo", func() { _ = srv.Close() }, nil
}

// signedEvent is a request body with its signature header.
type signedEvent struct {
	body []byte
	sig  string
}

// events builds n signed user_send_text events shaped like testdata/zalo/user_send_text.json,
// each with a new message id (in no order, as Zalo's). They are built before the clock starts, so the load
// generator costs both targets the same.
func events(seq *atomic.Int64, n, users int) []signedEvent {
	out := make([]signedEvent, n)
	for i := range out {
		k := seq.Add(1)
		u := k % int64(users)
		body, ts := benchkit.TextEvent(appID, oaID, fmt.Sprintf("83093939698%08d", u), fmt.Sprintf("73004427648%08d", u),
			"Báo cáo sinh hoạt tháng 11", k)
		out[i] = signedEvent{body: body, sig: "mac=" + zalo.Sign(appID, oaSecret, body, ts)}
	}
	return out
}

// fire posts every body to u over conc connections and measures each request.
func fire(ctx context.Context, client *http.Client, u string, bodies []signedEvent, conc int) (result, error) {
	lat := make([]time.Duration, len(bodies))
	okFlags := make([]bool, len(bodies))
	var next atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var errOnce sync.Once
	start, cpu0 := time.Now(), memprobe.CPUTime()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(bodies) || ctx.Err() != nil {
					return
				}
				t0 := time.Now()
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(bodies[i].body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(zalo.SignatureHeader, bodies[i].sig)
				resp, err := client.Do(req)
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat[i] = time.Since(t0)
				okFlags[i] = resp.StatusCode == http.StatusOK
			}
		}()
	}
	wg.Wait()
	r := result{elapsed: time.Since(start), cpu: memprobe.CPUTime() - cpu0}
	if ctx.Err() != nil {
		return r, fmt.Errorf("run timed out: %w", ctx.Err())
	}
	if firstErr != nil {
		return r, firstErr
	}
	for i, ok := range okFlags {
		if ok {
			r.ok++
			r.lat = append(r.lat, lat[i])
		} else {
			r.failed++
		}
	}
	r.summarize()
	return r, nil
}
