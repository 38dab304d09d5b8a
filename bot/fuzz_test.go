package bot

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"clubbot/bot/zalo"
)

// seedEvents adds every webhook fixture (confirmed and inferred), compact as Zalo sends
// them, to a fuzz corpus.
func seedEvents(f testing.TB) [][]byte {
	files, _ := filepath.Glob(filepath.Join("..", "testdata", "zalo", "*.json"))
	inferred, _ := filepath.Glob(filepath.Join("..", "testdata", "zalo", "inferred", "*.json"))
	var out [][]byte
	for _, p := range append(files, inferred...) {
		if strings.HasSuffix(p, "signature_test_vector.json") {
			continue
		}
		out = append(out, compact(f, mustRead(f, p)))
	}
	if len(out) < 15 {
		f.Fatalf("only %d fixtures found", len(out))
	}
	return out
}

// FuzzParseEvent: whatever the body, parsing never panics, and a parsed event has a
// deterministic dedup key that starts with its event name (so an echo, a receipt and a
// reaction of the same message id never collide) and names its message id.
func FuzzParseEvent(f *testing.F) {
	for _, b := range seedEvents(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"event_name":"follow","timestamp":1725608725618,"follower":{"id":"1"}}`))
	f.Add([]byte(`{"event_name":"user_seen_message","message":{"msg_ids":["b","a"]},"timestamp":"1"}`))
	f.Add([]byte(`{"event_name":"","message":{"msg_id":null}}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := ParseEvent(raw)
		if err != nil {
			return
		}
		if ev.EventName == "" {
			t.Fatal("parsed an event without event_name")
		}
		key := ev.DedupKey()
		if !strings.HasPrefix(key, ev.EventName+"|") {
			t.Fatalf("key %q does not start with the event name %q", key, ev.EventName)
		}
		again, err := ParseEvent(raw)
		if err != nil || again.DedupKey() != key || again.User() != ev.User() {
			t.Fatalf("parsing the same body twice differs: %q vs %q", key, again.DedupKey())
		}
		n := ev.EventName
		if ev.Message.MsgID != "" && n != "user_seen_message" && !strings.Contains(key, ev.Message.MsgID) {
			t.Fatalf("key %q of a message event lacks its msg_id %q", key, ev.Message.MsgID)
		}
		_ = ev.OA()
		_ = ev.IsInteraction()
		_ = ev.ImageURLs()
		_ = ev.Submitted()
	})
}

// FuzzVerify: the signature check never panics; it accepts exactly the mac of
// SHA-256(app_id ‖ body ‖ body.timestamp ‖ OA secret), in either case, and rejects it with
// one hex digit changed or another secret.
func FuzzVerify(f *testing.F) {
	var doc struct {
		Vectors []struct {
			AppID        string            `json:"app_id"`
			Secret       string            `json:"oa_secret_key"`
			Body         string            `json:"raw_body"`
			Mac          string            `json:"expected_mac"`
			MustNotMatch map[string]string `json:"must_not_match"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(fixture(f, "signature_test_vector.json"), &doc); err != nil || len(doc.Vectors) == 0 {
		f.Fatalf("signature vectors: %v", err)
	}
	for _, v := range doc.Vectors {
		f.Add(v.AppID, v.Secret, []byte(v.Body), "mac="+v.Mac)
		for _, bad := range v.MustNotMatch {
			f.Add(v.AppID, v.Secret, []byte(v.Body), "mac="+bad)
		}
	}
	for _, b := range seedEvents(f) {
		f.Add(testAppID, testSecret, b, signed(b))
	}
	f.Add("", "", []byte(`{"timestamp":""}`), "mac=")
	f.Fuzz(func(t *testing.T, appID, secret string, body []byte, header string) {
		ok := zalo.Verify(appID, secret, body, header)
		ts, hasTS := zalo.BodyTimestamp(body)
		if ok {
			if !hasTS {
				t.Fatal("verified a body without a timestamp")
			}
			got := strings.TrimPrefix(strings.TrimSpace(header), "mac=")
			if !strings.EqualFold(got, zalo.Sign(appID, secret, body, ts)) {
				t.Fatalf("accepted header %q that is not the body's mac", header)
			}
		}
		if !hasTS {
			return
		}
		mac := zalo.Sign(appID, secret, body, ts)
		if !zalo.Verify(appID, secret, body, "mac="+mac) || !zalo.Verify(appID, secret, body, " mac="+strings.ToUpper(mac)+" ") {
			t.Fatal("rejected the body's own mac")
		}
		flipped := []byte(mac)
		flipped[7] = "1032547698badcfe"[strings.IndexByte("0123456789abcdef", flipped[7])]
		if zalo.Verify(appID, secret, body, "mac="+string(flipped)) {
			t.Fatal("accepted a mac with one digit changed")
		}
		if zalo.Verify(appID, secret+"x", body, "mac="+mac) {
			t.Fatal("accepted the mac under another secret")
		}
	})
}

// FuzzDecodeEvent: whenever the webhook's scanner decodes a body, encoding/json decodes it
// too, to the same event; when the scanner declines, decodeEvent's answer is
// encoding/json's.
func FuzzDecodeEvent(f *testing.F) {
	for _, b := range seedEvents(f) {
		f.Add(b)
	}
	for _, s := range []string{
		`{"event_name":"user_send_text","message":{"text":"B\u00e1o c\u00e1o \"7\"\n","msg_id":"a"},"timestamp":1725608725618}`,
		`{"event_name":"x","Event_Name":"y"}`, `{"event_name":"x","event_name":"y"}`, `{"ſender":{"id":"1"}}`,
		`{"message":{"msg_ids":[]},"info":{"a":[1,-2.5e3,true,false,{}]},"tag":"t"}`, `{"info":null}`,
		`{"message":{"attachments":[{"type":"location","payload":{"coordinates":{"latitude":"21.0","longitude":105.8}}}]}}`,
		`{"message":{"text":"\ud83d\ude00"}}`, "{\"message\":{\"text\":\"\xff\"}}", ` {"a":1} `, `{"a":1}x`, `{"timestamp":01}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var want Event
		wantErr := json.Unmarshal(raw, &want)
		var fast Event
		if fastDecodeEvent(raw, &fast) {
			if wantErr != nil {
				t.Fatalf("the scanner decoded a body encoding/json refuses (%v)", wantErr)
			}
			if !reflect.DeepEqual(fast, want) {
				t.Fatalf("the scanner decoded\n%+v\nencoding/json\n%+v", fast, want)
			}
		}
		var got Event
		err := decodeEvent(raw, &got)
		if (err == nil) != (wantErr == nil) || (err == nil && !reflect.DeepEqual(got, want)) {
			t.Fatalf("decodeEvent = %+v, %v; encoding/json %+v, %v", got, err, want, wantErr)
		}
	})
}

// TestFixturesTakeTheScanner: every fixture, as Zalo sends it, is decoded by the scanner
// (not left to encoding/json), so the webhook's fast path is the one real traffic takes.
func TestFixturesTakeTheScanner(t *testing.T) {
	for _, raw := range seedEvents(t) {
		var e Event
		if !fastDecodeEvent(raw, &e) {
			t.Errorf("the scanner declined %s", raw)
		}
	}
}
