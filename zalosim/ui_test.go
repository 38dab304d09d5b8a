package zalosim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// ui calls the JSON API of the UI handler mounted at /sim/.
func (e *env) ui(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	base := strings.TrimSuffix(e.api, "/zalo") + "/sim"
	req, _ := http.NewRequest(method, base+path, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestUIUsers(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		body   any
		status int
	}{
		{"ok", map[string]string{"name": "Trần Thị B", "phone": "0987654321"}, http.StatusCreated},
		{"no name", map[string]string{"phone": "0987654321"}, http.StatusBadRequest},
		{"not JSON", "{", http.StatusBadRequest},
	}
	for _, tt := range tests {
		var status int
		var b []byte
		if s, ok := tt.body.(string); ok {
			base := strings.TrimSuffix(e.api, "/zalo") + "/sim"
			resp, err := http.Post(base+"/api/users", "application/json", strings.NewReader(s))
			if err != nil {
				t.Fatal(err)
			}
			b, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			status = resp.StatusCode
		} else {
			status, b = e.ui(t, "POST", "/api/users", tt.body)
		}
		if status != tt.status {
			t.Errorf("%s: status %d (%s), want %d", tt.name, status, b, tt.status)
		}
		if status >= 400 {
			var m map[string]string
			if json.Unmarshal(b, &m) != nil || m["error"] == "" {
				t.Errorf("%s: error body %s, want {\"error\":…}", tt.name, b)
			}
		}
	}
	status, b := e.ui(t, "GET", "/api/users", nil)
	var users []UserView
	if err := json.Unmarshal(b, &users); err != nil || status != 200 {
		t.Fatalf("GET users: %d %s", status, b)
	}
	if len(users) != 2 || users[0].ID != testUserID || users[1].Name != "Trần Thị B" ||
		!regexp.MustCompile(`^\d{19}$`).MatchString(users[1].ID) {
		t.Errorf("users = %+v", users)
	}
}

func TestUIEventsAndMessages(t *testing.T) {
	e := newEnv(t)
	e.sim.AddGroup(testGroupID, "Nhóm tỉnh")
	tests := []struct {
		name   string
		body   map[string]any
		status int
		kind   string
	}{
		{"follow", map[string]any{"user_id": testUserID, "kind": "follow"}, 200, "follow"},
		{"text", map[string]any{"user_id": testUserID, "kind": "text", "text": "báo cáo"}, 200, "text"},
		{"image", map[string]any{"user_id": testUserID, "kind": "image", "url": "https://example.org/a.jpg", "text": "sổ"}, 200, "image"},
		{"location", map[string]any{"user_id": testUserID, "kind": "location", "lat": 21.0, "lng": 105.8}, 200, "location"},
		{"submit_info", map[string]any{"user_id": testUserID, "kind": "submit_info"}, 200, "submit_info"},
		{"unfollow", map[string]any{"user_id": testUserID, "kind": "unfollow"}, 200, "unfollow"},
		{"empty text", map[string]any{"user_id": testUserID, "kind": "text"}, 400, ""},
		{"image without url", map[string]any{"user_id": testUserID, "kind": "image"}, 400, ""},
		{"location without lat", map[string]any{"user_id": testUserID, "kind": "location", "lng": 1}, 400, ""},
		{"bad kind", map[string]any{"user_id": testUserID, "kind": "sticker"}, 400, ""},
		{"unknown user", map[string]any{"user_id": "1", "kind": "text", "text": "x"}, 404, ""},
	}
	for _, tt := range tests {
		before := e.rcv.count()
		status, b := e.ui(t, "POST", "/api/events", tt.body)
		if status != tt.status {
			t.Errorf("%s: status %d (%s), want %d", tt.name, status, b, tt.status)
			continue
		}
		if status != 200 {
			if e.rcv.count() != before {
				t.Errorf("%s: a rejected request posted an event", tt.name)
			}
			continue
		}
		var r eventResponse
		_ = json.Unmarshal(b, &r)
		got := e.rcv.last(t)
		if r.Status != 200 || !bytes.Equal(r.Event, got.body) || !got.verified {
			t.Errorf("%s: answer %s; webhook got %s", tt.name, b, got.body)
		}
		msgs := e.sim.Messages(testUserID)
		if last := msgs[len(msgs)-1]; last.Kind != tt.kind || last.MsgID != r.MsgID {
			t.Errorf("%s: last entry %+v, answer msg_id %q", tt.name, last, r.MsgID)
		}
	}
	// submit_info defaults to the user's name and phone, in Zalo's 84… form.
	var info struct {
		Info submittedInfo `json:"info"`
	}
	for _, m := range e.sim.Messages(testUserID) {
		if m.Kind == "submit_info" {
			_ = json.Unmarshal(m.JSON, &info)
		}
	}
	if info.Info.Name != "Nguyễn Văn A" || info.Info.Phone != "84912345678" {
		t.Errorf("submit_info info = %+v", info.Info)
	}

	// messages: oldest first, after filters by seq, the JSON is the exact event.
	status, b := e.ui(t, "GET", "/api/messages?user_id="+testUserID+"&after=0", nil)
	var entries []Entry
	if err := json.Unmarshal(b, &entries); err != nil || status != 200 {
		t.Fatalf("messages: %d %s", status, b)
	}
	if len(entries) != 6 || entries[0].Kind != "follow" || entries[5].Kind != "unfollow" || entries[1].Status != 200 {
		t.Fatalf("messages = %s", b)
	}
	if !bytes.Equal(entries[1].JSON, e.sim.Messages(testUserID)[1].JSON) {
		t.Errorf("entry JSON differs from the event sent")
	}
	_, b = e.ui(t, "GET", "/api/messages?user_id="+testUserID+"&after=4", nil)
	entries = nil
	_ = json.Unmarshal(b, &entries)
	if len(entries) != 2 || entries[0].Seq != 5 {
		t.Errorf("after=4: %s", b)
	}
	if status, _ := e.ui(t, "GET", "/api/messages?after=x", nil); status != 400 {
		t.Errorf("after=x: status %d", status)
	}
	_, b = e.ui(t, "GET", "/api/messages?user_id=nobody", nil)
	if string(b) != "[]" {
		t.Errorf("no entries: %s, want []", b)
	}

	// groups and calls.
	_, b = e.ui(t, "GET", "/api/groups", nil)
	if !strings.Contains(string(b), `"id":"`+testGroupID+`"`) {
		t.Errorf("groups = %s", b)
	}
	e.do(t, "POST", PathMessageCS, testAccess, textTo(testUserID, "x")) // -213: unfollowed
	_, b = e.ui(t, "GET", "/api/calls", nil)
	var calls []Call
	_ = json.Unmarshal(b, &calls)
	if len(calls) != 1 || calls[0].Path != PathMessageCS || calls[0].Error != ErrNotFollower || calls[0].UserID != testUserID {
		t.Errorf("calls = %s", b)
	}
	if status, b := e.ui(t, "GET", "/api/nothing", nil); status != 404 || !strings.Contains(string(b), `"error"`) {
		t.Errorf("unknown API: %d %s", status, b)
	}
}

func TestUIEventsWithoutWebhook(t *testing.T) {
	e := newEnv(t)
	e.sim.SetWebhookURL("")
	status, b := e.ui(t, "POST", "/api/events", map[string]any{"user_id": testUserID, "kind": "follow"})
	if status != http.StatusConflict || !strings.Contains(string(b), `"error"`) {
		t.Errorf("no webhook: %d %s", status, b)
	}
}

func TestPage(t *testing.T) {
	e := newEnv(t)
	status, b := e.ui(t, "GET", "/", nil)
	if status != 200 {
		t.Fatalf("GET /sim/: %d", status)
	}
	page := string(b)
	for _, want := range []string{
		`id="users"`, `id="messages"`, `id="text"`, `id="send"`, `id="follow"`, `id="unfollow"`,
		`"user"`, `dataset.id`, `"msg "`, `"qr"`, `"share-info"`, `Quan tâm`, `Bỏ quan tâm`,
		`Chia sẻ thông tin`, `lang="vi"`, `name="viewport"`, "700",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	// Self-contained, with relative URLs only: no external scripts, styles or absolute API paths.
	for _, bad := range []*regexp.Regexp{
		regexp.MustCompile(`<(script|link|img)[^>]+(src|href)=`),
		regexp.MustCompile(`fetch\(\s*["']/`),
		regexp.MustCompile(`["']/api/`),
		regexp.MustCompile(`@import`),
	} {
		if loc := bad.FindString(page); loc != "" {
			t.Errorf("page has %q", loc)
		}
	}
	// /sim (no slash) redirects to /sim/ so that relative URLs resolve under the prefix.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(strings.TrimSuffix(e.api, "/zalo") + "/sim")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusMovedPermanently || loc != "/sim/" {
		t.Errorf("GET /sim: %d Location %q, want 301 /sim/", resp.StatusCode, loc)
	}
}

func TestZaloPhone(t *testing.T) {
	for in, want := range map[string]string{
		"0912345678": "84912345678", "0912 345 678": "84912345678", "+84912345678": "84912345678",
		"84912345678": "84912345678", "": "",
	} {
		if got := zaloPhone(in); got != want {
			t.Errorf("zaloPhone(%q) = %q, want %q", in, got, want)
		}
	}
}
