package bot

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"clubbot/bot/zalo"
	"clubbot/store"
)

const (
	testAppID  = "1027192766115822600"
	testOAID   = "2910835123456789012"
	testSecret = "FAKE_OA_SECRET_KEY_123"
)

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "zalo", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// compact returns the fixture as Zalo sends it: compact JSON, no whitespace.
func compact(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	if err := json.Compact(&buf, b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func signed(body []byte) string {
	ts, _ := zalo.BodyTimestamp(body)
	return "mac=" + zalo.Sign(testAppID, testSecret, body, ts)
}

func newIngestOnly(t *testing.T) (*Bot, *store.DB) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	b, err := New(Options{DB: db, Log: zerolog.Nop(), AppID: testAppID, OAID: testOAID, OASecret: testSecret,
		APIBase: "http://127.0.0.1:1", OAuthBase: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithCancel()
	done := make(chan struct{})
	go func() { b.ingest.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return b, db
}

// TestWebhookInbound drives the real router with raw bodies and headers, as Zalo would.
func TestWebhookInbound(t *testing.T) {
	b, db := newIngestOnly(t)
	text := compact(t, fixture(t, "user_send_text.json"))
	unknown := []byte(`{"app_id":"1027192766115822600","event_name":"brand_new_event","timestamp":"1751100041999"}`)
	big := append([]byte(`{"event_name":"user_send_text","timestamp":"1","pad":"`), bytes.Repeat([]byte("x"), MaxWebhookBody)...)
	big = append(big, `"}`...)
	tests := []struct {
		name      string
		body      []byte
		sig       string
		want      int
		recorded  int // inbox size after the request
		duplicate bool
	}{
		{"probe {} unsigned", []byte(`{}`), "", 200, 0, false},
		{"no signature", text, "", 401, 0, false},
		{"wrong signature", text, "mac=" + strings.Repeat("0", 64), 401, 0, false},
		{"hmac instead of sha256", text, "mac=491f8439efcf5241f39fdc67486745ef8e22a993dac0b7c77f869034173001db", 401, 0, false},
		{"not json", []byte(`hello`), "mac=x", 400, 0, false},
		{"too large", big, "mac=x", 413, 0, false},
		{"valid text", text, signed(text), 200, 1, false},
		{"redelivery", text, signed(text), 200, 1, true},
		{"unknown event", unknown, signed(unknown), 200, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig := tt.sig
			req := httptest.NewRequest(http.MethodPost, "/webhook/zalo", bytes.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			if sig != "" {
				req.Header.Set(zalo.SignatureHeader, sig)
			}
			rec := httptest.NewRecorder()
			b.Handler().ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status = %d (%s), want %d", rec.Code, rec.Body, tt.want)
			}
			total, _, _ := db.InboxStats()
			if total != tt.recorded {
				t.Errorf("inbox holds %d events, want %d", total, tt.recorded)
			}
			if got := strings.Contains(rec.Body.String(), `"duplicate":true`); got != tt.duplicate {
				t.Errorf("duplicate = %v, want %v (%s)", got, tt.duplicate, rec.Body)
			}
		})
	}
}

// TestEveryFixtureIsAccepted posts each confirmed and inferred fixture, signed, and checks
// it is recorded under the user the event is about.
func TestEveryFixtureIsAccepted(t *testing.T) {
	b, db := newIngestOnly(t)
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "zalo", "*.json"))
	inferred, _ := filepath.Glob(filepath.Join("..", "testdata", "zalo", "inferred", "*.json"))
	n := 0
	for _, f := range append(files, inferred...) {
		if strings.HasSuffix(f, "signature_test_vector.json") {
			continue
		}
		body := compact(t, mustRead(t, f))
		req := httptest.NewRequest(http.MethodPost, "/webhook/zalo", bytes.NewReader(body))
		req.Header.Set(zalo.SignatureHeader, signed(body))
		rec := httptest.NewRecorder()
		b.Handler().ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Errorf("%s: status %d: %s", filepath.Base(f), rec.Code, rec.Body)
			continue
		}
		n++
		ev, err := ParseEvent(body)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if u := ev.User(); ev.EventName != "add_user_to_tag" && u != "8309393969811122233" {
			t.Errorf("%s: user = %q, want the fixture user", filepath.Base(f), u)
		}
	}
	total, _, _ := db.InboxStats()
	if total != n || n < 15 {
		t.Errorf("recorded %d of %d fixtures", total, n)
	}
}

func mustRead(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDedupKeys(t *testing.T) {
	tests := []struct {
		file string
		want string
	}{
		{"user_send_text.json", "user_send_text|"},
		{"oa_send_text.json", "oa_send_text|63ecf43f0df7dba892e6"},
		{"user_received_message.json", "user_received_message|63ecf43f0df7dba892e6"},
		{"user_seen_message.json", "user_seen_message|63ecf43f0df7dba892e6,7d1a9b3c5e7f9a1b3c5d|1751100260500"},
		{"follow.json", "follow|8309393969811122233|1725608725618"},
	}
	for _, tt := range tests {
		ev, err := ParseEvent(fixture(t, tt.file))
		if err != nil {
			t.Fatal(err)
		}
		if got := ev.DedupKey(); !strings.HasPrefix(got, tt.want) {
			t.Errorf("%s: key %q, want prefix %q", tt.file, got, tt.want)
		}
	}
}

func TestNumericTimestampAccepted(t *testing.T) {
	ev, err := ParseEvent([]byte(`{"event_name":"follow","timestamp":1725608725618,"follower":{"id":"1"}}`))
	if err != nil || string(ev.Timestamp) != "1725608725618" {
		t.Fatalf("got %q, %v", ev.Timestamp, err)
	}
}

// TestRedeliveryAfterArchive: a delivery recorded two days ago, whose key ArchiveKeys has
// moved from memory to the store, is still answered as a duplicate when Zalo sends it again.
func TestRedeliveryAfterArchive(t *testing.T) {
	b, db := newIngestOnly(t)
	body := compact(t, fixture(t, "user_send_text.json"))
	post := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/webhook/zalo", bytes.NewReader(body))
		req.Header.Set(zalo.SignatureHeader, signed(body))
		w := httptest.NewRecorder()
		b.engine.ServeHTTP(w, req)
		return w
	}
	if w := post(); w.Code != http.StatusOK || strings.Contains(w.Body.String(), "duplicate") {
		t.Fatalf("first delivery: %d %s", w.Code, w.Body)
	}
	ctx, cancel := contextWithCancel()
	cancel() // one pass, then return
	b.ingest.now = func() time.Time { return time.Now().Add(2 * store.DedupRecent) }
	b.ingest.ArchiveKeys(ctx)
	if n := db.DedupInMemory(); n != 0 {
		t.Fatalf("keys in memory after archiving = %d, want 0", n)
	}
	if w := post(); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"duplicate":true`) {
		t.Fatalf("redelivery: %d %s, want a duplicate", w.Code, w.Body)
	}
	if total, _, err := db.InboxStats(); err != nil || total != 1 {
		t.Errorf("inbox holds %d events (%v), want 1", total, err)
	}
}
