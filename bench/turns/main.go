// Command turns measures conversation turns per second through the real path: signed
// webhook POSTs to the real clubbot server on loopback (ingest: signature, dedup, the
// fsynced inbox), the worker (the user's session from bbolt, the flows engine, the new
// session, the report, the replies queued in the outbox, all in one transaction), with the
// sender running against a simulated Zalo. Run from the repository root:
//
//	go run ./bench/turns -users 2000 -c 64 -rounds 3
//
// Every simulated chairperson (linked to a club) answers a whole meeting report per round —
// "báo cáo", the questions, an estimate confirmed, a wrong answer, a going back, the summary,
// "đồng ý", "cảm ơn": 16 messages
// — one message at a time (the next is posted after the previous one was acknowledged, so a
// user's messages keep their order), many users at once over c keep-alive connections. A
// round is timed from its first POST until the worker has processed every event; it prints
// turns/s (events processed, each answered with replies queued in the outbox) and outbox
// items queued/s, per round and for the median round (target ≥ 10,000 turns/s on 2 cores),
// then checks that each user stored exactly one report per round.
package main

import (
	"bufio"
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
	"runtime/trace"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"clubbot/bench/benchkit"
	"clubbot/bot"
	"clubbot/bot/zalo"
	"clubbot/club"
	"clubbot/internal/runtimetune"
	"clubbot/store"
	"clubbot/zalosim"
)

const (
	appID    = "1027192766115822600"
	oaID     = "2910835123456789012"
	oaSecret = "FAKE_OA_SECRET_KEY_123"
)

// script is one chairperson's report: 16 turns, including an estimate to confirm, a wrong
// answer (the repair rule) and a "quay lại", ending with the confirmation that stores the
// report and a closing "cảm ơn".
var script = []string{
	"báo cáo", "có", "hôm qua", "khoảng 35 người", "đúng", "20", "bỏ qua", "suc khoe, van nghe", "abc",
	"25", "quay lại", "25", "0", "Cần thêm máy đo huyết áp", "đồng ý", "cảm ơn",
}

func main() {
	runtimetune.Apply() // as cmd/clubbot runs the server
	users := flag.Int("users", 2000, "simulated chairpersons, each with a club")
	conc := flag.Int("c", 64, "concurrent connections (each drives users/c chairpersons)")
	rounds := flag.Int("rounds", 3, "rounds: every user sends the whole script once per round")
	timeout := flag.Duration("timeout", 5*time.Minute, "bound on the whole run")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the rounds to this file")
	traceFile := flag.String("trace", "", "write an execution trace of the first round to this file")
	flag.Parse()
	if *traceFile != "" {
		f, err := os.Create(*traceFile)
		if err == nil {
			traceOut = f
			defer f.Close()
		}
	}
	if err := run(*users, *conc, *rounds, *timeout, *cpuProfile); err != nil {
		fmt.Fprintln(os.Stderr, "turns:", err)
		os.Exit(1)
	}
}

// traceOut receives the execution trace of the first round (-trace).
var traceOut *os.File

type result struct {
	cpu     time.Duration // CPU time of the process (server and load generator), user + system
	turns   int
	queued  int
	elapsed time.Duration
	p99     time.Duration // webhook answer latency
}

func (r result) tps() float64 { return float64(r.turns) / r.elapsed.Seconds() }
func (r result) qps() float64 { return float64(r.queued) / r.elapsed.Seconds() }

