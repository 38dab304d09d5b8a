package bot

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"clubbot/store"
	"clubbot/templates"
)

const flowsTestToken = "flows-admin-token-123"

// newFlowsBot is a Bot (not serving) on a fresh store, its admin API on with token.
func newFlowsBot(t testing.TB, token string) (*Bot, *store.DB) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "f.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b, err := New(Options{DB: db, Log: zerolog.Nop(), AdminToken: token, AppID: testAppID, OAID: testOAID,
		OASecret: testSecret, APIBase: "http://127.0.0.1:1", OAuthBase: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	return b, db
}

type flowsAnswer struct {
	status int
	body   []byte
	header http.Header
}

func (a flowsAnswer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("body %q: %v", a.body, err)
	}
	return m
}

func flowsCall(b *Bot, method, path, token, contentType string, body []byte) flowsAnswer {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	b.Handler().ServeHTTP(rec, req)
	return flowsAnswer{rec.Code, rec.Body.Bytes(), rec.Header()}
}

func TestFlowsAdminAuth(t *testing.T) {
	off, _ := newFlowsBot(t, "")
	for _, p := range []string{"/api/v1/flows", "/api/v1/flows/meeting_report", "/api/v1/flows/meeting_report/revisions"} {
		if got := flowsCall(off, "GET", p, "anything", "", nil); got.status != http.StatusNotFound {
			t.Errorf("admin API off: GET %s = %d, want 404", p, got.status)
		}
	}
	b, _ := newFlowsBot(t, flowsTestToken)
	tests := []struct {
		name, auth string
		want       int
	}{
		{"no header", "", 401},
		{"wrong token", "Bearer nope", 401},
		{"token prefix", "Bearer " + flowsTestToken[:5], 401},
		{"token with more", "Bearer " + flowsTestToken + "x", 401},
		{"basic scheme", "Basic " + flowsTestToken, 401},
		{"right", "Bearer " + flowsTestToken, 200},
		{"scheme case", "bearer " + flowsTestToken, 200},
	}
	for _, tt := range tests {
		for _, r := range []struct{ method, path string }{{"GET", "/api/v1/flows"}, {"GET", "/api/v1/flows/meeting_report"},
			{"GET", "/api/v1/flows/meeting_report/revisions"}} {
			req := httptest.NewRequest(r.method, r.path, nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			rec := httptest.NewRecorder()
			b.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("%s: %s %s = %d, want %d", tt.name, r.method, r.path, rec.Code, tt.want)
			}
		}
	}
	// Writes are refused without the token, and change nothing.
	if got := flowsCall(b, "PUT", "/api/v1/flows/meeting_report", "", "", templates.Flows()["meeting_report"]); got.status != 401 {
		t.Errorf("PUT without token = %d", got.status)
	}
	if got := flowsCall(b, "POST", "/api/v1/flows/meeting_report/rollback?revision=1", "bad", "", nil); got.status != 401 {
		t.Errorf("rollback with a wrong token = %d", got.status)
	}
	if _, rev, _ := b.flows.Current("meeting_report"); rev != 1 {
		t.Errorf("revision %d after refused writes, want 1", rev)
	}
}

// editedFlow returns the default meeting report with a reworded first prompt.
func editedFlow(t *testing.T) []byte {
	src := string(templates.Flows()["meeting_report"])
	out := strings.Replace(src, "Tháng này CLB đã họp chưa ạ?", "Tháng này CLB có sinh hoạt không ạ?", 1)
	if out == src {
		t.Fatal("the default flow no longer has the prompt this test rewords")
	}
	return []byte(out)
}

