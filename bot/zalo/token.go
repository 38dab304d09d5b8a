package zalo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Tokens is the OA's current token pair.
type Tokens struct {
	Access    string    `json:"access"`
	Refresh   string    `json:"refresh"`
	ExpiresAt time.Time `json:"expires_at"` // zero when unknown (bootstrap tokens from config)
}

// TokenStore persists tokens durably (the bbolt store implements it).
type TokenStore interface {
	// LoadTokens returns the stored pair; ok is false when none is stored.
	LoadTokens(ctx context.Context) (Tokens, bool, error)
	// SaveTokens replaces the stored pair (both tokens and the expiry in one
	// transaction).
	SaveTokens(ctx context.Context, t Tokens) error
}

// TokenManagerConfig configures a TokenManager.
type TokenManagerConfig struct {
	OAuthBase string // zalo.oauth_base, e.g. https://oauth.zaloapp.com
	AppID     string // zalo.app_id
	AppSecret string // zalo.app_secret: the App secret key, sent as header secret_key
	Bootstrap Tokens // from config (zalo.access_token, zalo.refresh_token); used when the store has none
	Store     TokenStore
	HTTP      *http.Client // default: a client with RefreshTimeout
	Now       func() time.Time
	Log       zerolog.Logger
	// RefreshBefore is how much lifetime may remain before Access refreshes
	// proactively. Default 2h of the 25h lifetime (API.md §7.3 rule 3): early enough that
	// a failing refresh can be retried many times before the token dies.
	RefreshBefore time.Duration
	// OnRefresh, if set, is told the outcome of every refresh call: "ok", "rejected" (an
	// OAuth error: re-authorisation needed), "failed" (transport, 5xx or a bad answer) or
	// "save_failed" (Zalo rotated the pair but the store did not take it). Metrics use it.
	OnRefresh func(outcome string)
}

const (
	// RefreshTimeout bounds one refresh call. Generous on purpose (API.md §7.3 rule 4):
	// a refresh abandoned after Zalo received it is ambiguous, and the old refresh token
	// may already be dead.
	RefreshTimeout = 30 * time.Second
	// saveTimeout bounds the store write of a new pair. It is detached from the
	// caller's context: once Zalo rotated the pair, the write must not be cancelled.
	saveTimeout = 10 * time.Second
	// proactiveBackoff spaces proactive refresh attempts after a failure while the
	// current access token is still valid, so that every send does not hit the OAuth
	// endpoint while it is down.
	proactiveBackoff = time.Minute
	// defaultLifetime is used when a refresh response has no usable expires_in: the
	// documented 25 hours (API.md §7.3).
	defaultLifetime = 25 * time.Hour
	opRefresh       = "refresh token"
)

// TokenManager hands out the OA's access token and refreshes it following the rules of
// API.md §7.3: one refresh at a time, the new pair persisted before the new access token is
// used, proactive refresh before expiry, no blind retry after an ambiguous failure, and a
// "needs re-authorisation" state after an OAuth error. Tokens are never logged unmasked.
type TokenManager struct {
	cfg TokenManagerConfig
	log zerolog.Logger

	// sem admits one loader/refresher at a time (rule 1: two concurrent refreshes with
	// the same single-use refresh token leave one holder with a dead token). It is a
	// channel rather than a mutex so that waiters can give up when their context ends.
	sem chan struct{}

	mu        sync.Mutex // guards the fields below; never held during I/O
	loaded    bool
	cur       Tokens  // the published pair: durably stored (or the bootstrap pair)
	pending   *Tokens // a refreshed pair whose save failed: not published, save retried first
	reauth    bool
	nextProbe time.Time // no proactive refresh before this time (after a failure)
}

