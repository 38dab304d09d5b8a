package flows

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The parsers below read answers the way chairpersons type them (ISHC.md §9.2): digits or
// words, thousand separators, money units, dates as 20/11 or "hôm qua", labels with or
// without diacritics. Each returns a problem sentence in Vietnamese instead of an error:
// a user's mistake is a reply, not an error (STYLE.md).

// zeroWords are whole answers that mean 0 in a number question ("Trong đó bao nhiêu nữ?" —
// "không có").
var zeroWords = map[string]bool{
	"khong": true, "khong co": true, "ko": true, "k": true, "kg": true, "khg": true, "ko co": true,
	"khong ai": true, "khong co ai": true, "chua": true, "chua co": true, "chua co ai": true,
}

var digitWords = map[string]float64{
	"mot": 1, "hai": 2, "ba": 3, "bon": 4, "nam": 5, "sau": 6, "bay": 7, "tam": 8, "chin": 9,
}

// afterTens are the forms a unit digit takes after "mươi": hai mươi mốt, hai mươi tư,
// hai mươi lăm.
var afterTens = map[string]float64{"mot": 1, "tu": 4, "lam": 5, "nham": 5}

// multipliers for counts; money adds the spoken short forms (5tr, 500k, 5 củ).
var (
	countMult = map[string]float64{"nghin": 1e3, "ngan": 1e3}
	moneyMult = map[string]float64{"nghin": 1e3, "ngan": 1e3, "k": 1e3, "trieu": 1e6, "tr": 1e6, "cu": 1e6, "ty": 1e9, "ti": 1e9}
	moneyUnit = map[string]bool{"dong": true, "d": true, "vnd": true, "vnđ": true}
)

var numLitRE = regexp.MustCompile(`\d+(?:[.,]\d+)*|[\p{L}]+`)