func run(users, conc, rounds int, timeout time.Duration, cpuProfile string) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	dir, err := os.MkdirTemp("", "clubbot-bench-turns-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	sim := zalosim.New(zalosim.Config{AppID: appID, OAID: oaID, OASecretKey: oaSecret, AppSecret: "app-secret",
		AccessToken: "access-token-bench", RefreshToken: "refresh-token-bench"})
	simSrv := httptest.NewServer(sim.APIHandler())
	defer simSrv.Close()
	db, err := store.Open(filepath.Join(dir, "clubbot.db"))
	if err != nil {
		return err
	}
	ids, err := seed(db, sim, users)
	if err != nil {
		return err
	}
	loc, _ := time.LoadLocation("Asia/Ho_Chi_Minh")
	b, err := bot.New(bot.Options{DB: db, Log: zerolog.New(io.Discard).Level(zerolog.InfoLevel), Loc: loc,
		AppID: appID, OAID: oaID, OASecret: oaSecret, AppSecret: "app-secret", Buttons: true,
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
	addr := ln.Addr().String()
	if err := benchkit.WaitUp("http://" + addr + "/healthz"); err != nil {
		return err
	}
	m := b.Metrics()
	processed := func() int { return counter(m, "clubbot_worker_processed_total", "ok") }
	queued := func() int { return counter(m, "clubbot_outbox_queued_total", "") }

	fmt.Printf("conversation turns: %d users × %d turns per round, %d connections, %d rounds, GOMAXPROCS=%d, %s/%s, %s\n",
		users, len(script), conc, rounds, runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())
	var prof *os.File
	if cpuProfile != "" {
		if prof, err = os.Create(cpuProfile); err != nil {
			return err
		}
		defer prof.Close()
	}
	var seq atomic.Int64
	var results []result
	for r := range rounds {
		bodies := conversations(&seq, ids, addr)
		p0, q0 := processed(), queued()
		if prof != nil {
			_ = pprof.StartCPUProfile(prof)
		}
		if traceOut != nil && r == 0 {
			_ = trace.Start(traceOut)
		}
		start, cpu0 := time.Now(), cpuTime()
		p99, err := fire(ctx, addr, bodies, conc)
		if err != nil {
			return err
		}
		want := p0 + len(ids)*len(script)
		for processed() < want {
			if ctx.Err() != nil {
				return fmt.Errorf("round %d: %d of %d events processed when the run timed out", r+1, processed()-p0, want-p0)
			}
			time.Sleep(2 * time.Millisecond)
		}
		// The counter moves inside the worker's transaction; the round ends at its commit.
		for {
			_, pending, err := db.InboxStats()
			if err != nil {
				return err
			}
			if pending == 0 {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if traceOut != nil && r == 0 {
			trace.Stop()
		}
		res := result{turns: processed() - p0, queued: queued() - q0, elapsed: time.Since(start), p99: p99, cpu: cpuTime() - cpu0}
		if prof != nil {
			pprof.StopCPUProfile()
			prof = nil // one round profiled: the first, after which the store is warm enough
		}
		results = append(results, res)
		fmt.Printf("round %d: %6d turns in %6.2f s = %8.0f turns/s | %6d outbox items = %8.0f queued/s | webhook p99 %7.2f ms | CPU %3.0f µs/turn, %.2f cores\n",
			r+1, res.turns, res.elapsed.Seconds(), res.tps(), res.queued, res.qps(), float64(res.p99)/1e6,
			float64(res.cpu.Microseconds())/float64(res.turns), res.cpu.Seconds()/res.elapsed.Seconds())
	}
	med := slices.Clone(results)
	sort.Slice(med, func(i, j int) bool { return med[i].tps() < med[j].tps() })
	mr := med[len(med)/2]
	verdict := "met"
	if mr.tps() < 10000 {
		verdict = "MISSED"
	}
	if n, sum := histogram(m, "clubbot_inbox_commit_group_size"); n > 0 {
		fmt.Printf("inbox commits: %d, %.1f events per commit; ", n, sum/float64(n))
	}
	if n, sum := histogram(m, "clubbot_worker_lag_seconds"); n > 0 {
		fmt.Printf("worker lag (receipt to processing): mean %.1f ms\n", sum/float64(n)*1000)
	}
	fmt.Printf("\nmedian round: %.0f turns/s (target ≥ 10,000): %s; %.0f outbox items queued/s (%.2f per turn)\n",
		mr.tps(), verdict, mr.qps(), float64(mr.queued)/float64(mr.turns))
	perTurn := float64(mr.cpu) / float64(mr.turns)
	fmt.Printf("CPU per turn (server + load generator): %.0f µs, i.e. at most %.0f turns/s if both cores were ours\n",
		perTurn/1e3, 2e9/perTurn)

	stopSrv()
	if err := <-served; err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	reports, err := db.AllReports()
	if err != nil {
		return err
	}
	db.Close()
	perUser := map[string]int{}
	for _, rep := range reports {
		perUser[rep.ReporterID]++
	}
	bad := 0
	for _, id := range ids {
		if perUser[id] != rounds {
			bad++
		}
	}
	fmt.Printf("reports stored: %d (%d users × %d rounds); users without exactly one report per round: %d\n",
		len(reports), len(ids), rounds, bad)
	if bad > 0 || len(reports) != len(ids)*rounds {
		return errors.New("reports stored do not match the conversations")
	}
	return nil
}

// seed creates one club per user and links the user as its chairperson, inside the
// interaction window, as if they had followed the OA and shared their phone.
func seed(db *store.DB, sim *zalosim.Sim, n int) ([]string, error) {
	now := time.Now()
	clubs := make([]club.Club, n)
	ids := make([]string, n)
	for i := range n {
		phone := fmt.Sprintf("09%08d", i)
		clubs[i] = club.Club{Code: fmt.Sprintf("HN-%05d", i), Name: fmt.Sprintf("CLB thôn %d", i), Province: "ha-noi",
			Commune: "Xã Bench", ChairName: fmt.Sprintf("Chủ nhiệm %d", i), ChairPhone: phone, Members: 40}
		ids[i] = fmt.Sprintf("83093939698%08d", i)
		sim.AddUser(zalosim.User{ID: ids[i], Name: clubs[i].ChairName, Phone: phone})
	}
	if _, _, err := db.UpsertClubs(clubs, now); err != nil {
		return nil, err
	}
	return ids, db.Update(func(tx *store.Tx) error {
		for i, id := range ids {
			u := club.User{ID: id, Name: clubs[i].ChairName, Phone: clubs[i].ChairPhone, Role: club.RoleChair,
				ClubCode: clubs[i].Code, Province: "ha-noi", Following: true, Active: true, LinkedAt: now, LastInbound: now, FirstSeen: now}
			if err := tx.PutUser(u); err != nil {
				return err
			}
		}
		return nil
	})
}

// signedEvent is one webhook POST, as the bytes of a whole HTTP/1.1 request.
type signedEvent struct {
	req []byte
}

// conversations builds, for every user, the script as signed user_send_text events shaped
// like testdata/zalo/user_send_text.json (new message ids, in no order, every round).
func conversations(seq *atomic.Int64, ids []string, host string) [][]signedEvent {
	out := make([][]signedEvent, len(ids))
	for u, id := range ids {
		for _, text := range script {
			k := seq.Add(1)
			body, ts := benchkit.TextEvent(appID, oaID, id, "7300"+id[4:], text, k)
			head := fmt.Sprintf("POST /webhook/zalo HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n%s: mac=%s\r\nContent-Length: %d\r\n\r\n",
				host, zalo.SignatureHeader, zalo.Sign(appID, oaSecret, body, ts), len(body))
			out[u] = append(out[u], signedEvent{req: append([]byte(head), body...)})
		}
	}
	return out
}

// fire plays every user's conversation: connection g drives users g, g+conc, … turn by
// turn, so each user's messages are posted in order, one at a time, while conc users are
// in flight at once. Requests are written as prepared HTTP/1.1 bytes on keep-alive
// connections and the answers read with net/http's parser: the load generator shares the
// machine's two cores with the server, so it is kept lean. It returns the webhook's p99.
func fire(ctx context.Context, addr string, convs [][]signedEvent, conc int) (time.Duration, error) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var lat []time.Duration
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				fail(err)
				return
			}
			defer conn.Close()
			br := bufio.NewReader(conn)
			mine := make([]time.Duration, 0, len(script)*(len(convs)/conc+1))
			defer func() { mu.Lock(); lat = append(lat, mine...); mu.Unlock() }()
			for turn := range script {
				for i := g; i < len(convs); i += conc {
					if ctx.Err() != nil {
						return
					}
					t0 := time.Now()
					if _, err := conn.Write(convs[i][turn].req); err != nil {
						fail(err)
						return
					}
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						fail(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						fail(fmt.Errorf("webhook answered %d", resp.StatusCode))
						return
					}
					mine = append(mine, time.Since(t0))
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	if ctx.Err() != nil {
		return 0, ctx.Err()
	}
	slices.Sort(lat)
	if len(lat) == 0 {
		return 0, nil
	}
	return lat[min(len(lat)-1, len(lat)*99/100)], nil
}

// cpuTime is the CPU time this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// counter sums the series of counter name whose label value is label ("" for all).
func counter(m *bot.Metrics, name, label string) int {
	mfs, err := m.Registry.Gather()
	if err != nil {
		return 0
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, s := range mf.GetMetric() {
			if label != "" && (len(s.GetLabel()) == 0 || s.GetLabel()[0].GetValue() != label) {
				continue
			}
			total += s.GetCounter().GetValue()
		}
	}
	return int(total)
}

// histogram returns the sample count and sum of histogram name.
func histogram(m *bot.Metrics, name string) (uint64, float64) {
	mfs, err := m.Registry.Gather()
	if err != nil {
		return 0, 0
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) > 0 {
			h := mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	return 0, 0
}