func TestFlowsAdminPublishAndRollback(t *testing.T) {
	b, db := newFlowsBot(t, flowsTestToken)
	tok := flowsTestToken
	orig := templates.Flows()["meeting_report"]

	list := flowsCall(b, "GET", "/api/v1/flows", tok, "", nil)
	if list.status != 200 || !strings.Contains(string(list.body), `"id":"meeting_report"`) || !strings.Contains(string(list.body), `"revision":1`) ||
		!strings.Contains(string(list.body), `"attendance_total"`) || !strings.Contains(string(list.body), `"nudge_after":"30m0s"`) {
		t.Fatalf("list = %d %s", list.status, list.body)
	}
	got := flowsCall(b, "GET", "/api/v1/flows/meeting_report", tok, "", nil)
	if got.status != 200 || !bytes.Equal(got.body, orig) || got.header.Get("X-Flow-Revision") != "1" ||
		!strings.HasPrefix(got.header.Get("Content-Type"), "application/yaml") {
		t.Fatalf("get = %d %q rev %q", got.status, got.header.Get("Content-Type"), got.header.Get("X-Flow-Revision"))
	}
	if got := flowsCall(b, "GET", "/api/v1/flows/nope", tok, "", nil); got.status != 404 {
		t.Errorf("unknown flow = %d", got.status)
	}

	// Invalid: 422 with line numbers, nothing changes.
	bad := strings.Replace(string(orig), "    type: confirm\n", "    type: confirmm\n", 1)
	bad = strings.Replace(bad, "  - name: notes\n", "  - name: notes\n    colour: red\n", 1)
	put := flowsCall(b, "PUT", "/api/v1/flows/meeting_report", tok, "application/yaml", []byte(bad))
	if put.status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid PUT = %d %s", put.status, put.body)
	}
	var body struct {
		Errors []struct {
			Line    int    `json:"line"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(put.body, &body); err != nil || len(body.Errors) != 2 {
		t.Fatalf("422 body %s (%v): want two errors", put.body, err)
	}
	colourLine := 1 + strings.Count(bad[:strings.Index(bad, "colour: red")], "\n")
	wantLine := 1 + strings.Count(bad[:strings.Index(bad, "type: confirmm")], "\n")
	if body.Errors[0].Line != colourLine || !strings.Contains(body.Errors[0].Message, `unknown key "colour"`) ||
		body.Errors[1].Line != wantLine || !strings.Contains(body.Errors[1].Message, `unknown type "confirmm"`) {
		t.Errorf("422 errors %+v; want the unknown key at line %d, then the unknown type at line %d", body.Errors, colourLine, wantLine)
	}
	wrongID := strings.Replace(string(orig), "id: meeting_report", "id: other_report", 1)
	put = flowsCall(b, "PUT", "/api/v1/flows/meeting_report", tok, "", []byte(wrongID))
	idLine := 1 + strings.Count(wrongID[:strings.Index(wrongID, "id: other_report")], "\n")
	if put.status != 422 || !strings.Contains(string(put.body), `"line":`+strconv.Itoa(idLine)) || !strings.Contains(string(put.body), "does not match") {
		t.Errorf("PUT with another id = %d %s; want 422 at line %d", put.status, put.body, idLine)
	}
	if put := flowsCall(b, "PUT", "/api/v1/flows/meeting_report", tok, "", nil); put.status != 422 {
		t.Errorf("empty PUT = %d", put.status)
	}
	if put := flowsCall(b, "PUT", "/api/v1/flows/meeting_report", tok, "", bytes.Repeat([]byte("#"), maxFlowBody+1)); put.status != 413 {
		t.Errorf("oversized PUT = %d", put.status)
	}
	if _, rev, _ := b.flows.Current("meeting_report"); rev != 1 {
		t.Fatalf("refused PUTs changed the current revision to %d", rev)
	}
	if revs := revisionCount(t, db, "meeting_report"); revs != 1 {
		t.Fatalf("refused PUTs stored %d revisions", revs)
	}

	// Valid: revision 2, current at once.
	put = flowsCall(b, "PUT", "/api/v1/flows/meeting_report?note=reworded", tok, "application/yaml", editedFlow(t))
	if put.status != 200 || put.json(t)["revision"] != float64(2) {
		t.Fatalf("valid PUT = %d %s", put.status, put.body)
	}
	f, rev, _ := b.flows.Current("meeting_report")
	if rev != 2 || !strings.Contains(f.Steps[0].Prompt, "có sinh hoạt không") {
		t.Fatalf("current = revision %d, prompt %q", rev, f.Steps[0].Prompt)
	}
	if got := flowsCall(b, "GET", "/api/v1/flows/meeting_report?revision=1", tok, "", nil); !bytes.Equal(got.body, orig) {
		t.Errorf("revision 1 changed")
	}
	if got := flowsCall(b, "GET", "/api/v1/flows/meeting_report?revision=7", tok, "", nil); got.status != 404 {
		t.Errorf("missing revision = %d", got.status)
	}
	js := flowsCall(b, "GET", "/api/v1/flows/meeting_report?format=json", tok, "", nil).json(t)
	if js["revision"] != float64(2) || js["current"] != true || !strings.Contains(js["yaml"].(string), "có sinh hoạt không") {
		t.Errorf("json get = %v", js)
	}

	// Rollback: a new revision with revision 1's content; the history is kept.
	if rb := flowsCall(b, "POST", "/api/v1/flows/meeting_report/rollback?revision=x", tok, "", nil); rb.status != 400 {
		t.Errorf("rollback to x = %d", rb.status)
	}
	if rb := flowsCall(b, "POST", "/api/v1/flows/meeting_report/rollback?revision=9", tok, "", nil); rb.status != 404 {
		t.Errorf("rollback to 9 = %d", rb.status)
	}
	rb := flowsCall(b, "POST", "/api/v1/flows/meeting_report/rollback?revision=1", tok, "", nil)
	if rb.status != 200 || rb.json(t)["revision"] != float64(3) || rb.json(t)["from"] != float64(1) {
		t.Fatalf("rollback = %d %s", rb.status, rb.body)
	}
	if got := flowsCall(b, "GET", "/api/v1/flows/meeting_report", tok, "", nil); !bytes.Equal(got.body, orig) || got.header.Get("X-Flow-Revision") != "3" {
		t.Errorf("after rollback the current YAML is not revision 1's (revision %s)", got.header.Get("X-Flow-Revision"))
	}
	if _, rev, _ := b.flows.Current("meeting_report"); rev != 3 {
		t.Errorf("current revision after rollback = %d, want 3", rev)
	}
	h := flowsCall(b, "GET", "/api/v1/flows/meeting_report/revisions", tok, "", nil)
	var hist struct {
		Current   int `json:"current"`
		Revisions []struct {
			Revision int    `json:"revision"`
			Note     string `json:"note"`
			Current  bool   `json:"current"`
		} `json:"revisions"`
	}
	if err := json.Unmarshal(h.body, &hist); err != nil || hist.Current != 3 || len(hist.Revisions) != 3 ||
		hist.Revisions[0].Note != "embedded default" || hist.Revisions[1].Note != "reworded" ||
		hist.Revisions[2].Note != "rollback to 1" || !hist.Revisions[2].Current || hist.Revisions[1].Current {
		t.Errorf("revisions = %s (%v)", h.body, err)
	}
	if h := flowsCall(b, "GET", "/api/v1/flows/nope/revisions", tok, "", nil); h.status != 404 {
		t.Errorf("revisions of an unknown flow = %d", h.status)
	}
}

func revisionCount(t *testing.T, db *store.DB, id string) int {
	t.Helper()
	n := 0
	db.View(func(tx *store.Tx) error {
		revs, err := tx.FlowRevisions(id)
		n = len(revs)
		return err
	})
	return n
}

func TestFlowsAdminTestEndpoint(t *testing.T) {
	b, _ := newFlowsBot(t, flowsTestToken)
	transcript := []byte(`
flow: meeting_report
now: 2026-11-25T10:00:00+07:00
cases:
  - name: first question
    turns:
      - bot: ["đã họp chưa"]
      - user: co
        bot: ["họp ngày nào"]
`)
	ok := flowsCall(b, "POST", "/api/v1/flows/meeting_report/test", flowsTestToken, "application/yaml", transcript)
	if m := ok.json(t); ok.status != 200 || m["passed"] != true || m["cases"] != float64(1) || m["revision"] != float64(1) {
		t.Fatalf("test against the current revision = %d %s", ok.status, ok.body)
	}
	req, _ := json.Marshal(testRequest{Template: string(editedFlow(t)), Transcript: string(transcript)})
	fail := flowsCall(b, "POST", "/api/v1/flows/meeting_report/test", flowsTestToken, "application/json", req)
	m := fail.json(t)
	if fail.status != 200 || m["passed"] != false || !strings.Contains(string(fail.body), `does not contain \"đã họp chưa\"`) {
		t.Fatalf("test of an edited template = %d %s", fail.status, fail.body)
	}
	if _, rev, _ := b.flows.Current("meeting_report"); rev != 1 {
		t.Errorf("testing a template published it (revision %d)", rev)
	}
	req, _ = json.Marshal(testRequest{Template: "id: meeting_report\nsteps: []\n", Transcript: string(transcript)})
	if bad := flowsCall(b, "POST", "/api/v1/flows/meeting_report/test", flowsTestToken, "application/json", req); bad.status != 422 ||
		!strings.Contains(string(bad.body), `"line":2`) {
		t.Errorf("test of an invalid template = %d %s", bad.status, bad.body)
	}
	if bad := flowsCall(b, "POST", "/api/v1/flows/meeting_report/test", flowsTestToken, "", []byte("cases: [")); bad.status != 400 {
		t.Errorf("an unreadable transcript = %d %s", bad.status, bad.body)
	}
}
