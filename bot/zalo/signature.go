// Package zalo is the client side of the Zalo Official Account Open API: the webhook
// signature, sending messages, token refresh and error classification
// (shared/zalo/API.md).
package zalo

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// SignatureHeader is the header that carries a webhook event's signature.
const SignatureHeader = "X-ZEvent-Signature"

// Sign returns the lowercase hex mac of a webhook body:
// SHA-256(app_id ‖ raw body ‖ body.timestamp ‖ OA secret key). It is plain SHA-256 of the
// concatenation, not HMAC (API.md §3.1).
func Sign(appID, oaSecretKey string, body []byte, timestamp string) string {
	h := sha256.New()
	h.Write([]byte(appID))
	h.Write(body)
	h.Write([]byte(timestamp))
	h.Write([]byte(oaSecretKey))
	return hex.EncodeToString(h.Sum(nil))
}

// BodyTimestamp extracts the "timestamp" field of a raw event body, accepting a string or
// a number (mock servers send numbers). ok is false when the body is not a JSON object or
// has no timestamp.
func BodyTimestamp(body []byte) (ts string, ok bool) {
	var env struct {
		Timestamp json.RawMessage `json:"timestamp"`
	}
	if err := json.Unmarshal(body, &env); err != nil || len(env.Timestamp) == 0 {
		return "", false
	}
	ts = strings.Trim(string(env.Timestamp), `"`)
	if ts == "" || ts == "null" {
		return "", false
	}
	return ts, true
}

// Verify reports whether header (the X-ZEvent-Signature value, "mac=<hex>") is a valid
// signature of body. The body is hashed exactly as received: re-serialising or normalising
// Vietnamese text would change the bytes (API.md §3.3).
func Verify(appID, oaSecretKey string, body []byte, header string) bool {
	ts, ok := BodyTimestamp(body)
	return ok && VerifyTimestamp(appID, oaSecretKey, body, ts, header)
}

// VerifyTimestamp is Verify for a caller that has already decoded the body and read its
// timestamp field (the webhook decodes each body once). It allocates nothing: the
// expected mac and the lowercased header are compared as arrays.
func VerifyTimestamp(appID, oaSecretKey string, body []byte, timestamp, header string) bool {
	got, ok := strings.CutPrefix(strings.TrimSpace(header), "mac=")
	if !ok || len(got) != 64 || timestamp == "" {
		return false
	}
	// Hashed as Sign does, but into arrays: sha256.New is devirtualised and, like the
	// string conversions, stays on the stack.
	h := sha256.New()
	h.Write([]byte(appID))
	h.Write(body)
	h.Write([]byte(timestamp))
	h.Write([]byte(oaSecretKey))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	var want, lower [64]byte
	hex.Encode(want[:], sum[:])
	// ASCII lowercasing is strings.ToLower here: no other character lowercases to a hex
	// digit, and one that is not ASCII fails the comparison either way.
	for i := range lower {
		c := got[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	return subtle.ConstantTimeCompare(lower[:], want[:]) == 1
}