// parseAmount reads one whole number from text: "42", "42 người", "khoảng 40", "năm mươi",
// and for money also "5 triệu", "5tr", "1tr5", "500k", "5.000.000", "hai triệu rưỡi".
// It returns the number and whether an explicit money unit was given.
func parseAmount(text string, money bool) (n int64, unit bool, problem string) {
	f := Fold(text)
	ws := trimParticles(words(text))
	if zeroWords[strings.Join(ws, " ")] {
		return 0, true, ""
	}
	if len(ws) > 0 && ws[0] == "sua" {
		// "sửa 3" is not 3 people: the user wants to change an earlier answer.
		return 0, false, "Muốn sửa câu trước thì Bác gõ: quay lại."
	}
	toks := numLitRE.FindAllString(f, -1)
	hasLit := false
	for _, t := range toks {
		if t[0] >= '0' && t[0] <= '9' {
			hasLit = true
		}
	}
	mult := countMult
	if money {
		mult = moneyMult
	}
	// Keep only the tokens that carry a number, so "khoảng 40 người" is just "40".
	type item struct {
		kind string // "lit", "tens", "hundred", "big", "half", "linh"
		v    float64
		one  bool // a single digit, for the colloquial "1tr5", "trăm hai"
	}
	var items []item
	for _, t := range toks {
		switch {
		case t[0] >= '0' && t[0] <= '9':
			v, one, p := literal(t, money)
			if p != "" {
				return 0, false, p
			}
			items = append(items, item{"lit", v, one})
		case mult[t] > 0:
			items = append(items, item{"big", mult[t], false})
			unit = true
		case money && moneyUnit[t]:
			unit = true
		case t == "ruoi":
			items = append(items, item{"half", 0, false})
		case t == "muoi" || t == "chuc":
			items = append(items, item{"tens", 10, false})
		case t == "tram":
			items = append(items, item{"hundred", 100, false})
		case t == "linh" || t == "le":
			items = append(items, item{"linh", 0, false})
		case hasLit:
			// With digits present, number words are ordinary words: "25 người nam".
		default:
			if v, ok := digitWords[t]; ok {
				items = append(items, item{"lit", v, true})
			} else if v, ok := afterTens[t]; ok && len(items) > 0 && items[len(items)-1].kind == "tens" {
				items = append(items, item{"lit", v, true})
			}
		}
	}
	if len(items) == 0 {
		return 0, false, fmt.Sprintf("“%s” chưa phải là một con số.", clip(text))
	}
	lastNum := -1
	for i, it := range items {
		if it.kind == "lit" {
			lastNum = i
		}
	}
	var total, group, lastLit, lastBig float64
	prev := ""
	two := fmt.Sprintf("Bác gõ giúp một số thôi ạ, “%s” có nhiều số.", clip(text))
	for i, it := range items {
		switch it.kind {
		case "lit":
			switch {
			case prev == "lit":
				return 0, false, two
			case prev == "tens":
				if it.v >= 10 {
					return 0, false, two
				}
				group += it.v
			case prev == "hundred" && i == lastNum && it.one && i == len(items)-1:
				group += it.v * 10 // "một trăm hai" is 120
			case prev == "big" && i == lastNum && it.one && i == len(items)-1:
				total += it.v * lastBig / 10 // "1tr5" is 1,500,000; "nghìn hai" is 1,200
			case prev == "big":
				if i == len(items)-1 && lastBig >= 1e3 && it.v < 1000 && it.v >= 10 {
					total += it.v * lastBig / 1000 // "1 triệu 500" is 1,500,000
				} else {
					group += it.v
				}
			case prev == "hundred" || prev == "linh":
				group += it.v
			case prev == "":
				group = it.v
			default:
				group += it.v
			}
			lastLit = it.v
		case "tens":
			if prev == "lit" {
				group += lastLit*10 - lastLit
			} else {
				group += 10
			}
		case "hundred":
			if prev == "lit" {
				group += lastLit*100 - lastLit
			} else {
				group += 100
			}
		case "big":
			if group == 0 && prev != "lit" {
				group = 1 // "triệu rưỡi", "nghìn hai"
			}
			total += group * it.v
			group, lastBig = 0, it.v
		case "half":
			switch prev {
			case "big":
				total += lastBig / 2
			case "hundred":
				group += 50
			default:
				return 0, false, fmt.Sprintf("“%s” chưa rõ là bao nhiêu.", clip(text))
			}
		}
		prev = it.kind
	}
	total += group
	if total != math.Trunc(total) {
		return 0, false, fmt.Sprintf("“%s” không phải số tròn. Bác gõ số nguyên.", clip(text))
	}
	if total > 1e15 {
		return 0, false, fmt.Sprintf("“%s” lớn quá.", clip(text))
	}
	return int64(total), unit, ""
}

// literal reads a digit group: "5.000.000" and "5,000,000" are thousands; "2,5" and "1.5"
// are decimals, allowed only in money before a unit (checked by the caller's result).
func literal(t string, money bool) (float64, bool, string) {
	if !strings.ContainsAny(t, ".,") {
		v, err := strconv.ParseFloat(t, 64)
		if err != nil || len(t) > 15 {
			return 0, false, fmt.Sprintf("“%s” dài quá.", clip(t))
		}
		return v, len(t) == 1, ""
	}
	groups := strings.FieldsFunc(t, func(r rune) bool { return r == '.' || r == ',' })
	thousands := len(groups) > 1 && len(groups[0]) <= 3
	for _, g := range groups[1:] {
		if len(g) != 3 {
			thousands = false
		}
	}
	if thousands {
		v, err := strconv.ParseFloat(strings.Join(groups, ""), 64)
		if err != nil || len(strings.Join(groups, "")) > 15 {
			return 0, false, fmt.Sprintf("“%s” dài quá.", clip(t))
		}
		return v, false, ""
	}
	if len(groups) == 2 && money {
		v, err := strconv.ParseFloat(groups[0]+"."+groups[1], 64)
		if err == nil {
			return v, false, ""
		}
	}
	return 0, false, fmt.Sprintf("“%s” không phải số tròn. Bác gõ số nguyên.", clip(t))
}

