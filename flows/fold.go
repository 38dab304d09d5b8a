package flows

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Fold lowercases s, removes Vietnamese diacritics (đ becomes d), trims it and collapses runs
// of white space into one space. Input may be NFC or NFD (some phones send decomposed text);
// both fold to the same string, so "Sức khỏe", "Sức khoẻ" and "suc khoe" all become "suc khoe".
func Fold(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		// NFD splits every precomposed letter into base + combining marks, whatever form
		// the input came in, so dropping the marks leaves the bare letter.
		s = norm.NFD.String(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case r == 'đ' || r == 'Đ':
			r = 'd'
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		default:
			r = unicode.ToLower(r)
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(r)
	}
	return b.String()
}

// words folds s and splits it into words of letters and digits; every other character
// separates words. It is the form used for keyword and command matching.
func words(s string) []string {
	return strings.FieldsFunc(Fold(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// key folds s to words joined by single spaces: "Học tập – truyền thông" becomes
// "hoc tap truyen thong".
func key(s string) string { return strings.Join(words(s), " ") }

// politeness words that older users add around an answer ("có ạ", "dạ 25 người nhé");
// they carry no meaning for the engine.
var particles = map[string]bool{
	"a": true, "ak": true, "nhe": true, "nha": true, "oi": true, "ah": true, "nhi": true,
	"bac": true, "chau": true, "con": true, "em": true, "thua": true, "ad": true, "admin": true,
}

// trimParticles drops politeness words from both ends of ws, and a leading "dạ"/"vâng"
// when something follows it ("dạ không" is a no, "dạ" alone is a yes).
func trimParticles(ws []string) []string {
	for len(ws) > 0 && particles[ws[len(ws)-1]] {
		ws = ws[:len(ws)-1]
	}
	for len(ws) > 1 && (particles[ws[0]] || ws[0] == "da" || ws[0] == "vang") {
		ws = ws[1:]
	}
	return ws
}

// distance is the Levenshtein edit distance between a and b, counted in runes.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// near reports whether typed is the keyword kw or kw with one typo. ISHC §9.2 tolerates one
// typo only in words long enough (minLetters letters, spaces not counted) that a single
// slip cannot turn one short word into another ("có" and "cô", "huy" and "hủy" in context).
func near(typed, kw string, minLetters int) bool {
	if typed == kw {
		return true
	}
	if utf8.RuneCountInString(strings.ReplaceAll(kw, " ", "")) < minLetters {
		return false
	}
	if d := len(typed) - len(kw); d > 1 || d < -1 {
		return false
	}
	// Compare with and without the spaces, so "quaylai" and "quay lai" are the same typo-free.
	if strings.ReplaceAll(typed, " ", "") == strings.ReplaceAll(kw, " ", "") {
		return true
	}
	return distance(typed, kw) <= 1
}
