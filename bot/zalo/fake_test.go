package zalo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"clubbot/internal/testkit"
)

// Test fixtures: long enough that a masked token (first 4 characters) never reveals it.
const (
	testAppID     = "1027192766115822600"
	testAppSecret = "FAKE_APP_SECRET_0123456789"
)

func accessToken(gen int) string  { return fmt.Sprintf("acc%d-7f3a9c2e1b8d4f6a0c5e", gen) }
func refreshToken(gen int) string { return fmt.Sprintf("ref%d-2d8b6e0f4a1c9e7b3f5d", gen) }

// loopbackOnly is a test transport that refuses any host that is not loopback, so that no
// test can ever reach the real Zalo.
type loopbackOnly struct{ next http.RoundTripper }

func (t loopbackOnly) RoundTrip(r *http.Request) (*http.Response, error) {
	host := r.URL.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("test transport refuses non-loopback host %q", host)
	}
	return t.next.RoundTrip(r)
}

func testHTTP(timeout time.Duration) *http.Client {
	return &http.Client{Timeout: timeout, Transport: loopbackOnly{http.DefaultTransport}}
}

// apiRequest is one OA API request the fake received.
type apiRequest struct {
	Method, Path, Query, Token, ContentType string
	Body                                    []byte
}

// fakeZalo is a minimal fake of the OAuth and OA API endpoints: single-use refresh tokens
// that rotate, access tokens checked on every call (-216 otherwise).
type fakeZalo struct {
	t   *testing.T
	srv *httptest.Server

	mu           sync.Mutex
	gen          int    // generation of the current pair
	access       string // the only valid access token
	refresh      string // the only valid refresh token
	refreshCalls int
	refreshUsed  []string // refresh_token values received, in order
	requests     []apiRequest
	events       *eventLog

	// Hooks, set before use.
	refreshDelay    time.Duration             // sleep before answering a refresh
	expiresAsNumber bool                      // send expires_in as a JSON number
	api             func(r apiRequest) string // response of an authorised API call; nil: success
}

func newFake(t *testing.T) *fakeZalo {
	t.Helper()
	f := &fakeZalo{t: t, access: accessToken(0), refresh: refreshToken(0)}
	mux := http.NewServeMux()
	mux.HandleFunc("/v4/oa/access_token", f.handleRefresh)
	mux.HandleFunc("/", f.handleAPI)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeZalo) handleRefresh(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "method", http.StatusMethodNotAllowed)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "form", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.refreshCalls++
	rt := r.PostForm.Get("refresh_token")
	f.refreshUsed = append(f.refreshUsed, rt)
	delay := f.refreshDelay
	f.events.add("refresh")
	var resp string
	switch {
	case r.Header.Get("secret_key") != testAppSecret || r.PostForm.Get("app_id") != testAppID ||
		r.PostForm.Get("grant_type") != "refresh_token" ||
		r.Header.Get("Content-Type") != "application/x-www-form-urlencoded":
		resp = `{"error":-14002,"error_name":"invalid_app","error_description":"bad app credentials"}`
	case rt != f.refresh:
		resp = `{"error":-14014,"error_name":"invalid_grant","error_description":"Invalid refresh token"}`
	default:
		f.gen++
		f.access, f.refresh = accessToken(f.gen), refreshToken(f.gen)
		exp := `"90000"`
		if f.expiresAsNumber {
			exp = `90000`
		}
		resp = fmt.Sprintf(`{"access_token":%q,"refresh_token":%q,"expires_in":%s}`, f.access, f.refresh, exp)
	}
	f.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, resp)
}

func (f *fakeZalo) handleAPI(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	req := apiRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Token: r.Header.Get("access_token"), ContentType: r.Header.Get("Content-Type"), Body: body}
	f.mu.Lock()
	f.requests = append(f.requests, req)
	f.events.add("api:" + req.Token)
	valid := req.Token == f.access
	api := f.api
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !valid {
		io.WriteString(w, `{"error":-216,"message":"Access token is invalid"}`)
		return
	}
	if api != nil {
		io.WriteString(w, api(req))
		return
	}
	io.WriteString(w, `{"data":{"message_id":"63ecf43f0df7dba892e6","user_id":"8309393969811122233","quota":{"quota_type":"reply","remain":"7","total":"8"}},"error":0,"message":"Success"}`)
}

func (f *fakeZalo) stats() (refreshCalls int, requests []apiRequest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refreshCalls, append([]apiRequest(nil), f.requests...)
}

// eventLog records the order of refreshes, saves and API calls.
type eventLog struct {
	mu sync.Mutex
	ev []string
}

func (l *eventLog) add(e string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	l.ev = append(l.ev, e)
	l.mu.Unlock()
}

func (l *eventLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.ev...)
}

// testStore is an in-memory TokenStore whose saves can be made to fail.
type testStore struct {
	mu       sync.Mutex
	t        Tokens
	ok       bool
	failSave bool
	saves    int
	loads    int
	events   *eventLog
}

func (s *testStore) LoadTokens(context.Context) (Tokens, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.loads++
	return s.t, s.ok, nil
}

func (s *testStore) SaveTokens(_ context.Context, t Tokens) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failSave {
		return errors.New("disk full")
	}
	s.saves++
	s.t, s.ok = t, true
	s.events.add("save:" + t.Access)
	return nil
}

func (s *testStore) get() (Tokens, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.t, s.ok
}

func (s *testStore) setFailSave(v bool) {
	s.mu.Lock()
	s.failSave = v
	s.mu.Unlock()
}

// env is a fake Zalo with a TokenManager and a Client wired to it.
type env struct {
	fake   *fakeZalo
	store  *testStore
	clock  *testkit.Clock
	tokens *TokenManager
	client *Client
	logs   *testkit.Buffer
	events *eventLog
}

type envOpt func(*TokenManagerConfig)

// newEnv starts a fake whose current pair is generation 0 and a manager bootstrapped with
// that pair, valid for 25h.
func newEnv(t *testing.T, opts ...envOpt) *env {
	t.Helper()
	e := &env{fake: newFake(t), logs: &testkit.Buffer{}, events: &eventLog{},
		clock: testkit.NewClock(time.Date(2025, 11, 21, 8, 0, 0, 0, time.UTC))}
	e.fake.events = e.events
	e.store = &testStore{events: e.events}
	log := zerolog.New(e.logs).Level(zerolog.DebugLevel)
	cfg := TokenManagerConfig{
		OAuthBase: e.fake.srv.URL, AppID: testAppID, AppSecret: testAppSecret,
		Bootstrap: Tokens{Access: accessToken(0), Refresh: refreshToken(0), ExpiresAt: e.clock.Now().Add(25 * time.Hour)},
		Store:     e.store,
		HTTP:      testHTTP(5 * time.Second),
		Now:       e.clock.Now,
		Log:       log,
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.tokens = NewTokenManager(cfg)
	e.client = New(Config{APIBase: e.fake.srv.URL, Tokens: e.tokens, HTTP: testHTTP(5 * time.Second), Log: log})
	t.Cleanup(func() { assertNoSecrets(t, e.logs.String()) })
	return e
}

// assertNoSecrets fails if any token of the first generations or the app secret appears
// in the log output.
func assertNoSecrets(t *testing.T, logs string) {
	t.Helper()
	secrets := []string{testAppSecret, "acc-stale-token-0123456789", "ref-wrong-token-0123456789"}
	for g := 0; g < 60; g++ {
		secrets = append(secrets, accessToken(g), refreshToken(g))
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("log output contains the secret %q:\n%s", s, logs)
		}
	}
}
