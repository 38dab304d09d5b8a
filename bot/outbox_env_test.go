package bot

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/rs/zerolog"

	"clubbot/bot/zalo"
	"clubbot/club"
	"clubbot/internal/testkit"
	"clubbot/store"
	"clubbot/zalosim"
)

// The outbox tests run the real Bot (ingest, worker, sender) on a real bbolt file against
// the simulated Zalo at the HTTP boundary, with an injected clock shared by both, so that
// windows of days and outages of a minute are crossed without sleeping.

const (
	obAccess  = "access-token-0-7f3a9c2e1b8d"
	obRefresh = "refresh-token-0-2d8b6e0f4a1c"
	obSecret  = "app-secret-test-0123"
	obPhone   = "0912345678"
	obGroup   = "a1b2c3d4e5f60718293a"
)

// loopbackClient refuses any host that is not loopback: no test can reach the real Zalo.
func loopbackClient() *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: loopbackTransport{http.DefaultTransport}}
}

type loopbackTransport struct{ next http.RoundTripper }

func (t loopbackTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if ip := net.ParseIP(r.URL.Hostname()); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("test transport refuses non-loopback host %q", r.URL.Host)
	}
	return t.next.RoundTrip(r)
}

// obEnv is a running Bot and simulated Zalo.
type obEnv struct {
	t      *testing.T
	clock  *testkit.Clock
	sim    *zalosim.Sim
	simSrv *httptest.Server
	db     *store.DB
	bot    *Bot
	base   string
	logs   *testkit.Buffer
	stop   func()
}

// startEnvT starts a bot; tweak may change its options (sender settings, buttons, ...).
func startEnvT(t *testing.T, tweak func(*Options)) *obEnv {
	t.Helper()
	e := &obEnv{t: t, clock: testkit.NewClock(time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)), logs: &testkit.Buffer{}}
	e.sim = zalosim.New(zalosim.Config{AppID: testAppID, OAID: testOAID, OASecretKey: testSecret, AppSecret: obSecret,
		AccessToken: obAccess, RefreshToken: obRefresh, Now: e.clock.Now})
	e.simSrv = httptest.NewServer(e.sim.APIHandler())
	t.Cleanup(e.simSrv.Close)
	db, err := store.Open(filepath.Join(t.TempDir(), "data", "clubbot.db"))
	if err != nil {
		t.Fatal(err)
	}
	e.db = db
	t.Cleanup(func() {
		if err := db.Check(); err != nil {
			t.Errorf("bbolt check: %v", err)
		}
		db.Close()
	})
	if _, _, err := db.UpsertClubs([]club.Club{{Code: "HN-001", Name: "CLB Liên thế hệ thôn Đông", Province: "ha-noi",
		Commune: "Xã Sóc Sơn", ChairName: "Nguyễn Văn An", ChairPhone: obPhone}}, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Fatal(err)
	}
	o := Options{DB: db, Log: zerolog.New(e.logs).Level(zerolog.DebugLevel), Now: e.clock.Now, Loc: loc,
		AppID: testAppID, OAID: testOAID, OASecret: testSecret, AppSecret: obSecret,
		APIBase: e.simSrv.URL, OAuthBase: e.simSrv.URL, Bootstrap: zalo.Tokens{Access: obAccess, Refresh: obRefresh},
		HTTPClient: loopbackClient(),
		// The fake clock stands still unless a test moves it, and the rate limiter runs on
		// it: a large burst keeps the limiter out of tests that are not about it.
		Sender: SenderConfig{Poll: 3 * time.Millisecond, BackoffBase: time.Second, BackoffMax: 5 * time.Minute,
			Rate: 1000, Burst: 1000, BulkRate: 1000, BulkBurst: 1000},
		Media: MediaConfig{Poll: 5 * time.Millisecond, HTTP: loopbackClient(), BackoffBase: time.Second}}
	if tweak != nil {
		tweak(&o)
	}
	e.start(o)
	return e
}

func (e *obEnv) start(o Options) {
	e.t.Helper()
	b, err := New(o)
	if err != nil {
		e.t.Fatal(err)
	}
	e.bot = b
	e.base, e.stop = testkit.Serve(e.t, b.Serve)
	e.sim.SetWebhookURL(e.base + "/webhook/zalo")
}