// FormatInt writes n with Vietnamese thousand separators: 5.000.000 (digests and exports
// write numbers the same way).
func FormatInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// clip shortens what the user typed before quoting it back.
func clip(s string) string {
	s = strings.TrimSpace(s)
	r := []rune(s)
	if len(r) > 30 {
		return string(r[:30]) + "…"
	}
	return s
}

var (
	dateRE    = regexp.MustCompile(`^(?:ngay\s*)?(\d{1,2})\s*(?:/|-|\.|thang)\s*(\d{1,2})(?:\s*(?:/|-|\.|nam)\s*(\d{4}|\d{2}))?$`)
	dayOnlyRE = regexp.MustCompile(`^(?:ngay\s*)?(\d{1,2})$`)
	weekdayRE = regexp.MustCompile(`^(?:hom\s+|ngay\s+)?(thu\s*(2|3|4|5|6|7|hai|ba|tu|nam|sau|bay)|chu\s*nhat|cn)(?:\s+(tuan\s+truoc|tuan\s+roi|tuan\s+nay|vua\s+roi|vua\s+qua|roi))?$`)
	dateTail  = regexp.MustCompile(`\s+(?:vua\s+roi|vua\s+qua|roi|a|nhe|nha)$`)
)

var weekdayNum = map[string]time.Weekday{
	"2": time.Monday, "hai": time.Monday, "3": time.Tuesday, "ba": time.Tuesday,
	"4": time.Wednesday, "tu": time.Wednesday, "5": time.Thursday, "nam": time.Thursday,
	"6": time.Friday, "sau": time.Friday, "7": time.Saturday, "bay": time.Saturday,
}

var weekdayVI = [...]string{"Chủ nhật", "Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy"}

// parseDate reads a past date: "20/11", "20/11/2026", "20-11-26", "ngày 20 tháng 11",
// "hôm nay", "hôm qua", "hôm kia", "thứ bảy tuần trước", "20" (the 20th). A date without a
// year is the most recent such date that is not in the future. now's location is the
// calendar (Asia/Ho_Chi_Minh, ARCHITECTURE.md rule 7).
func parseDate(text string, now time.Time, maxAgeDays int) (time.Time, string) {
	f := strings.Trim(Fold(text), " .!?,")
	f = strings.TrimSpace(dateTail.ReplaceAllString(f, ""))
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	var d time.Time
	switch f {
	case "hom nay", "nay", "bua nay", "ngay hom nay", "homnay":
		d = today
	case "hom qua", "qua", "bua qua", "ngay hom qua", "homqua":
		d = today.AddDate(0, 0, -1)
	case "hom kia", "bua kia":
		d = today.AddDate(0, 0, -2)
	}
	if d.IsZero() {
		if m := weekdayRE.FindStringSubmatch(f); m != nil {
			wd := time.Sunday
			if m[2] != "" {
				wd = weekdayNum[m[2]]
			}
			// ISO weeks start on Monday (rule 7): days since this week's Monday.
			mon := today.AddDate(0, 0, -((int(today.Weekday()) + 6) % 7))
			off := (int(wd) + 6) % 7
			switch strings.Join(strings.Fields(m[3]), " ") {
			case "tuan truoc", "tuan roi":
				d = mon.AddDate(0, 0, off-7)
			case "tuan nay":
				d = mon.AddDate(0, 0, off)
			default: // the most recent such day, today included
				d = today.AddDate(0, 0, -((int(today.Weekday()) - int(wd) + 7) % 7))
			}
		}
	}
	if d.IsZero() {
		var day, month, year int
		if m := dateRE.FindStringSubmatch(f); m != nil {
			day, _ = strconv.Atoi(m[1])
			month, _ = strconv.Atoi(m[2])
			if m[3] != "" {
				year, _ = strconv.Atoi(m[3])
				if len(m[3]) == 2 {
					year += 2000
				}
			}
		} else if m := dayOnlyRE.FindStringSubmatch(f); m != nil {
			day, _ = strconv.Atoi(m[1])
			month = -1
		} else {
			return time.Time{}, fmt.Sprintf("“%s” chưa phải là ngày.", clip(text))
		}
		if month == -1 { // the day of this month, or of last month if still to come
			month = int(today.Month())
			year = today.Year()
			if day > today.Day() {
				prev := today.AddDate(0, 0, -today.Day()) // last day of last month
				month, year = int(prev.Month()), prev.Year()
			}
		}
		if month < 1 || month > 12 || day < 1 || day > 31 {
			return time.Time{}, fmt.Sprintf("Không có ngày %s trên lịch.", clip(text))
		}
		guessYear := year == 0
		if guessYear {
			year = today.Year()
		}
		d = time.Date(year, time.Month(month), day, 0, 0, 0, 0, now.Location())
		if d.Day() != day {
			// 29/02 may exist only in an earlier (leap) year: look back up to 4 years.
			if guessYear {
				for y := year - 1; y >= year-4; y-- {
					if dd := time.Date(y, time.Month(month), day, 0, 0, 0, 0, now.Location()); dd.Day() == day {
						d, year, guessYear = dd, y, false
						break
					}
				}
			}
			if d.Day() != day {
				return time.Time{}, fmt.Sprintf("Không có ngày %d/%d trên lịch.", day, month)
			}
		}
		if guessYear && d.After(today) {
			d = d.AddDate(-1, 0, 0)
		}
		if year < 2000 {
			return time.Time{}, fmt.Sprintf("Năm %d xa quá, Bác gõ lại năm giúp.", year)
		}
	}
	if d.After(today) {
		return time.Time{}, fmt.Sprintf("Ngày %s chưa tới. Bác gõ ngày đã họp.", d.Format("02/01/2006"))
	}
	if maxAgeDays > 0 && today.Sub(d) > time.Duration(maxAgeDays)*24*time.Hour+time.Hour {
		return time.Time{}, fmt.Sprintf("Ngày %s đã cách đây hơn %d ngày.", d.Format("02/01/2006"), maxAgeDays)
	}
	return d, ""
}

