package zalo

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSplitText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want []string
	}{
		{"empty", "", 10, nil},
		{"blank", " \n\n ", 10, nil},
		{"fits", "Xin chào bác", 20, []string{"Xin chào bác"}},
		{"exactly max", "abcde", 5, []string{"abcde"}},
		{"lines packed", "aa\nbb\ncc\ndd", 5, []string{"aa\nbb", "cc\ndd"}},
		{"line boundary preferred", "một hai\nba bốn năm", 12, []string{"một hai", "ba bốn năm"}},
		{"blank lines kept inside, dropped at edges", "aa\n\nbb\n\n\ncc", 6, []string{"aa\n\nbb", "cc"}},
		{"overlong line cut at words", "một hai ba bốn năm sáu", 8, []string{"một hai", "ba bốn", "năm sáu"}},
		{"overlong line then lines", "x\naaaa bbbb cccc\ny", 9, []string{"x", "aaaa bbbb", "cccc\ny"}},
		{"overlong word cut at runes", "ĐđĐđĐđĐđĐđ", 4, []string{"ĐđĐđ", "ĐđĐđ", "Đđ"}},
		{"word then overlong word", "ab cdefghij", 4, []string{"ab", "cdef", "ghij"}},
		{"emoji are runes", "👍👍👍👍👍", 2, []string{"👍👍", "👍👍", "👍"}},
		{"combining mark stays with its letter", "aaae\u0301", 4, []string{"aaa", "e\u0301"}},
		{"zwj sequence kept when possible", "ab👩\u200d👩", 4, []string{"ab", "👩\u200d👩"}},
		{"crlf lines", "aa\r\nbb\r\ncc", 7, []string{"aa\r\nbb", "cc"}},
		{"max below 1 means 2000", "abc", 0, []string{"abc"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := SplitText(tc.in, tc.max)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
				t.Errorf("SplitText(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
			checkParts(t, got, tc.max)
		})
	}
}

func TestSplitText2000(t *testing.T) {
	line := strings.Repeat("ữ", 99) // 99 runes + a line break = 100
	var b strings.Builder
	for i := 0; i < 20; i++ {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(line)
	}
	exact := b.String()
	if n := utf8.RuneCountInString(exact); n != 1999 {
		t.Fatalf("setup: %d runes", n)
	}
	exact += "👍" // 2,000 runes
	if got := SplitText(exact, MaxTextRunes); len(got) != 1 || got[0] != exact {
		t.Errorf("2,000 runes split into %d parts", len(got))
	}
	over := exact + "\nThêm một dòng"
	got := SplitText(over, MaxTextRunes)
	if len(got) != 2 || got[0] != exact || got[1] != "Thêm một dòng" {
		t.Errorf("2,000 runes + a line = %d parts", len(got))
	}
	checkParts(t, got, MaxTextRunes)

	// A long Vietnamese report with an overlong paragraph: no part over the limit, and
	// nothing lost but the spaces and line breaks cut at.
	para := strings.Repeat("Đo huyết áp cho 40 cụ, nói chuyện chuyên đề phòng chống đột quỵ. ", 80)
	report := "Báo cáo tháng 11\n" + para + "\nCảm ơn Hội 👍"
	parts := SplitText(report, MaxTextRunes)
	checkParts(t, parts, MaxTextRunes)
	if len(parts) < 3 {
		t.Errorf("parts = %d, want at least 3", len(parts))
	}
	squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
	if squash(strings.Join(parts, " ")) != squash(report) {
		t.Error("splitting lost text")
	}
}

func checkParts(t *testing.T, parts []string, max int) {
	t.Helper()
	if max < 1 {
		max = MaxTextRunes
	}
	for i, p := range parts {
		if strings.TrimSpace(p) == "" {
			t.Errorf("part %d is empty", i)
		}
		if n := utf8.RuneCountInString(p); n > max {
			t.Errorf("part %d has %d runes, over %d", i, n, max)
		}
		if !utf8.ValidString(p) {
			t.Errorf("part %d is not valid UTF-8", i)
		}
	}
}

func FuzzSplitText(f *testing.F) {
	for _, s := range []string{"", "a b c", "ĐđĐđ\n\n👍👍 e\u0301", strings.Repeat("x ", 50)} {
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		if max > 50 || !utf8.ValidString(s) {
			return
		}
		checkParts(t, SplitText(s, max), max)
	})
}