// user adds a simulated user who follows the OA and has received the greeting and the
// phone card.
func (e *obEnv) user(name, phone string) string {
	e.t.Helper()
	id := e.sim.AddUser(zalosim.User{Name: name, Phone: phone}).ID
	if d, err := e.sim.Follow(id); err != nil || d.Status != 200 {
		e.t.Fatalf("follow: %d %v", d.Status, err)
	}
	e.waitOut(id, 2)
	return id
}

// chair adds the chairperson of HN-001, linked through the info card.
func (e *obEnv) chair() string {
	e.t.Helper()
	id := e.user("Nguyễn Văn An", obPhone)
	if d, err := e.sim.SubmitInfo(id, "Nguyễn Văn An", obPhone); err != nil || d.Status != 200 {
		e.t.Fatalf("submit info: %d %v", d.Status, err)
	}
	e.waitOut(id, 3)
	return id
}

// say sends text as the user and returns the next n successful sends to them.
func (e *obEnv) say(uid, text string, n int) []zalosim.Entry {
	e.t.Helper()
	before := len(e.sim.Outbound(uid))
	if d, err := e.sim.SendText(uid, text); err != nil || d.Status != 200 {
		e.t.Fatalf("send %q: %d %v", text, d.Status, err)
	}
	return e.waitOut(uid, before+n)[before:]
}

// waitOut waits (real time: the bot works at once, only retries wait for the clock) until
// id has n successful sends.
func (e *obEnv) waitOut(id string, n int) []zalosim.Entry {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := e.sim.WaitOutbound(ctx, id, n)
	if err != nil {
		e.t.Fatalf("%v\nlogs:\n%s", err, e.logs.Tail(6000))
	}
	return got
}

// eventually polls cond for up to 10 s of real time.
func (e *obEnv) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s\nlogs:\n%s", what, e.logs.Tail(6000))
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// items returns the outbox, oldest first, optionally only a user's or group's.
func (e *obEnv) items(dest string) []store.OutboxItem {
	var out []store.OutboxItem
	if err := e.db.Outbox(func(it store.OutboxItem) bool {
		if dest == "" || it.UserID == dest || it.GroupID == dest {
			out = append(out, it)
		}
		return true
	}); err != nil {
		e.t.Fatal(err)
	}
	return out
}

func (e *obEnv) item(id uint64) store.OutboxItem {
	it, err := e.db.OutboxItem(id)
	if err != nil {
		e.t.Fatal(err)
	}
	return it
}

// enqueue records one message like a digest run would, and wakes the sender.
func (e *obEnv) enqueue(it store.OutboxItem, m OutMessage) uint64 {
	e.t.Helper()
	if it.CreatedAt.IsZero() {
		it.CreatedAt = e.clock.Now()
	}
	var ids []uint64
	if err := e.db.Update(func(tx *store.Tx) error {
		var err error
		ids, err = EnqueueMessage(tx, it, m, e.bot.m)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	e.bot.sender.Wake()
	return ids[0]
}

// calls returns the API calls to path made for a user or group id (all when "").
func (e *obEnv) calls(path, id string) []zalosim.Call {
	var out []zalosim.Call
	for _, c := range e.sim.Calls() {
		if c.Path == path && (id == "" || c.UserID == id || c.GroupID == id) {
			out = append(out, c)
		}
	}
	return out
}

// wantMetric waits until a metric reaches want: metrics are counted just after the store
// commit that the test may already have seen.
func (e *obEnv) wantMetric(want float64, name string, labels ...string) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got := metric(e.t, e.bot.m.Registry, name, labels...)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			e.t.Errorf("%s%v = %v, want %v", name, labels, got, want)
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// metric reads a counter or gauge of the bot's registry (0 when absent).
func metric(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelsMatch(m, labels) {
				if c := m.GetCounter(); c != nil {
					return c.GetValue()
				}
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func labelsMatch(m *dto.Metric, kv []string) bool {
	for i := 0; i+1 < len(kv); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == kv[i] && lp.GetValue() == kv[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}
