package zalo

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestRefreshRotatesAndPersists(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()

	got, err := e.tokens.Refresh(ctx, accessToken(0))
	if err != nil {
		t.Fatal(err)
	}
	if got != accessToken(1) {
		t.Fatalf("Refresh = %q, want %q", got, accessToken(1))
	}
	got, err = e.tokens.Refresh(ctx, accessToken(1))
	if err != nil {
		t.Fatal(err)
	}
	if got != accessToken(2) {
		t.Fatalf("second Refresh = %q, want %q", got, accessToken(2))
	}

	// Each refresh used the refresh token of the previous one: the old one never again.
	if want := []string{refreshToken(0), refreshToken(1)}; !slices.Equal(e.fake.refreshUsed, want) {
		t.Errorf("refresh tokens sent = %v, want %v", e.fake.refreshUsed, want)
	}
	stored, ok := e.store.get()
	if !ok || stored.Access != accessToken(2) || stored.Refresh != refreshToken(2) {
		t.Errorf("stored = %+v, want generation 2", stored)
	}
	if want := e.clock.Now().Add(90000 * time.Second); !stored.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v (expires_in is a string of seconds)", stored.ExpiresAt, want)
	}
	// A stale token from before the last refresh gets the current one, with no call.
	got, err = e.tokens.Refresh(ctx, accessToken(0))
	if err != nil || got != accessToken(2) {
		t.Errorf("Refresh(old stale) = %q, %v; want %q", got, err, accessToken(2))
	}
	if n, _ := e.fake.stats(); n != 2 {
		t.Errorf("refresh calls = %d, want 2", n)
	}
	if !strings.Contains(e.logs.String(), `"access":"acc2…"`) {
		t.Errorf("logs do not show the masked new token:\n%s", e.logs.String())
	}
}

func TestRefreshExpiresInNumber(t *testing.T) {
	e := newEnv(t)
	e.fake.expiresAsNumber = true
	if _, err := e.tokens.Refresh(context.Background(), accessToken(0)); err != nil {
		t.Fatal(err)
	}
	stored, _ := e.store.get()
	if want := e.clock.Now().Add(25 * time.Hour); !stored.ExpiresAt.Equal(want) {
		t.Errorf("ExpiresAt = %v, want %v", stored.ExpiresAt, want)
	}
}

func TestRefreshSaveFailsNewTokenNotPublished(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.store.setFailSave(true)

	got, err := e.tokens.Refresh(ctx, accessToken(0))
	if err == nil || got != "" {
		t.Fatalf("Refresh with a failing store = %q, %v; want an error and no token", got, err)
	}
	if ze, ok := AsError(err); !ok || ze.Op != "save tokens" {
		t.Errorf("error = %v, want an *Error from saving tokens", err)
	}
	// Access must not hand out the old token (Zalo already rotated) nor the unsaved new one.
	got, err = e.tokens.Access(ctx)
	if err == nil || got != "" {
		t.Errorf("Access with an unsaved pair = %q, %v; want an error", got, err)
	}
	// A send fails without reaching the API.
	if _, err := e.client.SendCS(ctx, "8309393969811122233", Message{Text: "xin chào"}); err == nil {
		t.Error("SendCS succeeded while the new pair was unsaved")
	}
	if _, reqs := e.fake.stats(); len(reqs) != 0 {
		t.Errorf("API requests = %d, want 0 while the pair is unsaved", len(reqs))
	}

	// Once the store works again the pending pair is saved and used, with no new refresh
	// (the old refresh token is dead).
	e.store.setFailSave(false)
	got, err = e.tokens.Access(ctx)
	if err != nil || got != accessToken(1) {
		t.Fatalf("Access after the store recovered = %q, %v; want %q", got, err, accessToken(1))
	}
	if n, _ := e.fake.stats(); n != 1 {
		t.Errorf("refresh calls = %d, want 1", n)
	}
	if stored, _ := e.store.get(); stored.Refresh != refreshToken(1) {
		t.Errorf("stored refresh = %q, want %q", stored.Refresh, refreshToken(1))
	}
}