// NewTokenManager returns a TokenManager. Nothing is loaded or called until the first
// Access or Refresh. A nil Store keeps tokens in memory only (tests and the demo).
func NewTokenManager(cfg TokenManagerConfig) *TokenManager {
	if cfg.Store == nil {
		cfg.Store = &memoryStore{}
	}
	if cfg.HTTP == nil {
		cfg.HTTP = &http.Client{Timeout: RefreshTimeout}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RefreshBefore <= 0 {
		cfg.RefreshBefore = 2 * time.Hour
	}
	cfg.OAuthBase = strings.TrimRight(cfg.OAuthBase, "/")
	return &TokenManager{
		cfg: cfg,
		log: cfg.Log.With().Str("component", "zalo_tokens").Logger(),
		sem: make(chan struct{}, 1),
	}
}

// Access returns the current access token, refreshing first if it expires within
// RefreshBefore. If a proactive refresh fails while the current token is still valid,
// the current token is returned (the failure is logged) and the refresh is tried again
// after a minute. A token whose expiry is unknown (bootstrap tokens) is used until a call
// fails with -216/-220.
func (m *TokenManager) Access(ctx context.Context) (string, error) {
	m.mu.Lock()
	if m.loaded && m.pending == nil && m.cur.Access != "" && !m.expiringLocked() {
		tok := m.cur.Access
		m.mu.Unlock()
		return tok, nil
	}
	m.mu.Unlock()

	if err := m.acquire(ctx); err != nil {
		return "", err
	}
	defer m.release()
	if err := m.loadOnce(ctx); err != nil {
		return "", err
	}

	m.mu.Lock()
	pending := m.pending != nil
	cur := m.cur
	expiring := m.expiringLocked()
	valid := cur.Access != "" && (cur.ExpiresAt.IsZero() || m.cfg.Now().Before(cur.ExpiresAt))
	backoff := valid && m.cfg.Now().Before(m.nextProbe)
	m.mu.Unlock()

	switch {
	case pending:
		return m.savePending(ctx)
	case cur.Access != "" && !expiring:
		return cur.Access, nil
	case backoff:
		return cur.Access, nil
	}
	tok, err := m.refresh(ctx, "")
	if err != nil && valid {
		m.mu.Lock()
		stillPending := m.pending != nil
		if !stillPending {
			m.nextProbe = m.cfg.Now().Add(proactiveBackoff)
		}
		m.mu.Unlock()
		if !stillPending {
			// The old token still works until it expires: keep sending with it.
			m.log.Warn().Err(err).Time("expires_at", cur.ExpiresAt).
				Msg("proactive token refresh failed; using the current token")
			return cur.Access, nil
		}
	}
	return tok, err
}

// Refresh refreshes after a call failed with -216/-220 using the token stale. If another
// goroutine (or another process sharing the store) already refreshed, so that the
// current token differs from stale, it returns the current token without calling Zalo.
func (m *TokenManager) Refresh(ctx context.Context, stale string) (string, error) {
	if err := m.acquire(ctx); err != nil {
		return "", err
	}
	defer m.release()
	if err := m.loadOnce(ctx); err != nil {
		return "", err
	}
	m.mu.Lock()
	pending := m.pending != nil
	m.mu.Unlock()
	if pending {
		return m.savePending(ctx)
	}
	return m.refresh(ctx, stale)
}

// NeedsReauth reports whether a refresh failed with an OAuth error, so that an OA admin
// must authorise the app again; sends should pause (inbound webhooks keep working). It
// clears when a new pair is installed (SetTokens, or found in the store).
func (m *TokenManager) NeedsReauth() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reauth
}

// SetTokens installs a new pair (after an OAuth authorisation): it is saved to the store,
// then published, and the re-authorisation state is cleared.
func (m *TokenManager) SetTokens(ctx context.Context, t Tokens) error {
	if err := m.acquire(ctx); err != nil {
		return err
	}
	defer m.release()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	defer cancel()
	if err := m.cfg.Store.SaveTokens(sctx, t); err != nil {
		return &Error{Op: "save tokens", Message: "saving the new token pair failed", Class: Retry, Err: err}
	}
	m.mu.Lock()
	m.cur, m.pending, m.reauth, m.loaded, m.nextProbe = t, nil, false, true, time.Time{}
	m.mu.Unlock()
	m.log.Info().Str("access", mask(t.Access)).Time("expires_at", t.ExpiresAt).Msg("zalo tokens installed")
	return nil
}

func (m *TokenManager) acquire(ctx context.Context) error {
	select {
	case m.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &Error{Op: "get token", Message: "waiting for the token refresh", Class: Retry, Err: ctx.Err()}
	}
}

func (m *TokenManager) release() { <-m.sem }

// expiringLocked reports whether the current access token should be refreshed
// proactively. m.mu must be held.
func (m *TokenManager) expiringLocked() bool {
	if m.cur.Access == "" {
		return true
	}
	if m.cur.ExpiresAt.IsZero() {
		return false
	}
	return m.cur.ExpiresAt.Sub(m.cfg.Now()) < m.cfg.RefreshBefore
}

