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
	"runtime/debug"
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
	"clubbot/store"
	"clubbot/zalosim"
)

const (
	appID    = "1027192766115822600"
	oaID     = "2910835123456789012"
	oaSecret = "FAKE_OA_SECRET_KEY_123"
)

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(200) // as cmd/clubbot sets it for the server (the baseline gets it too)
	}
	if os.Getenv("GOGC") == "" {
		// As cmd/clubbot sets it for the server. The bare handler runs in the same process
		// with the same setting.
		debug.SetGCPercent(200)
	}
	n := flag.Int("n", 20000, "requests per target per round")
	conc := flag.Int("c", 64, "concurrent connections")
	rounds := flag.Int("rounds", 3, "rounds (each measures the bare handler, then the server)")
	users := flag.Int("users", 2000, "distinct Zalo users sending the events")
	timeout := flag.Duration("timeout", 5*time.Minute, "bound on the whole run")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of each webhook-path round to this file, suffixed .1, .2, …")
	flag.Parse()
	if err := run(*n, *conc, *rounds, *users, *timeout, *cpuProfile); err != nil {
		fmt.Fprintln(os.Stderr, "ingest:", err)
		os.Exit(1)
	}
}

// result is one target's figures for one round.
type result struct {
	ok       int
	failed   int
	elapsed  time.Duration
	p50, p99 time.Duration
	max      time.Duration
}

func (r result) rps() float64 { return float64(r.ok) / r.elapsed.Seconds() }