// dateDisplay is how a date is echoed back: "Thứ Sáu 20/11/2026".
func dateDisplay(d time.Time) string {
	return weekdayVI[d.Weekday()] + " " + d.Format("02/01/2006")
}

var (
	yesWords = map[string]bool{"co": true, "c": true, "u": true, "uh": true, "um": true, "uk": true, "ok": true,
		"oke": true, "okie": true, "okay": true, "dung": true, "1": true, "roi": true, "da": true, "vang": true,
		"yes": true, "y": true, "duoc": true, "dc": true, "uhm": true}
	noWords = map[string]bool{"khong": true, "ko": true, "k": true, "kh": true, "khg": true, "kg": true,
		"hong": true, "hok": true, "hem": true, "0": true, "2": true, "chua": true, "no": true, "n": true,
		"sai": true, "khum": true, "kp": true}
	unsure = map[string]bool{"biet": true, "nho": true, "hieu": true, "ro": true, "chac": true}
)

// parseYesNo reads có/không in the many ways people type them; ok is false when the answer
// is neither (or unsure: "không biết").
func parseYesNo(text string) (yes, ok bool) {
	ws := trimParticles(words(text))
	if len(ws) == 0 {
		return false, false
	}
	for _, w := range ws[1:] {
		if unsure[w] {
			return false, false
		}
	}
	w := ws[0]
	switch {
	case w == "dong" || w == "chac": // "đồng ý", "chắc chắn"
		ok := len(ws) > 1 && (ws[1] == "y" || ws[1] == "chan")
		return ok, ok
	case yesWords[w]:
		return true, true
	case noWords[w] || near(w, "khong", 5):
		return false, true
	}
	// "đã họp rồi": "đã" folds like the particle "dạ" and was dropped; "rồi" says yes.
	if ws[len(ws)-1] == "roi" {
		return true, true
	}
	return false, false
}

// matcher finds the options a user means in a choice or multi answer, by number, label,
// code or keyword, with or without diacritics and with one typo in longer words.
type matcher struct {
	phrases  []phrase // longest first
	numbers  []int    // display number → option index; index 0 is the none option or -1
	maxWords int
}

