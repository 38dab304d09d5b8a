package bot

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"clubbot/club"
	"clubbot/store"
)

// digestCall makes one request to a bot's handler.
func digestCall(t *testing.T, h http.Handler, method, target, token string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

// digestBot is a Bot on the digest fixture's store, not serving (no scheduler running).
func digestBot(t *testing.T, token string, now time.Time) (*Bot, *digestFixture) {
	t.Helper()
	f := newDigestFixture(t, now)
	b, err := New(Options{DB: f.db, Log: zerolog.Nop(), Now: func() time.Time { return now }, Loc: hcmLoc,
		AdminToken: token, APIBase: "http://127.0.0.1:1", OAuthBase: "http://127.0.0.1:1", HTTPClient: loopbackClient()})
	if err != nil {
		t.Fatal(err)
	}
	b.digest.upload = f.uploader
	return b, f
}

func TestDigestAPIAuthAndParams(t *testing.T) {
	now := time.Date(2025, 11, 18, 9, 0, 0, 0, hcmLoc)
	off, _ := digestBot(t, "", now)
	if w := digestCall(t, off.Handler(), "GET", "/api/v1/digests/preview?province=ninh-binh", "x"); w.Code != 404 {
		t.Errorf("admin API off: %d, want 404", w.Code)
	}
	b, _ := digestBot(t, "tok-digest-1", now)
	h := b.Handler()
	for _, c := range []struct {
		method, target, token string
		want                  int
		body                  string
	}{
		{"GET", "/api/v1/digests/preview?province=ninh-binh", "", 401, "Bearer"},
		{"POST", "/api/v1/digests/run?province=ninh-binh", "wrong", 401, "Bearer"},
		{"GET", "/api/v1/digests/preview?province=ninh-binh&week=2025-46", "tok-digest-1", 400, "week"},
		{"GET", "/api/v1/digests/preview?province=ninh-binh&week=2025-W53", "tok-digest-1", 400, "week"},
		{"GET", "/api/v1/digests/preview?province=ninh-binh&week=2025-W48", "tok-digest-1", 400, "chưa bắt đầu"},
		{"GET", "/api/v1/digests/preview?province=atlantis", "tok-digest-1", 400, "province"},
		{"GET", "/api/v1/digests/preview", "tok-digest-1", 400, "province"},
		{"GET", "/api/v1/digests/preview?province=all", "tok-digest-1", 400, "province"},
		{"GET", "/api/v1/digests/preview?province=ninh-binh&provice=x", "tok-digest-1", 400, "provice"},
		{"POST", "/api/v1/digests/run?province=ninh-binh&force=yes", "tok-digest-1", 400, "force"},
		{"GET", "/api/v1/digests/preview?province=Nam%20Dinh&week=2025-W46", "tok-digest-1", 200, `"province":"ninh-binh"`},
		{"GET", "/api/v1/digests/preview?province=national", "tok-digest-1", 200, `"name":"Toàn quốc"`},
	} {
		w := digestCall(t, h, c.method, c.target, c.token)
		if w.Code != c.want || !strings.Contains(w.Body.String(), c.body) {
			t.Errorf("%s %s: %d %s; want %d with %q", c.method, c.target, w.Code, w.Body, c.want, c.body)
		}
	}
}

func TestDigestAPIPreviewAndRun(t *testing.T) {
	now := time.Date(2025, 11, 18, 9, 0, 0, 0, hcmLoc)
	b, f := digestBot(t, "tok-digest-2", now)
	h := b.Handler()
	// week defaults to the one due now: week 46 on Tuesday of week 47.
	w := digestCall(t, h, "GET", "/api/v1/digests/preview?province=ninh-binh", "tok-digest-2")
	var raw map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &raw); err != nil || w.Code != 200 {
		t.Fatalf("preview: %d %s", w.Code, w.Body)
	}
	if raw["week"] != "2025-W46" || raw["as_of"] != "2025-11-16T23:59:59+07:00" || raw["province"] != "ninh-binh" {
		t.Errorf("preview week %v as of %v province %v", raw["week"], raw["as_of"], raw["province"])
	}
	msgs, _ := raw["messages"].([]any)
	groupMsgs, _ := raw["group_messages"].([]any)
	if len(msgs) == 0 || !strings.Contains(msgs[0].(string), "BẢN TIN TUẦN 46/2025") ||
		!strings.Contains(groupMsgs[len(groupMsgs)-1].(string), `nhắn "báo cáo"`) {
		t.Errorf("preview messages = %v / %v", msgs, groupMsgs)
	}
	if w := digestCall(t, h, "GET", "/api/v1/digests/preview?province=ninh-binh&format=png", "tok-digest-2"); w.Code != 200 ||
		w.Header().Get("Content-Type") != "image/png" || w.Body.Len() < 1000 {
		t.Errorf("chart preview: %d %s, %d bytes", w.Code, w.Header().Get("Content-Type"), w.Body.Len())
	}
	if w := digestCall(t, h, "GET", "/api/v1/digests/preview?province=ninh-binh&format=text", "tok-digest-2"); w.Code != 200 ||
		!strings.HasPrefix(w.Body.String(), "BẢN TIN TUẦN") {
		t.Errorf("text preview: %d %s", w.Code, w.Body)
	}
	if n := countItems(f.items(t)); n != 0 {
		t.Fatalf("preview queued %d messages", n)
	}

	var res DigestResult
	w = digestCall(t, h, "POST", "/api/v1/digests/run?province=ninh-binh&week=2025-W46", "tok-digest-2")
	if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil || w.Code != 200 {
		t.Fatalf("run: %d %s", w.Code, w.Body)
	}
	if !res.Queued || res.Week != "2025-W46" || len(res.Recipients) != 2 || res.Recipients[0].Status != store.OutQueued ||
		res.Recipients[1].GroupID != f.group {
		t.Errorf("run = %s", w.Body)
	}
	n := countItems(f.items(t))
	w = digestCall(t, h, "POST", "/api/v1/digests/run?province=ninh-binh&week=2025-W46", "tok-digest-2")
	_ = json.Unmarshal(w.Body.Bytes(), &res)
	if w.Code != 200 || res.Queued || res.Runs != 1 || countItems(f.items(t)) != n {
		t.Errorf("second run queued again: %s", w.Body)
	}
	w = digestCall(t, h, "POST", "/api/v1/digests/run?province=ninh-binh&week=2025-W46&force=1", "tok-digest-2")
	_ = json.Unmarshal(w.Body.Bytes(), &res)
	if w.Code != 200 || !res.Queued || res.Runs != 2 || res.Trigger != "api-force" || countItems(f.items(t)) != 2*n {
		t.Errorf("forced run: %s", w.Body)
	}
	var all struct {
		Week    string         `json:"week"`
		Results []DigestResult `json:"results"`
	}
	w = digestCall(t, h, "POST", "/api/v1/digests/run?province=all&week=2025-W46", "tok-digest-2")
	if err := json.Unmarshal(w.Body.Bytes(), &all); err != nil || w.Code != 200 || len(all.Results) != 35 {
		t.Fatalf("run all: %d %.300s", w.Code, w.Body)
	}
	byScope := map[string]DigestResult{}
	for _, r := range all.Results {
		byScope[r.Province] = r
	}
	if r := byScope["ninh-binh"]; r.Queued || r.Runs != 2 {
		t.Errorf("all: ninh-binh sent again: %+v", r)
	}
	if r := byScope["ha-noi"]; !r.Queued || len(r.Recipients) != 1 || r.Recipients[0].UserID != "u-officer-hn" {
		t.Errorf("all: ha-noi = %+v", r)
	}
	if r := byScope["national"]; !r.Queued || r.Recipients[0].UserID != f.admin {
		t.Errorf("all: national = %+v", r)
	}
	if r := byScope["lai-chau"]; r.Queued || len(r.Recipients) != 0 {
		t.Errorf("all: lai-chau without officers = %+v", r)
	}
}

