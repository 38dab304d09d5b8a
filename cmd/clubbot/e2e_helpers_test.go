package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"clubbot/internal/testkit"
	"clubbot/store"
	"clubbot/zalosim"
)

// testEnv is a real clubbot server (serveConfig, real bbolt in a temp dir) and a simulated
// Zalo on its own loopback server.
type testEnv struct {
	t      *testing.T
	cfg    Config
	sim    *zalosim.Sim
	simSrv *httptest.Server
	base   string
	cancel context.CancelFunc
	done   chan error
	logs   *testkit.Buffer
}

func testConfig(t *testing.T, dir, simURL string) Config {
	cfg := defaultConfig()
	cfg.Store.Path = filepath.Join(dir, "clubbot.db")
	cfg.Zalo.AppID = "1027192766115822600"
	cfg.Zalo.OAID = "2910835123456789012"
	cfg.Zalo.OASecretKey = "FAKE_OA_SECRET_KEY_123"
	cfg.Zalo.AppSecret = "app-secret-test"
	cfg.Zalo.AccessToken = "access-token-0"
	cfg.Zalo.RefreshToken = "refresh-token-0"
	cfg.Zalo.APIBase = simURL
	cfg.Zalo.OAuthBase = simURL
	cfg.Log.Level = "debug"
	// No monthly reminders: from the configured day on (the 25th), one would reach a chair
	// who links while a test's conversation runs. Reminders have their own tests (bot).
	cfg.Reminders.DayOfMonth = 0
	if err := cfg.validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// startEnv starts the simulator and a server on a fresh store seeded with the demo data.
func startEnv(t *testing.T) *testEnv {
	t.Helper()
	return startEnvWith(t, nil)
}

// startEnvWith is startEnv with a change to the configuration.
func startEnvWith(t *testing.T, tweak func(*Config)) *testEnv {
	t.Helper()
	dir := t.TempDir()
	e := &testEnv{t: t}
	e.sim = zalosim.New(zalosim.Config{AppID: "1027192766115822600", OAID: "2910835123456789012",
		OASecretKey: "FAKE_OA_SECRET_KEY_123", AppSecret: "app-secret-test",
		AccessToken: "access-token-0", RefreshToken: "refresh-token-0"})
	e.simSrv = httptest.NewServer(e.sim.APIHandler())
	t.Cleanup(e.simSrv.Close)
	e.cfg = testConfig(t, dir, e.simSrv.URL)
	if tweak != nil {
		tweak(&e.cfg)
	}
	if err := seedDemo(e.cfg.Store.Path, time.Now()); err != nil {
		t.Fatal(err)
	}
	e.start()
	t.Cleanup(e.stop)
	return e
}

func (e *testEnv) start() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	e.base = "http://" + ln.Addr().String()
	e.sim.SetWebhookURL(e.base + "/webhook/zalo")
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.done = make(chan error, 1)
	e.logs = &testkit.Buffer{}
	started := make(chan struct{})
	go func() {
		e.done <- serveConfig(ctx, e.cfg, e.logs, &serveHooks{listener: ln, onStarted: func(string) { close(started) }})
	}()
	select {
	case <-started:
	case err := <-e.done:
		e.t.Fatalf("server did not start: %v", err)
	}
	waitHealthy(e.t, e.base)
}

func (e *testEnv) stop() {
	if e.cancel == nil {
		return
	}
	e.cancel()
	if err := <-e.done; err != nil {
		e.t.Errorf("serve: %v", err)
	}
	e.cancel = nil
}

// openStore opens the store after stop, for assertions.
func (e *testEnv) openStore() *store.DB {
	db, err := store.Open(e.cfg.Store.Path)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { db.Close() })
	if err := db.Check(); err != nil {
		e.t.Errorf("bbolt check: %v", err)
	}
	return db
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s/healthz never answered 200", base)
}

// say sends text as user and waits for n new outbound messages, returning them.
func (e *testEnv) say(uid, text string, n int) []zalosim.Entry {
	e.t.Helper()
	before := len(e.sim.Outbound(uid))
	d, err := e.sim.SendText(uid, text)
	if err != nil || d.Status != 200 {
		e.t.Fatalf("send %q: status %d, %v", text, d.Status, err)
	}
	return e.wait(uid, before, n)
}

func (e *testEnv) wait(uid string, before, n int) []zalosim.Entry {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, err := e.sim.WaitOutbound(ctx, uid, before+n)
	if err != nil {
		e.t.Fatalf("waiting for %d replies to %s: %v (got %d)\nlogs:\n%s", n, uid, err, len(e.sim.Outbound(uid))-before, tail(e.logs.String()))
	}
	return got[before:]
}

func tail(s string) string {
	if len(s) > 4000 {
		return s[len(s)-4000:]
	}
	return s
}

func texts(es []zalosim.Entry) string {
	var b strings.Builder
	for _, e := range es {
		b.WriteString(e.Text)
		if e.Subtitle != "" {
			b.WriteString("\n" + e.Subtitle)
		}
		b.WriteString("\n---\n")
	}
	return b.String()
}
