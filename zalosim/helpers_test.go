package zalosim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"clubbot/bot/zalo"
	"clubbot/internal/testkit"
)

// The fake ids and keys of testdata/zalo/README.md.
const (
	testAppID     = "1027192766115822600"
	testOAID      = "2910835123456789012"
	testUserID    = "8309393969811122233"
	testAppUserID = "7300442764811122233"
	testOASecret  = "FAKE_OA_SECRET_KEY_123"
	testAppSecret = "FAKE_APP_SECRET"
	testAccess    = "ACCESS-0"
	testRefresh   = "REFRESH-0"
	testGroupID   = "f414c8f76fa586fbdfb4"
)

// received is one request the test webhook got.
type received struct {
	body     []byte
	header   http.Header
	verified bool
}

// receiver is a test webhook that verifies signatures with the bot's own zalo.Verify.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	status int
	// onEvent, if set, runs before the answer (a bot that replies synchronously).
	onEvent func(body []byte)
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	rc := &receiver{status: http.StatusOK}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ok := zalo.Verify(testAppID, testOASecret, body, r.Header.Get(zalo.SignatureHeader))
		rc.mu.Lock()
		rc.got = append(rc.got, received{body: body, header: r.Header.Clone(), verified: ok})
		status, on := rc.status, rc.onEvent
		rc.mu.Unlock()
		if on != nil {
			on(body)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) last(t *testing.T) received {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.got) == 0 {
		t.Fatal("webhook received nothing")
	}
	return rc.got[len(rc.got)-1]
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.got)
}

// env is a sim with its API served under /zalo, a webhook receiver and a clock.
type env struct {
	sim *Sim
	clk *testkit.Clock
	rcv *receiver
	api string // base URL of the fake API
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clk := testkit.NewClock(time.Date(2025, 11, 21, 9, 0, 0, 0, time.UTC))
	rcv := newReceiver(t)
	sim := New(Config{
		AppID: testAppID, OAID: testOAID, OASecretKey: testOASecret, AppSecret: testAppSecret,
		WebhookURL: rcv.URL, AccessToken: testAccess, RefreshToken: testRefresh, Now: clk.Now,
	})
	mux := http.NewServeMux()
	mux.Handle("/zalo/", http.StripPrefix("/zalo", sim.APIHandler()))
	mux.Handle("/sim/", http.StripPrefix("/sim", sim.UIHandler()))
	mux.Handle("/sim", http.StripPrefix("/sim", sim.UIHandler()))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	sim.AddUser(User{ID: testUserID, Name: "Nguyễn Văn A", Phone: "0912345678", AppUserID: testAppUserID})
	return &env{sim: sim, clk: clk, rcv: rcv, api: srv.URL + "/zalo"}
}

// apiResp is the generic Zalo answer.
type apiResp struct {
	Error   int             `json:"error"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
	raw     []byte
	status  int
}

// do calls the fake API and decodes the answer.
func (e *env) do(t *testing.T, method, path, token string, body any) apiResp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.api+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("access_token", token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := apiResp{raw: raw, status: resp.StatusCode}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: answer not JSON: %q", method, path, raw)
		}
	}
	out.raw, out.status = raw, resp.StatusCode
	return out
}

func textTo(user, text string) map[string]any {
	return map[string]any{"recipient": map[string]any{"user_id": user}, "message": map[string]any{"text": text}}
}

// follow makes the test user a follower with a fresh interaction.
func (e *env) follow(t *testing.T) {
	t.Helper()
	if _, err := e.sim.Follow(testUserID); err != nil {
		t.Fatal(err)
	}
}

// freshToken rotates the tokens and returns a valid access token, for tests that move the
// clock past the 25-hour access token lifetime.
func (e *env) freshToken(t *testing.T) string {
	t.Helper()
	_, rt := e.sim.Tokens()
	m, raw := refresh(t, e, testAppID, testAppSecret, rt)
	at, _ := m["access_token"].(string)
	if at == "" {
		t.Fatalf("refresh: %s", raw)
	}
	return at
}
