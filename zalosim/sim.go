// Package zalosim is a simulated Zalo Official Account platform: a fake OA Open API and
// OAuth server (APIHandler), simulated users that send signed webhook events to the bot,
// and a web chat page (UIHandler) for trying the bot in a browser. It backs the
// `clubbot demo` command and the end-to-end tests. The rules it enforces are those of
// shared/zalo/API.md; the section is cited where a rule is applied.
package zalosim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Config configures a Sim. Zero values get the defaults named on each field.
type Config struct {
	AppID       string // the Zalo app id, first term of the webhook signature
	OAID        string // the Official Account id, recipient of user events
	OASecretKey string // signs webhook events (API.md §3)
	AppSecret   string // expected in the secret_key header of token refreshes (§7.2)
	WebhookURL  string // where events are POSTed; may be set later with SetWebhookURL

	// AccessToken and RefreshToken are the initial valid pair. Empty values are replaced by
	// random tokens (see Tokens).
	AccessToken, RefreshToken string
	// AccessTTL is the lifetime of an access token: 25 h by default, as Zalo issues (§7.3).
	AccessTTL time.Duration
	// Now is the clock; time.Now by default. Tests inject a clock to cross the 7-day window.
	Now func() time.Time
	// HTTPClient posts webhook events. The default has a 5 s timeout: Zalo expects an answer
	// within 2 s (§2.2), so anything slower is a bot bug worth seeing as an error.
	HTTPClient *http.Client
	// EchoSends makes the sim post an oa_send_* echo event after each successful 1:1 send,
	// as Zalo does (§2.5). Off by default: the bot drops echoes, and tests are simpler
	// without them.
	EchoSends bool
}

// User is a simulated Zalo user.
type User struct {
	ID        string `json:"id"`          // OA-scoped user id, 19 decimal digits
	Name      string `json:"name"`        // display name, also the name shared by submit_info
	Phone     string `json:"phone"`       // phone number shared by submit_info
	AppUserID string `json:"app_user_id"` // user_id_by_app; generated when empty
}

// Button is one button of a list template, as the sim received it.
type Button struct {
	Title   string `json:"title"`
	Type    string `json:"type"`
	Payload string `json:"payload"` // the payload string; for oa.open.* the raw JSON object
}

// Entry is one line of a conversation log: an event the sim sent to the webhook (Dir "in",
// from the user to the OA) or a send call the bot made (Dir "out"), successful or not.
type Entry struct {
	Seq     int       `json:"seq"`
	At      time.Time `json:"at"`
	Dir     string    `json:"dir"` // "in" or "out"
	UserID  string    `json:"user_id,omitempty"`
	GroupID string    `json:"group_id,omitempty"`
	// Kind: outbound "text", "list", "image", "request_user_info" ("invalid" when the body
	// was not understood); inbound "text", "image", "location", "follow", "unfollow",
	// "submit_info", "received", "seen".
	Kind     string   `json:"kind"`
	Text     string   `json:"text,omitempty"`
	Subtitle string   `json:"subtitle,omitempty"` // list and request_user_info cards
	Buttons  []Button `json:"buttons,omitempty"`
	URL      string   `json:"url,omitempty"` // image URL (uploaded images: a URL relative to the UI)
	// ImageURL is the card image of request_user_info.
	ImageURL   string `json:"image_url,omitempty"`
	QuoteMsgID string `json:"quote_msg_id,omitempty"`
	MsgID      string `json:"msg_id,omitempty"` // event msg_id (in) or returned message_id (out)
	// Error is the Zalo error code the call answered (out); 0 on success.
	Error int `json:"error"`
	// Status is the webhook's HTTP status for an inbound event; 0 while Pending or when
	// the POST failed (then DeliveryError says why).
	Status        int    `json:"status,omitempty"`
	Pending       bool   `json:"pending,omitempty"`
	DeliveryError string `json:"delivery_error,omitempty"`
	// JSON is the exact body: the event as sent (in) or the request as received (out).
	JSON json.RawMessage `json:"json,omitempty"`
}

// Call is one call to the fake API, whatever the endpoint.
type Call struct {
	Seq        int             `json:"seq"`
	At         time.Time       `json:"at"`
	Method     string          `json:"method"`
	Path       string          `json:"path"`
	HTTPStatus int             `json:"http_status"`
	Error      int             `json:"error"`
	UserID     string          `json:"user_id,omitempty"`
	GroupID    string          `json:"group_id,omitempty"`
	Request    string          `json:"request,omitempty"` // body; tokens masked
	Response   json.RawMessage `json:"response,omitempty"`
}

