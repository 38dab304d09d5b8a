package main

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"clubbot/internal/testkit"
	"clubbot/store"
	"clubbot/zalosim"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// clubbotBinary builds the real binary once per test run.
func clubbotBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "clubbot-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "clubbot")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// procSetup starts the simulated Zalo on its own loopback server and returns the
// environment that configures a server process against it, its base URL and store path.
func procSetup(t *testing.T) (sim *zalosim.Sim, env []string, base, dbPath string) {
	sim = zalosim.New(zalosim.Config{AppID: "1027192766115822600", OAID: "2910835123456789012",
		OASecretKey: "FAKE_OA_SECRET_KEY_123", AppSecret: "app-secret-test",
		AccessToken: "access-token-0", RefreshToken: "refresh-token-0"})
	srv := httptest.NewServer(sim.APIHandler())
	t.Cleanup(srv.Close)
	addr := freeAddr(t)
	dbPath = filepath.Join(t.TempDir(), "clubbot.db")
	env = []string{"CLUBBOT_HTTP_ADDR=" + addr, "CLUBBOT_STORE_PATH=" + dbPath,
		"CLUBBOT_ZALO_APP_ID=1027192766115822600", "CLUBBOT_ZALO_OA_ID=2910835123456789012",
		"CLUBBOT_ZALO_OA_SECRET_KEY=FAKE_OA_SECRET_KEY_123", "CLUBBOT_ZALO_APP_SECRET=app-secret-test",
		"CLUBBOT_ZALO_ACCESS_TOKEN=access-token-0", "CLUBBOT_ZALO_REFRESH_TOKEN=refresh-token-0",
		"CLUBBOT_ZALO_API_BASE=" + srv.URL, "CLUBBOT_ZALO_OAUTH_BASE=" + srv.URL}
	base = "http://" + addr
	sim.SetWebhookURL(base + "/webhook/zalo")
	return sim, env, base, dbPath
}

// proc is the server running as a separate process, so a test can SIGKILL it.
type proc struct {
	cmd  *exec.Cmd
	logs *testkit.Buffer
}

func startProc(t *testing.T, bin string, env []string) *proc {
	t.Helper()
	p := &proc{logs: &testkit.Buffer{}}
	p.cmd = exec.Command(bin, "serve")
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		if t.Failed() {
			t.Logf("server logs:\n%s", tail(p.logs.String()))
		}
	})
	return p
}

// stop ends the process gracefully (SIGTERM) and fails the test if it does not exit cleanly.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("graceful stop: %v\n%s", err, tail(p.logs.String()))
	}
}

// openChecked opens the store a stopped server left and runs bbolt's consistency check.
func openChecked(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Check(); err != nil {
		t.Fatalf("bbolt check after SIGKILL: %v", err)
	}
	return db
}

func (p *proc) kill(t *testing.T) {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

// TestSIGKILLAfter200 kills the server with SIGKILL right after it answered 200 to a burst
// of events; after a restart, every acknowledged event is processed exactly once.
func TestSIGKILLAfter200(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a real process")
	}
	bin := clubbotBinary(t)
	sim, env, base, dbPath := procSetup(t)

	p := startProc(t, bin, env)
	waitHealthy(t, base)
	const users = 20
	var ids []string
	for i := 0; i < users; i++ {
		ids = append(ids, sim.AddUser(zalosim.User{Name: fmt.Sprintf("Người %d", i), Phone: fmt.Sprintf("09000000%02d", i)}).ID)
	}
	// A burst from many users at once; kill the moment the last 200 arrives.
	acked := make([]bool, users)
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := sim.Follow(id)
			acked[i] = err == nil && d.Status == 200
		}()
	}
	wg.Wait()
	p.kill(t)
	nAcked := 0
	for _, a := range acked {
		if a {
			nAcked++
		}
	}
	if nAcked != users {
		t.Fatalf("only %d of %d events acknowledged before the kill", nAcked, users)
	}

	p2 := startProc(t, bin, env)
	waitHealthy(t, base)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, id := range ids {
		// each follow of an unknown person gets the greeting and the phone card
		if _, err := sim.WaitOutbound(ctx, id, 2); err != nil {
			t.Fatalf("user %s: %v\nlogs:\n%s", id, err, tail(p2.logs.String()))
		}
	}
	p2.stop(t)
	db := openChecked(t, dbPath)
	total, pending, _ := db.InboxStats()
	if total != users || pending != 0 {
		t.Errorf("inbox: %d recorded, %d pending; want %d, 0", total, pending, users)
	}
	perUser := map[string]int{}
	db.Outbox(func(it store.OutboxItem) bool { perUser[it.UserID]++; return true })
	for _, id := range ids {
		if perUser[id] != 2 {
			t.Errorf("user %s: %d replies recorded, want exactly 2 (processed once)", id, perUser[id])
		}
	}
}
