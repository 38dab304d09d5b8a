package zalosim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"clubbot/bot/zalo"
)

// keyPaths lists the object keys of a JSON document as dotted paths ("message.msg_id",
// "message.attachments[].type") in document order, each path once.
func keyPaths(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	var out []string
	seen := map[string]bool{}
	var walk func(prefix string) error
	walk = func(prefix string) error {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return err
				}
				p := k.(string)
				if prefix != "" {
					p = prefix + "." + p
				}
				if !seen[p] {
					seen[p] = true
					out = append(out, p)
				}
				if err := walk(p); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			for dec.More() {
				if err := walk(prefix + "[]"); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	if err := walk(""); err != nil {
		t.Fatalf("walk %s: %v", body, err)
	}
	return out
}

// assertShape checks that body has the fixture's keys in the fixture's order (minus the
// optional ones), and that every id and timestamp is a string.
func assertShape(t *testing.T, body []byte, fixture string, optional map[string]bool) {
	t.Helper()
	fx, err := os.ReadFile(filepath.Join("..", "testdata", "zalo", fixture))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range keyPaths(t, fx) {
		if !optional[p] {
			want = append(want, p)
		}
	}
	got := keyPaths(t, body)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("%s: keys\n got %v\nwant %v", fixture, got, want)
	}
	// Compact, like real traffic (§2.2).
	var buf bytes.Buffer
	_ = json.Compact(&buf, body)
	if !bytes.Equal(buf.Bytes(), body) {
		t.Errorf("%s: body is not compact JSON: %s", fixture, body)
	}
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	ts, ok := m["timestamp"].(string)
	if !ok || !regexp.MustCompile(`^\d{13}$`).MatchString(ts) {
		t.Errorf("%s: timestamp %v, want a string of epoch ms", fixture, m["timestamp"])
	}
	if m["app_id"] != testAppID {
		t.Errorf("%s: app_id %v", fixture, m["app_id"])
	}
}

func TestEventsSignedAndShaped(t *testing.T) {
	tests := []struct {
		fixture  string
		send     func(s *Sim) (Delivery, error)
		optional map[string]bool
		check    func(t *testing.T, ev map[string]any)
	}{
		{"follow.json", func(s *Sim) (Delivery, error) { return s.Follow(testUserID) }, nil,
			func(t *testing.T, ev map[string]any) {
				if ev["oa_id"] != testOAID || ev["follower"].(map[string]any)["id"] != testUserID || ev["event_name"] != "follow" {
					t.Errorf("follow = %v", ev)
				}
			}},
		{"unfollow.json", func(s *Sim) (Delivery, error) { return s.Unfollow(testUserID) }, nil, nil},
		{"user_send_text.json", func(s *Sim) (Delivery, error) {
			return s.SendText(testUserID, "Báo cáo sinh hoạt tháng 11 👍 <&>")
		}, nil,
			func(t *testing.T, ev map[string]any) {
				msg := ev["message"].(map[string]any)
				if msg["text"] != "Báo cáo sinh hoạt tháng 11 👍 <&>" || ev["sender"].(map[string]any)["id"] != testUserID ||
					ev["recipient"].(map[string]any)["id"] != testOAID || ev["user_id_by_app"] != testAppUserID {
					t.Errorf("text event = %v", ev)
				}
			}},
		{"user_send_image.json", func(s *Sim) (Delivery, error) {
			return s.SendImage(testUserID, "https://example.org/so.jpg", "Ảnh sổ điểm danh")
		}, nil, nil},
		{"user_send_location.json", func(s *Sim) (Delivery, error) {
			return s.SendLocation(testUserID, 21.0285, 105.8542, "Nhà văn hóa thôn Đông")
		}, nil, func(t *testing.T, ev map[string]any) {
			c := ev["message"].(map[string]any)["attachments"].([]any)[0].(map[string]any)["payload"].(map[string]any)["coordinates"].(map[string]any)
			if c["latitude"] != "21.0285000" || c["longitude"] != "105.8542000" {
				t.Errorf("coordinates = %v, want strings", c)
			}
		}},
		{"user_submit_info.json", func(s *Sim) (Delivery, error) { return s.SubmitInfo(testUserID, "Nguyễn Văn A", "84912345678") }, nil,
			func(t *testing.T, ev map[string]any) {
				info := ev["info"].(map[string]any)
				if info["name"] != "Nguyễn Văn A" || info["phone"] != "84912345678" {
					t.Errorf("info = %v", info)
				}
			}},
		{"user_received_message.json", func(s *Sim) (Delivery, error) { return s.Received(testUserID, "63ecf43f0df7dba892e6") }, nil, nil},
		{"user_seen_message.json", func(s *Sim) (Delivery, error) {
			return s.Seen(testUserID, "63ecf43f0df7dba892e6", "7d1a9b3c5e7f9a1b3c5d")
		}, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			e := newEnv(t)
			d, err := tt.send(e.sim)
			if err != nil {
				t.Fatal(err)
			}
			got := e.rcv.last(t)
			if !got.verified {
				t.Errorf("signature %q does not verify", got.header.Get(zalo.SignatureHeader))
			}
			if !bytes.Equal(got.body, d.Event) || d.Status != 200 || string(d.Body) != `{"ok":true}` {
				t.Errorf("Delivery = %+v; webhook got %s", d, got.body)
			}
			// The signature covers the exact bytes: one changed byte breaks it.
			tampered := bytes.Replace(got.body, []byte(testUserID), []byte("8309393969811122234"), 1)
			if zalo.Verify(testAppID, testOASecret, tampered, got.header.Get(zalo.SignatureHeader)) {
				t.Error("signature verifies a tampered body")
			}
			if ct := got.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			assertShape(t, got.body, tt.fixture, tt.optional)
			var ev map[string]any
			_ = json.Unmarshal(got.body, &ev)
			if msg, ok := ev["message"].(map[string]any); ok && msg["msg_id"] != nil {
				if id, _ := msg["msg_id"].(string); !msgIDRe.MatchString(id) {
					t.Errorf("msg_id %v", msg["msg_id"])
				}
			}
			if tt.check != nil {
				tt.check(t, ev)
			}
			// Logged as an inbound entry with the exact body and the webhook's status.
			all := e.sim.All()
			last := all[len(all)-1]
			if last.Dir != "in" || !bytes.Equal(last.JSON, got.body) || last.Status != 200 || last.Pending {
				t.Errorf("log entry = %+v", last)
			}
		})
	}
}