type phrase struct {
	words []string
	text  string
	opts  []int // options this phrase names; more than one means ambiguous
}

func newMatcher(opts []Option) *matcher {
	m := &matcher{numbers: []int{-1}}
	byText := map[string]*phrase{}
	add := func(s string, i int) {
		ws := words(s)
		if len(ws) == 0 {
			return
		}
		t := strings.Join(ws, " ")
		p := byText[t]
		if p == nil {
			p = &phrase{words: ws, text: t}
			byText[t] = p
		}
		if !slices.Contains(p.opts, i) {
			p.opts = append(p.opts, i)
		}
	}
	for i, o := range opts {
		if o.None {
			m.numbers[0] = i
		} else {
			m.numbers = append(m.numbers, i)
		}
		add(o.Label, i)
		add(strings.ReplaceAll(o.Code, "-", " "), i)
		for _, k := range o.Keywords {
			add(k, i)
		}
	}
	for _, p := range byText {
		m.phrases = append(m.phrases, *p)
		m.maxWords = max(m.maxWords, len(p.words))
	}
	sort.Slice(m.phrases, func(i, j int) bool {
		a, b := m.phrases[i], m.phrases[j]
		if len(a.words) != len(b.words) {
			return len(a.words) > len(b.words)
		}
		return a.text < b.text
	})
	return m
}

// fillers are words that surround option names in a sentence: "tháng này có làm sức khỏe
// và văn nghệ".
var fillers = map[string]bool{
	"va": true, "voi": true, "cung": true, "co": true, "lam": true, "mang": true, "cac": true,
	"nhung": true, "hoat": true, "dong": true, "thang": true, "nay": true, "clb": true, "minh": true,
	"da": true, "chon": true, "so": true, "muc": true, "la": true, "thi": true, "ca": true,
	"roi": true, "nua": true, "them": true, "con": true, "cau": true, "y": true, "ve": true,
	"tham": true, "gia": true, "to": true, "chuc": true, "hop": true, "cua": true, "doi": true,
}

var (
	allWords  = map[string]bool{"tat ca": true, "ca 8": true, "du 8": true, "ca tam": true, "du ca": true, "tat ca cac mang": true, "du 8 mang": true, "ca 8 mang": true, "all": true}
	noneWords = map[string]bool{"0": true, "khong": true, "khong co": true, "ko": true, "k": true, "khong co gi": true,
		"khong lam gi": true, "khong co hoat dong": true, "khong co hoat dong nao": true, "chua co": true, "ko co": true, "khong mang nao": true}
	rangeRE = regexp.MustCompile(`(\d+)\s*(?:-|–|den|toi)\s*(\d+)`)
)

// matchResult is what a choice or multi answer named.
type matchResult struct {
	opts      []int  // chosen option indices, in option order
	ambiguous []int  // options a word could mean, when it could mean several
	word      string // the ambiguous or unknown words
	problem   string
}