func run(n, conc, rounds, users int, timeout time.Duration, cpuProfile string) error {
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
	for _, u := range []string{bareURL, ingestSrv.url, fullSrv.url} {
		if _, err := fire(ctx, client, u, events(&seq, warm, users), conc); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	var bares, ingests, fulls []result
	for r := range rounds {
		rb, err := fire(ctx, client, bareURL, events(&seq, n, users), conc)
		if err != nil {
			return err
		}
		var prof *os.File
		if cpuProfile != "" {
			if prof, err = os.Create(fmt.Sprintf("%s.%d", cpuProfile, r+1)); err != nil {
				return err
			}
			_ = pprof.StartCPUProfile(prof)
		}
		ri, err := fire(ctx, client, ingestSrv.url, events(&seq, n, users), conc)
		if prof != nil {
			pprof.StopCPUProfile()
			prof.Close()
		}
		if err != nil {
			return err
		}
		rf, err := fire(ctx, client, fullSrv.url, events(&seq, n, users), conc)
		if err != nil {
			return err
		}
		// The full server's worker is still turning the round's events into replies: let it
		// finish, so that it does not take CPU from the next round's measurements.
		if err := fullSrv.drain(ctx); err != nil {
			return err
		}
		ingestSrv.acked += ri.ok
		fullSrv.acked += rf.ok
		bares, ingests, fulls = append(bares, rb), append(ingests, ri), append(fulls, rf)
		fmt.Printf("round %d: bare gin %6.0f req/s | clubbot webhook path %6.0f req/s, p50 %5.2f ms, p99 %6.2f ms, ratio %.2f"+
			" | full server %6.0f req/s, p50 %5.2f ms, p99 %6.2f ms, ratio %.2f\n",
			r+1, rb.rps(), ri.rps(), ms(ri.p50), ms(ri.p99), ri.rps()/rb.rps(), rf.rps(), ms(rf.p50), ms(rf.p99), rf.rps()/rb.rps())
		if rb.failed+ri.failed+rf.failed > 0 {
			return fmt.Errorf("round %d: requests not answered 200: %d bare, %d webhook path, %d full server",
				r+1, rb.failed, ri.failed, rf.failed)
		}
	}
	mb, mi, mf := median(bares), median(ingests), median(fulls)
	fmt.Printf("\nmedian round, %d connections:\n", conc)
	fmt.Printf("  bare gin               %6.0f req/s\n", mb.rps())
	fmt.Printf("  clubbot, webhook path  %6.0f req/s, ratio %.3f (target ≥ 0.40): %s; p50 %.2f ms, p99 %.2f ms (target < 20 ms): %s\n",
		mi.rps(), mi.rps()/mb.rps(), verdict(mi.rps()/mb.rps() >= 0.40), ms(mi.p50), ms(mi.p99), verdict(mi.p99 < 20*time.Millisecond))
	fmt.Printf("  clubbot, full server   %6.0f req/s, ratio %.3f; p50 %.2f ms, p99 %.2f ms (worker turning every event into replies meanwhile)\n",
		mf.rps(), mf.rps()/mb.rps(), ms(mf.p50), ms(mf.p99))

	// Every 200 durably committed: stop the servers and count their inboxes.
	for _, s := range []*server{ingestSrv, fullSrv} {
		total, pending, err := s.close()
		if err != nil {
			return err
		}
		fmt.Printf("inbox of the %s server after stop: %d events recorded = %d acknowledged in the rounds + %d warm-up (%d not yet processed): %s\n",
			s.name, total, s.acked, warm, pending, verdict(total == s.acked+warm))
		if total != s.acked+warm {
			return errors.New("an inbox does not hold every acknowledged event")
		}
	}
	return nil
}

// server is one clubbot server of the benchmark.
type server struct {
	name   string
	url    string
	db     *store.DB
	sim    *httptest.Server
	stop   context.CancelFunc
	served chan error
	acked  int
}

// startServer runs a real server, as `clubbot serve` wires it, on its own bbolt file and
// against its own simulated Zalo (for the replies the worker queues). Logs are produced at
// info level, as in production, and discarded.
func startServer(dir, name string, ingestOnly bool) (*server, error) {
	sim := zalosim.New(zalosim.Config{AppID: appID, OAID: oaID, OASecretKey: oaSecret, AppSecret: "app-secret",
		AccessToken: "access-token-bench", RefreshToken: "refresh-token-bench"})
	s := &server{name: name, sim: httptest.NewServer(sim.APIHandler()), served: make(chan error, 1)}
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

// drain waits until the server's worker has processed every recorded event.
func (s *server) drain(ctx context.Context) error {
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

// median returns the round with the median requests/s.
func median(rs []result) result {
	s := slices.Clone(rs)
	sort.Slice(s, func(i, j int) bool { return s[i].rps() < s[j].rps() })
	return s[len(s)/2]
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
// each with a new message id. They are built before the clock starts, so the load
// generator costs both targets the same.
func events(seq *atomic.Int64, n, users int) []signedEvent {
	out := make([]signedEvent, n)
	for i := range out {
		k := seq.Add(1)
		ts := fmt.Sprint(1751100041636 + k)
		body := fmt.Appendf(nil, `{"app_id":"%s","sender":{"id":"83093939698%08d"},"user_id_by_app":"73004427648%08d","recipient":{"id":"%s"},"event_name":"user_send_text","message":{"text":"Báo cáo sinh hoạt tháng 11","msg_id":"%020x"},"timestamp":"%s"}`,
			appID, k%int64(users), k%int64(users), oaID, k, ts)
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
	start := time.Now()
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
	r := result{elapsed: time.Since(start)}
	if ctx.Err() != nil {
		return r, fmt.Errorf("run timed out: %w", ctx.Err())
	}
	if firstErr != nil {
		return r, firstErr
	}
	var okLat []time.Duration
	for i, ok := range okFlags {
		if ok {
			r.ok++
			okLat = append(okLat, lat[i])
		} else {
			r.failed++
		}
	}
	slices.Sort(okLat)
	if len(okLat) > 0 {
		r.p50 = okLat[len(okLat)/2]
		r.p99 = okLat[min(len(okLat)-1, len(okLat)*99/100)]
		r.max = okLat[len(okLat)-1]
	}
	return r, nil
}
