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
	n := flag.Int("n", 20000, "requests per target per round")
	conc := flag.Int("c", 64, "concurrent connections")
	rounds := flag.Int("rounds", 3, "rounds (each measures the bare handler, then the server)")
	users := flag.Int("users", 2000, "distinct Zalo users sending the events")
	timeout := flag.Duration("timeout", 5*time.Minute, "bound on the whole run")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of each server round to this file, suffixed .1, .2, …")
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

	// The real server, as `clubbot serve` wires it, against a simulated Zalo for the
	// replies the worker queues. Logs are produced at info level (as in production) and
	// discarded.
	sim := zalosim.New(zalosim.Config{AppID: appID, OAID: oaID, OASecretKey: oaSecret, AppSecret: "app-secret",
		AccessToken: "access-token-bench", RefreshToken: "refresh-token-bench"})
	simSrv := httptest.NewServer(sim.APIHandler())
	defer simSrv.Close()
	dbPath := filepath.Join(dir, "clubbot.db")
	db, err := store.Open(dbPath)
	if err != nil {
		return err
	}
	b, err := bot.New(bot.Options{DB: db, Log: zerolog.New(io.Discard).Level(zerolog.InfoLevel),
		AppID: appID, OAID: oaID, OASecret: oaSecret, AppSecret: "app-secret",
		APIBase: simSrv.URL, OAuthBase: simSrv.URL, Bootstrap: zalo.Tokens{Access: "access-token-bench", Refresh: "refresh-token-bench"}})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srvCtx, stopSrv := context.WithCancel(context.Background())
	defer stopSrv()
	served := make(chan error, 1)
	go func() { served <- b.Serve(srvCtx, ln) }()
	serverURL := "http://" + ln.Addr().String() + "/webhook/zalo"
	if err := waitUp("http://" + ln.Addr().String() + "/healthz"); err != nil {
		return err
	}

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: conc, MaxIdleConnsPerHost: conc, MaxConnsPerHost: conc, DisableCompression: true,
		DialContext: (&net.Dialer{Timeout: time.Second}).DialContext,
	}}
	var seq atomic.Int64
	fmt.Printf("webhook ingest: %d requests per target per round, %d connections, %d rounds, GOMAXPROCS=%d, %s/%s, %s%s\n",
		n, conc, rounds, runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version(), loadAvg())
	// Warm-up: connections, page cache, the first bbolt pages.
	for _, u := range []string{bareURL, serverURL} {
		if _, err := fire(ctx, client, u, events(&seq, min(n, 2000), users), conc); err != nil {
			return fmt.Errorf("warm-up: %w", err)
		}
	}
	var bares, servers []result
	acked := 0
	for r := range rounds {
		bodies := events(&seq, n, users)
		rb, err := fire(ctx, client, bareURL, bodies, conc)
		if err != nil {
			return err
		}
		bodies = events(&seq, n, users)
		var prof *os.File
		if cpuProfile != "" {
			if prof, err = os.Create(fmt.Sprintf("%s.%d", cpuProfile, r+1)); err != nil {
				return err
			}
			_ = pprof.StartCPUProfile(prof)
		}
		rs, err := fire(ctx, client, serverURL, bodies, conc)
		if prof != nil {
			pprof.StopCPUProfile()
			prof.Close()
		}
		if err != nil {
			return err
		}
		acked += rs.ok
		bares, servers = append(bares, rb), append(servers, rs)
		fmt.Printf("round %d: bare gin %8.0f req/s | clubbot %8.0f req/s (p50 %5.2f ms, p99 %5.2f ms, max %6.2f ms) | ratio %.2f\n",
			r+1, rb.rps(), rs.rps(), ms(rs.p50), ms(rs.p99), ms(rs.max), rs.rps()/rb.rps())
		if rb.failed+rs.failed > 0 {
			return fmt.Errorf("round %d: %d bare and %d server requests not answered 200", r+1, rb.failed, rs.failed)
		}
	}
	mb, msrv := median(bares), median(servers)
	ratio := msrv.rps() / mb.rps()
	fmt.Printf("\nmedian round: bare gin %.0f req/s, clubbot %.0f req/s, ratio %.2f (target ≥ 0.40): %s\n",
		mb.rps(), msrv.rps(), ratio, verdict(ratio >= 0.40))
	fmt.Printf("clubbot latency at %d connections: p50 %.2f ms, p99 %.2f ms (target < 20 ms): %s\n",
		conc, ms(msrv.p50), ms(msrv.p99), verdict(msrv.p99 < 20*time.Millisecond))

	// Every 200 durably committed: stop the server and count the inbox.
	stopSrv()
	if err := <-served; err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	total, pending, err := db.InboxStats()
	if err != nil {
		return err
	}
	db.Close()
	warm := min(n, 2000)
	fmt.Printf("inbox after stop: %d events recorded (%d acknowledged in the rounds + %d warm-up), %d still pending: %s\n",
		total, acked, warm, pending, verdict(total == acked+warm))
	if total != acked+warm {
		return errors.New("the inbox does not hold every acknowledged event")
	}
	return nil
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

func waitUp(u string) error {
	for range 500 {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("%s never answered", u)
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