// TestOfficerSummaryIsTheDigest: an officer's "tổng hợp" is answered with the digest of the
// week so far, for their province only, ending with the quick replies when they are on.
func TestOfficerSummaryIsTheDigest(t *testing.T) {
	e := startEnvT(t, func(o *Options) { o.Buttons = true })
	if _, _, err := e.db.UpsertOfficers([]club.Officer{{Name: "Phạm Thu Hà", Phone: "0987654321", Province: "ha-noi", Role: club.RoleOfficer}}); err != nil {
		t.Fatal(err)
	}
	id := e.user("Phạm Thu Hà", "0987654321")
	e.say(id, "0987654321", 1)
	out := e.say(id, "tổng hợp", 2)
	body, footer := out[0], out[1]
	for _, want := range []string{"BẢN TIN TUẦN 48/2026", "Thành phố Hà Nội", "Số liệu đến 09:00 ngày 23/11/2026", "0/1 CLB đã báo cáo"} {
		if !strings.Contains(body.Text, want) {
			t.Errorf("digest lacks %q:\n%s", want, body.Text)
		}
	}
	if footer.Kind != "list" || len(footer.Buttons) != 2 || footer.Buttons[0].Payload != "#chuabaocao" {
		t.Errorf("closing message = %+v; want the question with two quick replies", footer)
	}
	// The button works: its payload is the command.
	if got := e.say(id, "#chuabaocao", 1); !strings.Contains(got[0].Text, "1/1 CLB chưa báo cáo") {
		t.Errorf("#chuabaocao answered %q", got[0].Text)
	}
}
