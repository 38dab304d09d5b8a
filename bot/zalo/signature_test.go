package zalo

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestSignatureVectors checks Sign and Verify against every vector of
// testdata/zalo/signature_test_vector.json (API.md §3.2).
func TestSignatureVectors(t *testing.T) {
	raw, err := os.ReadFile("../../testdata/zalo/signature_test_vector.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			Name           string            `json:"name"`
			AppID          string            `json:"app_id"`
			Timestamp      string            `json:"timestamp"`
			OASecretKey    string            `json:"oa_secret_key"`
			RawBody        string            `json:"raw_body"`
			RawBodyBase64  string            `json:"raw_body_utf8_base64"`
			RawBodyLength  int               `json:"raw_body_length_bytes"`
			ExpectedMAC    string            `json:"expected_mac"`
			ExpectedHeader map[string]string `json:"expected_header"`
			MustNotMatch   map[string]string `json:"must_not_match"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Vectors) == 0 {
		t.Fatal("no vectors")
	}
	for _, v := range file.Vectors {
		t.Run(v.Name, func(t *testing.T) {
			body, err := base64.StdEncoding.DecodeString(v.RawBodyBase64)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(body, []byte(v.RawBody)) || len(body) != v.RawBodyLength {
				t.Fatalf("raw_body and its base64 differ, or length %d != %d", len(body), v.RawBodyLength)
			}
			ts, ok := BodyTimestamp(body)
			if !ok || ts != v.Timestamp {
				t.Errorf("BodyTimestamp = %q, %v; want %q", ts, ok, v.Timestamp)
			}
			got := Sign(v.AppID, v.OASecretKey, body, v.Timestamp)
			if got != v.ExpectedMAC {
				t.Errorf("Sign = %s, want %s", got, v.ExpectedMAC)
			}
			for name, bad := range v.MustNotMatch {
				if got == bad {
					t.Errorf("Sign matches the wrong implementation %q", name)
				}
				if Verify(v.AppID, v.OASecretKey, body, "mac="+bad) {
					t.Errorf("Verify accepts the mac of the wrong implementation %q", name)
				}
			}
			header := v.ExpectedHeader[SignatureHeader]
			if header != "mac="+v.ExpectedMAC {
				t.Errorf("expected header = %q", header)
			}
			for _, h := range []string{header, " " + header + " ", "mac=" + strings.ToUpper(v.ExpectedMAC)} {
				if !Verify(v.AppID, v.OASecretKey, body, h) {
					t.Errorf("Verify(%q) = false", h)
				}
			}
			for name, h := range map[string]string{
				"no prefix":     v.ExpectedMAC,
				"empty":         "",
				"wrong secret":  "mac=" + Sign(v.AppID, "WRONG", body, v.Timestamp),
				"truncated mac": header[:len(header)-2],
			} {
				if Verify(v.AppID, v.OASecretKey, body, h) {
					t.Errorf("Verify accepts %s", name)
				}
			}
			// One changed byte in the body must fail.
			tampered := bytes.Replace(body, []byte(`"event_name"`), []byte(`"event_nams"`), 1)
			if Verify(v.AppID, v.OASecretKey, tampered, header) {
				t.Error("Verify accepts a tampered body")
			}
		})
	}
}

func TestBodyTimestamp(t *testing.T) {
	for _, tc := range []struct {
		body string
		ts   string
		ok   bool
	}{
		{`{"timestamp":"1751100041636"}`, "1751100041636", true},
		{`{"timestamp":1751100041636}`, "1751100041636", true},
		{`{"timestamp":null}`, "", false},
		{`{"timestamp":""}`, "", false},
		{`{}`, "", false},
		{`not json`, "", false},
	} {
		ts, ok := BodyTimestamp([]byte(tc.body))
		if ts != tc.ts || ok != tc.ok {
			t.Errorf("BodyTimestamp(%s) = %q, %v; want %q, %v", tc.body, ts, ok, tc.ts, tc.ok)
		}
	}
}

// TestVerifyTimestampPaths: the stack and the streaming hash paths agree with Sign, and
// the hex mac is compared case-insensitively.
func TestVerifyTimestampPaths(t *testing.T) {
	for _, n := range []int{0, 300, 2048, 5000} {
		body := []byte(`{"timestamp":"1","pad":"` + strings.Repeat("x", n) + `"}`)
		mac := Sign("app", "secret", body, "1")
		if !VerifyTimestamp("app", "secret", body, "1", "mac="+mac) || !VerifyTimestamp("app", "secret", body, "1", " mac="+strings.ToUpper(mac)+" ") {
			t.Errorf("body of %d bytes: valid mac rejected", len(body))
		}
		bad := []byte(mac)
		bad[10] ^= 1
		if VerifyTimestamp("app", "secret", body, "1", "mac="+string(bad)) || VerifyTimestamp("app", "secret", body, "2", "mac="+mac) {
			t.Errorf("body of %d bytes: bad mac accepted", len(body))
		}
	}
}