func TestRefreshSavedBeforeUse(t *testing.T) {
	e := newEnv(t, func(c *TokenManagerConfig) {
		c.Bootstrap.Access = "acc-stale-token-0123456789" // Zalo no longer accepts it
	})
	if _, err := e.client.SendCS(context.Background(), "8309393969811122233", Message{Text: "a"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"api:acc-stale-token-0123456789", "refresh", "save:" + accessToken(1), "api:" + accessToken(1)}
	if got := e.events.list(); !slices.Equal(got, want) {
		t.Errorf("events = %v, want %v", got, want)
	}
}

func TestRefreshSingleFlight(t *testing.T) {
	e := newEnv(t)
	e.fake.refreshDelay = 50 * time.Millisecond
	ctx := context.Background()

	const n = 50
	var wg sync.WaitGroup
	start := make(chan struct{})
	got := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			got[i], errs[i] = e.tokens.Refresh(ctx, accessToken(0))
		})
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] != accessToken(1) {
			t.Errorf("goroutine %d: %q, %v; want %q", i, got[i], errs[i], accessToken(1))
		}
	}
	if calls, _ := e.fake.stats(); calls != 1 {
		t.Errorf("refresh calls = %d, want exactly 1", calls)
	}
	if e.store.saves != 1 {
		t.Errorf("saves = %d, want 1", e.store.saves)
	}
}

func TestAccessProactiveRefresh(t *testing.T) {
	e := newEnv(t, func(c *TokenManagerConfig) {
		c.Bootstrap.ExpiresAt = time.Date(2025, 11, 21, 11, 0, 0, 0, time.UTC) // 3h ahead
	})
	ctx := context.Background()

	if got, err := e.tokens.Access(ctx); err != nil || got != accessToken(0) {
		t.Fatalf("Access 3h before expiry = %q, %v; want the current token", got, err)
	}
	if n, _ := e.fake.stats(); n != 0 {
		t.Fatalf("refresh calls = %d, want 0 with 3h left", n)
	}
	e.clock.Add(61 * time.Minute) // 1h59m left: under RefreshBefore (2h)
	if got, err := e.tokens.Access(ctx); err != nil || got != accessToken(1) {
		t.Fatalf("Access 1h59m before expiry = %q, %v; want the refreshed token", got, err)
	}
	if got, err := e.tokens.Access(ctx); err != nil || got != accessToken(1) {
		t.Fatalf("Access again = %q, %v", got, err)
	}
	if n, _ := e.fake.stats(); n != 1 {
		t.Errorf("refresh calls = %d, want 1", n)
	}
}

func TestAccessProactiveRefreshFailureKeepsValidToken(t *testing.T) {
	e := newEnv(t, func(c *TokenManagerConfig) {
		c.Bootstrap.ExpiresAt = time.Date(2025, 11, 21, 9, 0, 0, 0, time.UTC) // 1h ahead
	})
	e.fake.srv.Close() // the OAuth endpoint is down
	ctx := context.Background()
	if got, err := e.tokens.Access(ctx); err != nil || got != accessToken(0) {
		t.Fatalf("Access = %q, %v; want the still-valid current token", got, err)
	}
	loads := e.store.loads
	// Within the backoff no new attempt is made.
	if got, err := e.tokens.Access(ctx); err != nil || got != accessToken(0) {
		t.Fatalf("Access = %q, %v", got, err)
	}
	if e.store.loads != loads {
		t.Errorf("a second refresh was attempted within the backoff")
	}
	// Once expired, the error surfaces.
	e.clock.Add(2 * time.Hour)
	if _, err := e.tokens.Access(ctx); err == nil {
		t.Error("Access with an expired token and a failing refresh succeeded")
	} else if ClassOf(err) != Retry {
		t.Errorf("class = %v, want retry", ClassOf(err))
	}
}