// match reads text as a list of options. all is true for "tất cả".
func (m *matcher) match(opts []Option, text string, multi bool) matchResult {
	f := Fold(text)
	ws := trimParticles(words(text))
	joined := strings.Join(ws, " ")
	if multi && allWords[joined] {
		var r matchResult
		for _, i := range m.numbers[1:] {
			r.opts = append(r.opts, i)
		}
		return r
	}
	if noneWords[joined] && m.numbers[0] >= 0 {
		return matchResult{opts: []int{m.numbers[0]}}
	}
	// Expand ranges "1-4" and "1 đến 4" before words() drops the dash.
	f = rangeRE.ReplaceAllStringFunc(f, func(s string) string {
		mm := rangeRE.FindStringSubmatch(s)
		a, _ := strconv.Atoi(mm[1])
		b, _ := strconv.Atoi(mm[2])
		if a > b || b-a > 50 {
			return s
		}
		var parts []string
		for i := a; i <= b; i++ {
			parts = append(parts, strconv.Itoa(i))
		}
		return strings.Join(parts, " ")
	})
	// Particles are not trimmed here: "chăm sóc tại nhà" ends in "nha", a word that is
	// also a particle ("nha" = "nhé"). Unmatched particles are skipped as fillers below.
	ws = words(f)
	chosen := map[int]bool{}
	var unknown []string
	var bad []string
	flushUnknown := func(chunk []string) {
		if len(chunk) > 0 {
			unknown = append(unknown, strings.Join(chunk, " "))
		}
	}
	var chunk []string
	for i := 0; i < len(ws); {
		w := ws[i]
		if n, err := strconv.Atoi(w); err == nil {
			flushUnknown(chunk)
			chunk = nil
			idx := m.byNumber(n)
			// "135" typed without spaces when there are at most 9 options.
			if idx < 0 && multi && len(m.numbers) <= 10 && len(w) > 1 {
				var split []int
				for _, c := range w {
					if j := m.byNumber(int(c - '0')); j >= 0 && c != '0' {
						split = append(split, j)
					}
				}
				if len(split) == len(w) {
					for _, j := range split {
						chosen[j] = true
					}
					i++
					continue
				}
			}
			if idx < 0 {
				bad = append(bad, w)
			} else {
				chosen[idx] = true
			}
			i++
			continue
		}
		if p, n := m.longest(ws[i:]); p != nil {
			flushUnknown(chunk)
			chunk = nil
			if len(p.opts) > 1 {
				return matchResult{ambiguous: p.opts, word: p.text}
			}
			chosen[p.opts[0]] = true
			i += n
			continue
		}
		if fillers[w] || particles[w] {
			flushUnknown(chunk)
			chunk = nil
			i++
			continue
		}
		chunk = append(chunk, w)
		i++
	}
	flushUnknown(chunk)
	// Unknown words get a second chance with one typo allowed ("suc khoee", "van nge").
	// Words that still mean nothing are ignored once something was recognised: people
	// answer in sentences ("văn nghệ và thăm ốm người bệnh"), and the bot echoes back what
	// it understood before the summary, so nothing is stored unseen.
	var lost string
	for _, u := range unknown {
		p := m.fuzzy(u)
		if p == nil {
			if lost == "" {
				lost = u
			}
			continue
		}
		if len(p.opts) > 1 {
			return matchResult{ambiguous: p.opts, word: u}
		}
		chosen[p.opts[0]] = true
	}
	if len(bad) > 0 {
		return matchResult{word: strings.Join(bad, ", "), problem: "number"}
	}
	var r matchResult
	for i := range opts {
		if chosen[i] {
			r.opts = append(r.opts, i)
		}
	}
	if len(r.opts) == 0 {
		if lost == "" {
			lost = strings.TrimSpace(text)
		}
		return matchResult{word: lost, problem: "unknown"}
	}
	return r
}

// byNumber is the option shown with number n, or -1.
func (m *matcher) byNumber(n int) int {
	if n < 0 || n >= len(m.numbers) {
		return -1
	}
	return m.numbers[n]
}

// longest is the longest phrase that ws starts with, matched word for word.
func (m *matcher) longest(ws []string) (*phrase, int) {
	for i := range m.phrases {
		p := &m.phrases[i]
		if len(p.words) <= len(ws) && slices.Equal(p.words, ws[:len(p.words)]) {
			return p, len(p.words)
		}
	}
	return nil, 0
}

// fuzzy is the phrase within one typo of s (phrases of 5+ letters only), or nil. A typo that
// fits two different phrases equally well is no match.
func (m *matcher) fuzzy(s string) *phrase {
	var found *phrase
	for i := range m.phrases {
		p := &m.phrases[i]
		if near(s, p.text, 5) {
			if found != nil && !slices.Equal(found.opts, p.opts) {
				return nil
			}
			found = p
		}
	}
	return found
}

// number of the option at index i as shown to the user (0 for the none option).
func (m *matcher) number(i int) int {
	return slices.Index(m.numbers, i)
}