func TestEventTimestampsFollowClock(t *testing.T) {
	e := newEnv(t)
	d, err := e.sim.SendText(testUserID, "a")
	if err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Timestamp string `json:"timestamp"`
	}
	_ = json.Unmarshal(d.Event, &ev)
	if want := fmt.Sprint(e.clk.Now().UnixMilli()); ev.Timestamp != want {
		t.Errorf("timestamp %s, want %s (the injected clock)", ev.Timestamp, want)
	}
}

func TestWebhookStatusRecorded(t *testing.T) {
	e := newEnv(t)
	e.rcv.status = 401
	d, err := e.sim.SendText(testUserID, "a")
	if err != nil || d.Status != 401 {
		t.Fatalf("SendText = %+v, %v", d, err)
	}
	if m := e.sim.Messages(testUserID); len(m) != 1 || m[0].Status != 401 {
		t.Errorf("Messages = %+v, want status 401 recorded", m)
	}

	e.sim.SetWebhookURL("")
	if _, err := e.sim.SendText(testUserID, "b"); err != ErrNoWebhook {
		t.Errorf("no webhook: err %v", err)
	}
	e.sim.SetWebhookURL("http://127.0.0.1:1/webhook")
	if _, err := e.sim.SendText(testUserID, "c"); err == nil {
		t.Error("unreachable webhook: no error")
	}
	m := e.sim.Messages(testUserID)
	if last := m[len(m)-1]; last.DeliveryError == "" || last.Pending {
		t.Errorf("unreachable webhook entry = %+v", last)
	}
	if _, err := e.sim.SendText("42", "x"); err == nil {
		t.Error("unknown user: no error")
	}
}

func TestDeliver(t *testing.T) {
	e := newEnv(t)
	fx, err := os.ReadFile(filepath.Join("..", "testdata", "zalo", "user_send_text.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, signed := range []bool{true, false, true} {
		status, err := e.sim.Deliver(fx, signed)
		if err != nil || status != 200 {
			t.Fatalf("Deliver = %d, %v", status, err)
		}
		got := e.rcv.last(t)
		if !bytes.Equal(got.body, fx) {
			t.Error("Deliver changed the body")
		}
		if got.verified != signed || (got.header.Get(zalo.SignatureHeader) != "") != signed {
			t.Errorf("signed=%v: header %q verified %v", signed, got.header.Get(zalo.SignatureHeader), got.verified)
		}
	}
	if len(e.sim.All()) != 0 {
		t.Error("Deliver logged entries")
	}
	// Sign matches the fixture's test vector.
	var vec struct {
		Vectors []struct {
			RawBody     string `json:"raw_body"`
			ExpectedMac string `json:"expected_mac"`
		} `json:"vectors"`
	}
	f, _ := os.Open(filepath.Join("..", "testdata", "zalo", "signature_test_vector.json"))
	defer f.Close()
	b, _ := io.ReadAll(f)
	if err := json.Unmarshal(b, &vec); err != nil || len(vec.Vectors) == 0 {
		t.Fatal(err)
	}
	for _, v := range vec.Vectors {
		if got := e.sim.Sign([]byte(v.RawBody)); got != "mac="+v.ExpectedMac {
			t.Errorf("Sign = %s, want mac=%s", got, v.ExpectedMac)
		}
	}
}

func TestAddUser(t *testing.T) {
	s := New(Config{})
	u := s.AddUser(User{Name: "Trần Thị B", Phone: "0987654321"})
	re := regexp.MustCompile(`^[1-9]\d{18}$`)
	if !re.MatchString(u.ID) || !re.MatchString(u.AppUserID) || u.ID == u.AppUserID {
		t.Errorf("AddUser = %+v: want two distinct 19-digit ids", u)
	}
	u2 := s.AddUser(User{Name: "Lê Văn C"})
	if u2.ID == u.ID {
		t.Error("duplicate id")
	}
	s.AddUser(User{ID: u.ID, Name: "Trần Thị Bình", Phone: "0987654321"})
	us := s.Users()
	if len(us) != 2 || us[0].Name != "Trần Thị Bình" || us[1].ID != u2.ID {
		t.Errorf("Users = %+v", us)
	}
	if a, r := s.Tokens(); a == "" || r == "" || a == r {
		t.Errorf("generated tokens %q %q", a, r)
	}
}