func TestNeedsReauthAfterOAuthError(t *testing.T) {
	e := newEnv(t, func(c *TokenManagerConfig) {
		c.Bootstrap.Refresh = "ref-wrong-token-0123456789"
	})
	ctx := context.Background()
	if e.tokens.NeedsReauth() {
		t.Fatal("NeedsReauth before any failure")
	}
	_, err := e.tokens.Refresh(ctx, accessToken(0))
	ze, ok := AsError(err)
	if !ok || ze.Code != -14014 || ze.Class != Alert || !errors.Is(err, ErrNeedsReauth) {
		t.Fatalf("Refresh error = %#v, want -14014, alert, ErrNeedsReauth", err)
	}
	if !e.tokens.NeedsReauth() {
		t.Fatal("NeedsReauth = false after an OAuth error")
	}
	// No further calls with the dead token.
	if _, err := e.tokens.Refresh(ctx, accessToken(0)); !errors.Is(err, ErrNeedsReauth) {
		t.Errorf("second Refresh error = %v, want ErrNeedsReauth", err)
	}
	if n, _ := e.fake.stats(); n != 1 {
		t.Errorf("refresh calls = %d, want 1", n)
	}
	if !strings.Contains(e.logs.String(), "invalid_grant") {
		t.Errorf("the OAuth error is not logged:\n%s", e.logs.String())
	}

	// An admin authorises again: the new pair clears the state.
	if err := e.tokens.SetTokens(ctx, Tokens{Access: accessToken(0), Refresh: refreshToken(0),
		ExpiresAt: e.clock.Now().Add(25 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if e.tokens.NeedsReauth() {
		t.Error("NeedsReauth still set after SetTokens")
	}
	if got, err := e.tokens.Refresh(ctx, accessToken(0)); err != nil || got != accessToken(1) {
		t.Errorf("Refresh after SetTokens = %q, %v", got, err)
	}
}

func TestRefreshAmbiguousFailureRereadsStore(t *testing.T) {
	e := newEnv(t, func(c *TokenManagerConfig) {
		c.HTTP = testHTTP(100 * time.Millisecond)
	})
	e.fake.refreshDelay = 300 * time.Millisecond // Zalo rotates, but the answer is lost
	ctx := context.Background()

	_, err := e.tokens.Refresh(ctx, accessToken(0))
	if ze, ok := AsError(err); !ok || ze.Class != Retry || ze.Op != "refresh token" {
		t.Fatalf("Refresh error = %v, want a retryable refresh error", err)
	}
	if e.tokens.NeedsReauth() {
		t.Error("a timeout must not mark NeedsReauth")
	}
	// Another instance sharing the store got the rotated pair and saved it.
	e.fake.mu.Lock()
	rotated := Tokens{Access: e.fake.access, Refresh: e.fake.refresh, ExpiresAt: e.clock.Now().Add(25 * time.Hour)}
	e.fake.mu.Unlock()
	if err := e.store.SaveTokens(ctx, rotated); err != nil {
		t.Fatal(err)
	}
	e.fake.refreshDelay = 0
	got, err := e.tokens.Refresh(ctx, accessToken(0))
	if err != nil || got != rotated.Access {
		t.Fatalf("Refresh after the ambiguous failure = %q, %v; want the stored %q", got, err, rotated.Access)
	}
	if n, _ := e.fake.stats(); n != 1 {
		t.Errorf("refresh calls = %d, want 1 (the old refresh token must not be retried blindly)", n)
	}
}

func TestTokensFromStoreWinOverBootstrap(t *testing.T) {
	e := newEnv(t)
	e.store.t, e.store.ok = Tokens{Access: accessToken(7), Refresh: refreshToken(7),
		ExpiresAt: e.clock.Now().Add(10 * time.Hour)}, true
	if got, err := e.tokens.Access(context.Background()); err != nil || got != accessToken(7) {
		t.Errorf("Access = %q, %v; want the stored token", got, err)
	}
}

func TestAccessWithoutTokens(t *testing.T) {
	e := newEnv(t, func(c *TokenManagerConfig) { c.Bootstrap = Tokens{} })
	_, err := e.tokens.Access(context.Background())
	if !errors.Is(err, ErrNoTokens) {
		t.Errorf("Access error = %v, want ErrNoTokens", err)
	}
}

func TestMask(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "…"},
		{"short", "…"},
		{"abcdefghijkl", "abcd…"},
	} {
		if got := mask(tc.in); got != tc.want {
			t.Errorf("mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestLogsNeverContainTokens runs refreshes, a failed save, a token error and an OAuth
// error with debug logging, and checks that only masked tokens reach the log (every env
// also checks this when its test ends).
func TestLogsNeverContainTokens(t *testing.T) {
	e := newEnv(t, func(c *TokenManagerConfig) { c.Bootstrap.Access = "acc-stale-token-0123456789" })
	ctx := context.Background()
	if _, err := e.client.SendCS(ctx, testUser, Message{Text: "a"}); err != nil {
		t.Fatal(err)
	}
	e.store.setFailSave(true)
	if _, err := e.tokens.Refresh(ctx, accessToken(1)); err == nil {
		t.Fatal("want a save error")
	}
	e.store.setFailSave(false)
	if _, err := e.tokens.Access(ctx); err != nil {
		t.Fatal(err)
	}
	e.fake.mu.Lock()
	e.fake.refresh = "ref-rotated-elsewhere-0123456789" // our refresh token is now dead
	e.fake.mu.Unlock()
	if _, err := e.tokens.Refresh(ctx, accessToken(2)); !errors.Is(err, ErrNeedsReauth) {
		t.Fatalf("want ErrNeedsReauth, got %v", err)
	}
	logs := e.logs.String()
	for _, want := range []string{"zalo tokens refreshed", "saving refreshed zalo tokens failed",
		"zalo token refresh rejected", `"access":"acc1…"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %q:\n%s", want, logs)
		}
	}
	assertNoSecrets(t, logs)
	if strings.Contains(logs, "ref-rotated-elsewhere") {
		t.Error("logs contain a refresh token")
	}
}

func TestRefreshResponseHandling(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		class  Class
		reauth bool
		code   int
	}{
		{"http 503", 503, `unavailable`, Retry, false, 0},
		{"not JSON", 200, `<html></html>`, Retry, false, 0},
		{"no tokens", 200, `{"expires_in":"90000"}`, Retry, false, 0},
		{"oauth error", 200, `{"error":-14014,"error_name":"invalid_grant","error_description":"expired"}`, Alert, true, -14014},
		{"oauth error as string", 400, `{"error":"-14002","error_name":"invalid_app","error_description":"inactive"}`, Alert, true, -14002},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			m := NewTokenManager(TokenManagerConfig{OAuthBase: srv.URL, AppID: testAppID, AppSecret: testAppSecret,
				Bootstrap: Tokens{Access: accessToken(0), Refresh: refreshToken(0)}, HTTP: testHTTP(time.Second)})
			_, err := m.Refresh(context.Background(), accessToken(0))
			ze, ok := AsError(err)
			if !ok || ze.Class != tc.class || ze.Code != tc.code || ze.Op != "refresh token" {
				t.Fatalf("error = %v, want class %v code %d", err, tc.class, tc.code)
			}
			if m.NeedsReauth() != tc.reauth {
				t.Errorf("NeedsReauth = %v, want %v", m.NeedsReauth(), tc.reauth)
			}
		})
	}
}

func TestFlexInt(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want flexInt
		ok   bool
	}{
		{`"90000"`, 90000, true}, {`90000`, 90000, true}, {`" 7 "`, 7, true}, {`""`, 0, true},
		{`null`, 0, true}, {`1.5e3`, 1500, true}, {`"abc"`, 0, false}, {`true`, 0, false},
	} {
		var f flexInt
		err := json.Unmarshal([]byte(tc.in), &f)
		if (err == nil) != tc.ok || (tc.ok && f != tc.want) {
			t.Errorf("flexInt(%s) = %d, %v; want %d, ok %v", tc.in, f, err, tc.want, tc.ok)
		}
	}
}