// Stats are counters of the sim's activity.
type Stats struct {
	Calls     map[string]int `json:"calls"`     // API calls by path
	Failures  map[string]int `json:"failures"`  // calls by path that answered an error or 503
	Sent      int            `json:"sent"`      // successful 1:1 and group sends
	Free      int            `json:"free"`      // 1:1 sends paid by the free 48-hour bucket
	Paid      int            `json:"paid"`      // 1:1 sends billed to the package allowance
	Refreshes int            `json:"refreshes"` // successful token refreshes
	Events    int            `json:"events"`    // webhook POSTs attempted
}

type userState struct {
	User
	follower    bool
	unfollowed  bool      // unfollowed and not followed again: sends fail with -213
	lastInter   time.Time // last interaction (§5.1); zero if never
	sinceInter  int       // 1:1 sends since lastInter, for the free-reply count
	shared      bool      // submitted the info card
	sharedName  string
	sharedPhone string
}

type group struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type attachment struct {
	data        []byte
	contentType string
	at          time.Time
}

type fault struct {
	code int
	n    int
}

// Sim is a simulated Zalo OA platform. Its methods are safe for concurrent use.
type Sim struct {
	cfg    Config
	client *http.Client

	mu       sync.Mutex
	now      func() time.Time
	webhook  string
	users    map[string]*userState
	order    []string // user ids in creation order
	groups   map[string]*group
	gorder   []string
	entries  []*Entry
	calls    []Call
	changed  chan struct{} // closed and replaced on every log change
	ids      map[string]bool
	atts     map[string]*attachment
	faults   map[string][]fault
	down     bool
	noButton bool
	stats    Stats
	pkgQuota int // remaining package allowance for paid sends

	access, refresh string
	accessExp       time.Time
	refreshExp      time.Time
}

// refreshTTL is the refresh token's lifetime: 3 months (API.md §7.3).
const refreshTTL = 90 * 24 * time.Hour

// New returns a Sim configured by cfg.
func New(cfg Config) *Sim {
	if cfg.AccessTTL <= 0 {
		cfg.AccessTTL = 25 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	s := &Sim{
		cfg:      cfg,
		client:   cfg.HTTPClient,
		now:      cfg.Now,
		webhook:  cfg.WebhookURL,
		users:    map[string]*userState{},
		groups:   map[string]*group{},
		changed:  make(chan struct{}),
		ids:      map[string]bool{},
		atts:     map[string]*attachment{},
		faults:   map[string][]fault{},
		pkgQuota: 2000,
		stats:    Stats{Calls: map[string]int{}, Failures: map[string]int{}},
	}
	s.access, s.refresh = cfg.AccessToken, cfg.RefreshToken
	if s.access == "" {
		s.access = randToken()
	}
	if s.refresh == "" {
		s.refresh = randToken()
	}
	t := s.now()
	s.accessExp = t.Add(cfg.AccessTTL)
	s.refreshExp = t.Add(refreshTTL)
	return s
}

// SetWebhookURL sets where events are POSTed.
func (s *Sim) SetWebhookURL(u string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.webhook = u
}

// SetNow replaces the clock.
func (s *Sim) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// Now returns the sim's current time.
func (s *Sim) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now()
}

// Tokens returns the current valid access and refresh tokens.
func (s *Sim) Tokens() (access, refresh string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.access, s.refresh
}

// ExpireAccessToken makes the current access token expired: calls with it answer -220.
func (s *Sim) ExpireAccessToken() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accessExp = s.now().Add(-time.Second)
}

// FailNext makes the next n calls to path (e.g. "/v3.0/oa/message/cs") answer error code
// instead of being served. Faults queue up in the order given.
func (s *Sim) FailNext(path string, code, n int) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	path = "/" + strings.TrimPrefix(path, "/")
	s.faults[path] = append(s.faults[path], fault{code: code, n: n})
}

// SetDown makes every API call answer HTTP 503 (down=true) or restores service.
func (s *Sim) SetDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// SetButtonsUnsupported makes list templates (buttons) on /v3.0/oa/message/cs answer -201,
// as Zalo may (API.md §4.3: no official v3 page documents them).
func (s *Sim) SetButtonsUnsupported(v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noButton = v
}

// Stats returns a copy of the counters.
func (s *Sim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Calls = copyMap(s.stats.Calls)
	st.Failures = copyMap(s.stats.Failures)
	return st
}

// CallCount returns the number of API calls made to path ("" counts every path).
func (s *Sim) CallCount(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if path == "" {
		return len(s.calls)
	}
	return s.stats.Calls["/"+strings.TrimPrefix(path, "/")]
}

