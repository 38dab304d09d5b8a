package bot

import (
	"encoding/json"
	"testing"
)

// TestFlexStringShortcut: the shortcut for plain strings and numbers gives what the general
// decoding gives, and everything else still takes the general path.
func TestFlexStringShortcut(t *testing.T) {
	for _, in := range []string{`"1751100041636"`, `1751100041636`, `-1.5e3`, `"abc def"`, `"Báo cáo"`,
		`"a\"b"`, `"tab\tx"`, `"\u0031"`, `""`, `null`, `0`} {
		var got flexString
		if err := json.Unmarshal([]byte(in), &got); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		want := ""
		var s string
		var n json.Number
		switch {
		case json.Unmarshal([]byte(in), &s) == nil:
			want = s
		case json.Unmarshal([]byte(in), &n) == nil:
			want = n.String()
		}
		if in == "null" {
			want = ""
		}
		if string(got) != want {
			t.Errorf("%s → %q, want %q", in, got, want)
		}
	}
	var f flexString
	if err := json.Unmarshal([]byte(`{"a":1}`), &f); err == nil {
		t.Error("an object decoded as a flexString")
	}
}