// loadOnce reads the stored pair on first use, falling back to the bootstrap pair.
// m.sem must be held.
func (m *TokenManager) loadOnce(ctx context.Context) error {
	m.mu.Lock()
	loaded := m.loaded
	m.mu.Unlock()
	if loaded {
		return nil
	}
	t, ok, err := m.cfg.Store.LoadTokens(ctx)
	if err != nil {
		return &Error{Op: "load tokens", Message: "reading the stored token pair failed", Class: Retry, Err: err}
	}
	src := "store"
	if !ok || (t.Access == "" && t.Refresh == "") {
		t, src = m.cfg.Bootstrap, "config"
	}
	m.mu.Lock()
	m.cur, m.loaded = t, true
	m.mu.Unlock()
	m.log.Debug().Str("source", src).Str("access", mask(t.Access)).Time("expires_at", t.ExpiresAt).
		Msg("zalo tokens loaded")
	return nil
}

// adoptStored re-reads the store and adopts its pair when it differs from the one in
// memory: another process sharing the store rotated it, an admin installed a new one, or
// an earlier ambiguous refresh here needs checking before the refresh token is used
// again (API.md §7.3 rule 4). Memory is never newer than the store, because a pair is
// published only after it was saved. m.sem must be held.
func (m *TokenManager) adoptStored(ctx context.Context) {
	t, ok, err := m.cfg.Store.LoadTokens(ctx)
	if err != nil {
		m.log.Warn().Err(err).Msg("re-reading stored zalo tokens failed; using the pair in memory")
		return
	}
	if !ok || t.Refresh == "" {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.Refresh == m.cur.Refresh && t.Access == m.cur.Access {
		return
	}
	m.cur, m.reauth, m.nextProbe = t, false, time.Time{}
	m.log.Info().Str("access", mask(t.Access)).Time("expires_at", t.ExpiresAt).
		Msg("adopted a newer zalo token pair from the store")
}

// refresh obtains a new pair unless one is already there: stale != "" is the token a
// call failed with (refresh unless the current token differs); stale == "" refreshes
// only when the current token is missing or expiring. m.sem must be held.
func (m *TokenManager) refresh(ctx context.Context, stale string) (string, error) {
	m.adoptStored(ctx)

	m.mu.Lock()
	cur, reauth, expiring := m.cur, m.reauth, m.expiringLocked()
	m.mu.Unlock()
	if stale != "" && cur.Access != "" && cur.Access != stale {
		return cur.Access, nil
	}
	if stale == "" && !expiring {
		return cur.Access, nil
	}
	if reauth {
		return "", &Error{Op: opRefresh, Message: "an OA admin must authorise the app again", Class: Alert, Err: ErrNeedsReauth}
	}
	if cur.Refresh == "" {
		return "", &Error{Op: opRefresh, Message: "no refresh token", Class: Alert, Err: ErrNoTokens}
	}

	pair, err := m.callRefresh(ctx, cur.Refresh)
	if err != nil {
		return "", err
	}
	m.mu.Lock()
	m.pending = &pair
	m.mu.Unlock()
	return m.savePending(ctx)
}

// savePending saves the pending pair, then publishes it (API.md §7.3 rule 2). If the
// save fails the pair stays pending, because the old refresh token is already dead, and
// the save is retried by the next Access or Refresh. m.sem must be held.
func (m *TokenManager) savePending(ctx context.Context) (string, error) {
	m.mu.Lock()
	p := *m.pending
	m.mu.Unlock()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
	defer cancel()
	if err := m.cfg.Store.SaveTokens(sctx, p); err != nil {
		m.observe("save_failed")
		m.log.Error().Err(err).Str("access", mask(p.Access)).
			Msg("saving refreshed zalo tokens failed; the new pair is held in memory and not used until saved")
		return "", &Error{Op: "save tokens", Message: "saving the refreshed token pair failed", Class: Retry, Err: err}
	}
	m.mu.Lock()
	m.cur, m.pending, m.reauth, m.nextProbe = p, nil, false, time.Time{}
	m.mu.Unlock()
	m.log.Info().Str("access", mask(p.Access)).Time("expires_at", p.ExpiresAt).Msg("zalo tokens refreshed")
	return p.Access, nil
}

// refreshResponse is the flat response of /v4/oa/access_token (API.md §7.2).
type refreshResponse struct {
	AccessToken      string  `json:"access_token"`
	RefreshToken     string  `json:"refresh_token"`
	ExpiresIn        flexInt `json:"expires_in"` // a string of seconds; a number tolerated
	Error            flexInt `json:"error"`
	ErrorName        string  `json:"error_name"`
	ErrorDescription string  `json:"error_description"`
	Message          string  `json:"message"`
}

// callRefresh performs one refresh call with refreshToken. It runs detached from the
// caller's cancellation: abandoning it midway is exactly the ambiguous case to avoid.
func (m *TokenManager) callRefresh(ctx context.Context, refreshToken string) (t Tokens, err error) {
	defer func() {
		switch {
		case err == nil:
			m.observe("ok")
		case errors.Is(err, ErrNeedsReauth):
			m.observe("rejected")
		default:
			m.observe("failed")
		}
	}()
	form := url.Values{
		"refresh_token": {refreshToken},
		"app_id":        {m.cfg.AppID},
		"grant_type":    {"refresh_token"},
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), RefreshTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, m.cfg.OAuthBase+"/v4/oa/access_token",
		strings.NewReader(form.Encode()))
	if err != nil {
		return Tokens{}, &Error{Op: opRefresh, Message: "building the request", Class: Alert, Err: err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("secret_key", m.cfg.AppSecret)

	start := m.cfg.Now()
	resp, err := m.cfg.HTTP.Do(req)
	if err != nil {
		// Possibly ambiguous (a timeout after sending): Zalo may have rotated the pair.
		// The next attempt re-reads the store first (adoptStored) rather than trusting
		// memory blindly.
		m.log.Warn().Err(err).Msg("zalo token refresh failed in transport; the outcome is unknown")
		return Tokens{}, &Error{Op: opRefresh, Class: Retry, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return Tokens{}, &Error{Op: opRefresh, HTTPStatus: resp.StatusCode, Class: Retry, Err: err}
	}
	if resp.StatusCode >= 500 {
		return Tokens{}, &Error{Op: opRefresh, Message: "server error", HTTPStatus: resp.StatusCode, Class: Retry}
	}
	var r refreshResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return Tokens{}, &Error{Op: opRefresh, Message: "response is not JSON", HTTPStatus: resp.StatusCode,
			Class: Retry, Err: err}
	}
	if r.Error != 0 {
		// An OAuth error: the refresh token is invalid, expired or revoked, or the app
		// is misconfigured. Retrying with the same token cannot help (rule 6).
		m.mu.Lock()
		m.reauth = true
		m.mu.Unlock()
		msg := strings.TrimSpace(strings.Trim(r.ErrorName+": "+r.ErrorDescription, ": "))
		if msg == "" {
			msg = r.Message
		}
		m.log.Error().Int("code", int(r.Error)).Str("error_name", r.ErrorName).
			Str("error_description", r.ErrorDescription).
			Msg("zalo token refresh rejected; an OA admin must authorise the app again")
		return Tokens{}, &Error{Op: opRefresh, Code: int(r.Error), Message: msg, HTTPStatus: resp.StatusCode,
			Class: Alert, Err: ErrNeedsReauth}
	}
	if resp.StatusCode != http.StatusOK {
		return Tokens{}, &Error{Op: opRefresh, Message: "unexpected HTTP status", HTTPStatus: resp.StatusCode, Class: Alert}
	}
	if r.AccessToken == "" || r.RefreshToken == "" {
		return Tokens{}, &Error{Op: opRefresh, Message: "response has no token pair", HTTPStatus: resp.StatusCode, Class: Retry}
	}
	life := time.Duration(r.ExpiresIn) * time.Second
	if life <= 0 {
		m.log.Warn().Msg("zalo token refresh response has no usable expires_in; assuming 25h")
		life = defaultLifetime
	}
	// The lifetime counts from when Zalo answered; starting the clock before the call
	// errs on the early side.
	return Tokens{Access: r.AccessToken, Refresh: r.RefreshToken, ExpiresAt: start.Add(life)}, nil
}

func (m *TokenManager) observe(outcome string) {
	if m.cfg.OnRefresh != nil {
		m.cfg.OnRefresh(outcome)
	}
}

// mask shows only enough of a token to tell two apart in logs (API.md §7.3 rule 7).
func mask(tok string) string {
	if len(tok) <= 8 {
		return "…"
	}
	return tok[:4] + "…"
}

// flexInt decodes a JSON number or a string of digits ("90000"), as Zalo sends numbers
// as strings in many places. Empty strings and null decode to 0.
type flexInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.TrimSpace(string(b))
	if s == "null" {
		*f = 0
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			*f = 0
			return nil
		}
	}
	var n json.Number = json.Number(s)
	i, err := n.Int64()
	if err != nil {
		fl, ferr := n.Float64()
		if ferr != nil {
			return fmt.Errorf("not an integer: %q", s)
		}
		i = int64(fl)
	}
	*f = flexInt(i)
	return nil
}

// memoryStore is the TokenStore of a TokenManager configured without one.
type memoryStore struct {
	mu sync.Mutex
	t  Tokens
	ok bool
}

func (s *memoryStore) LoadTokens(context.Context) (Tokens, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.t, s.ok, nil
}

func (s *memoryStore) SaveTokens(_ context.Context, t Tokens) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.t, s.ok = t, true
	return nil
}