// Calls returns every API call made so far, oldest first.
func (s *Sim) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

func copyMap(m map[string]int) map[string]int {
	c := make(map[string]int, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// AddUser adds a simulated user and returns it with its ids filled in. An empty ID gets a
// random 19-digit id. Adding an existing id updates its name and phone.
func (s *Sim) AddUser(u User) User {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u.ID == "" {
		u.ID = s.newUserID()
	}
	if old, ok := s.users[u.ID]; ok {
		old.Name, old.Phone = u.Name, u.Phone
		if u.AppUserID != "" {
			old.AppUserID = u.AppUserID
		}
		return old.User
	}
	if u.AppUserID == "" {
		u.AppUserID = s.newUserID()
	}
	s.users[u.ID] = &userState{User: u}
	s.order = append(s.order, u.ID)
	s.notify()
	return u
}

// Users returns the simulated users in the order they were added.
func (s *Sim) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.order))
	for _, id := range s.order {
		out = append(out, s.users[id].User)
	}
	return out
}

// User returns one simulated user.
func (s *Sim) User(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[id]
	if !ok {
		return User{}, false
	}
	return u.User, true
}

// AddGroup adds a group the OA is in (a GMF group, API.md §6). Sends to other group ids
// answer -403.
func (s *Sim) AddGroup(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.groups[id]; ok {
		g.Name = name
		return
	}
	s.groups[id] = &group{ID: id, Name: name}
	s.gorder = append(s.gorder, id)
	s.notify()
}

// Messages returns the conversation log of a user or a group, oldest first.
func (s *Sim) Messages(id string) []Entry {
	return s.filter(func(e *Entry) bool { return e.UserID == id || e.GroupID == id })
}

// Outbound returns the successful sends to a user or a group, oldest first.
func (s *Sim) Outbound(id string) []Entry {
	return s.filter(func(e *Entry) bool {
		return (e.UserID == id || e.GroupID == id) && e.Dir == "out" && e.Error == 0
	})
}

// All returns every log entry, oldest first.
func (s *Sim) All() []Entry {
	return s.filter(func(*Entry) bool { return true })
}

func (s *Sim) filter(keep func(*Entry) bool) []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.filterLocked(keep)
}

func (s *Sim) filterLocked(keep func(*Entry) bool) []Entry {
	var out []Entry
	for _, e := range s.entries {
		if keep(e) {
			out = append(out, *e)
		}
	}
	return out
}

// WaitOutbound blocks until the user (or group) id has at least n successful sends, and
// returns them; it returns ctx's error, with the sends so far, if ctx ends first.
func (s *Sim) WaitOutbound(ctx context.Context, id string, n int) ([]Entry, error) {
	keep := func(e *Entry) bool {
		return (e.UserID == id || e.GroupID == id) && e.Dir == "out" && e.Error == 0
	}
	for {
		s.mu.Lock()
		got := s.filterLocked(keep)
		ch := s.changed
		s.mu.Unlock()
		if len(got) >= n {
			return got, nil
		}
		select {
		case <-ctx.Done():
			return got, fmt.Errorf("zalosim: wait for %d sends to %s (have %d): %w", n, id, len(got), ctx.Err())
		case <-ch:
		}
	}
}

// notify wakes the waiters; s.mu must be held.
func (s *Sim) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// addEntry appends e to the log with the next sequence number; s.mu must be held.
func (s *Sim) addEntry(e *Entry) *Entry {
	e.Seq = len(s.entries) + 1
	if e.At.IsZero() {
		e.At = s.now()
	}
	s.entries = append(s.entries, e)
	s.notify()
	return e
}

// newUserID returns an unused 19-digit decimal id (user and app-scoped ids, §0); s.mu
// must be held.
func (s *Sim) newUserID() string {
	lo := big.NewInt(1_000_000_000_000_000_000)
	span := big.NewInt(8_000_000_000_000_000_000)
	for {
		n, err := rand.Int(rand.Reader, span)
		if err != nil {
			panic(err)
		}
		id := n.Add(n, lo).String()
		if !s.ids[id] {
			s.ids[id] = true
			return id
		}
	}
}

// newMsgID returns an unused message id: 20 lowercase hex characters (§0); s.mu must be held.
func (s *Sim) newMsgID() string {
	for {
		b := make([]byte, 10)
		_, _ = rand.Read(b)
		id := hex.EncodeToString(b)
		if !s.ids[id] {
			s.ids[id] = true
			return id
		}
	}
}

func randToken() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
