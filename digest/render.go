package digest

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"text/template"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"clubbot/flows"
)

// MaxMessage is the longest text Zalo accepts in one message (API.md §4.2). Length counts
// UTF-16 code units (see Length), never fewer than Zalo's count however it counts.
const MaxMessage = 2000

// Audience is who a digest is rendered for: it selects the closing section.
type Audience int

// Audiences.
const (
	Officer Audience = iota // 1:1 to a province officer or admin; may end with buttons
	Group                   // the province's Zalo group: no buttons (API.md §6.1)
)

// requiredTemplates are the templates a digest wording file must define.
var requiredTemplates = []string{"digest", "footer_officer", "footer_group",
	"chart_title", "chart_subtitle", "chart_note", "chart_caption"}

// Templates is a parsed digest wording (templates/digest/*.tmpl or an admin's edit).
type Templates struct{ t *template.Template }

var funcs = template.FuncMap{
	"num":  Num,
	"d":    func(d Day) string { return d.Date().Format("02/01") },
	"dy":   func(d Day) string { return d.Date().Format("02/01/2006") },
	"m":    func(d Day) string { return d.Date().Format("01/2006") },
	"when": func(t time.Time) string { return t.Format("15:04 ngày 02/01/2006") },
	"join": strings.Join,
	"inc":  func(i int) int { return i + 1 },
	"sub":  func(a, b int) int { return a - b },
}

// ParseTemplates parses the digest wording files (name → text) and checks them: every
// required template is defined, and each renders a full and an empty sample digest
// without error, so a mistake is found when the wording is loaded, with its line, not
// on Monday morning.
func ParseTemplates(files map[string][]byte) (*Templates, error) {
	root := template.New("digest").Funcs(funcs).Option("missingkey=error")
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, err := root.New(n).Parse(string(files[n])); err != nil {
			return nil, fmt.Errorf("digest templates: %w", err)
		}
	}
	var errs []error
	for _, n := range requiredTemplates {
		if root.Lookup(n) == nil || root.Lookup(n).Tree == nil {
			errs = append(errs, fmt.Errorf("digest templates: %q is not defined", n))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	t := &Templates{t: root}
	for _, d := range sampleDigests() {
		for _, n := range requiredTemplates {
			if _, err := t.exec(n, d); err != nil {
				return nil, fmt.Errorf("digest templates: %w", err)
			}
		}
	}
	return t, nil
}

// MustParseTemplates is ParseTemplates for embedded wording known to be valid.
func MustParseTemplates(files map[string][]byte) *Templates {
	t, err := ParseTemplates(files)
	if err != nil {
		panic(err)
	}
	return t
}

func (t *Templates) exec(name string, d *Digest) (string, error) {
	var b bytes.Buffer
	if err := t.t.ExecuteTemplate(&b, name, d); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Rendered is a digest's text for one audience.
type Rendered struct {
	Sections []string // the body, one entry per section
	Footer   string   // the closing section (footer_officer or footer_group)
}

// Messages packs the whole text, footer included, into messages of at most MaxMessage.
func (r Rendered) Messages() []string {
	s := r.Sections
	if r.Footer != "" {
		s = append(s[:len(s):len(s)], r.Footer)
	}
	return Pack(s, MaxMessage)
}

// Render fills the wording with d for an audience.
func (t *Templates) Render(d *Digest, a Audience) (Rendered, error) {
	body, err := t.exec("digest", d)
	if err != nil {
		return Rendered{}, fmt.Errorf("render digest %s %s: %w", d.Scope, d.Week, err)
	}
	footerName := "footer_officer"
	if a == Group {
		footerName = "footer_group"
	}
	footer, err := t.exec(footerName, d)
	if err != nil {
		return Rendered{}, fmt.Errorf("render digest %s %s: %w", d.Scope, d.Week, err)
	}
	return Rendered{Sections: Sections(body), Footer: strings.Join(Sections(footer), "\n")}, nil
}

// ChartText is the wording of the chart.
type ChartText struct {
	Title, Subtitle string
	Notes           []string
	Caption         string
}

// ChartText fills the chart's wording with d.
func (t *Templates) ChartText(d *Digest) (ChartText, error) {
	var out ChartText
	for _, f := range []struct {
		name string
		dst  *string
	}{{"chart_title", &out.Title}, {"chart_subtitle", &out.Subtitle}, {"chart_caption", &out.Caption}} {
		s, err := t.exec(f.name, d)
		if err != nil {
			return out, fmt.Errorf("render chart %s %s: %w", d.Scope, d.Week, err)
		}
		*f.dst = strings.TrimSpace(s)
	}
	notes, err := t.exec("chart_note", d)
	if err != nil {
		return out, fmt.Errorf("render chart %s %s: %w", d.Scope, d.Week, err)
	}
	for _, l := range strings.Split(notes, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out.Notes = append(out.Notes, l)
		}
	}
	return out, nil
}

var blankRuns = regexp.MustCompile(`\n[ \t]*(\n[ \t]*)+`)

// Sections cuts rendered text at empty lines, dropping trailing spaces and empty
// sections (an optional section that rendered nothing).
func Sections(text string) []string {
	lines := strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRightFunc(l, unicode.IsSpace)
	}
	text = blankRuns.ReplaceAllString(strings.Join(lines, "\n"), "\n\n")
	var out []string
	for _, s := range strings.Split(text, "\n\n") {
		if s = strings.Trim(s, "\n"); strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// Length is the length Zalo's 2,000-character limit is checked against here: UTF-16 code
// units, equal to the number of characters for Vietnamese text and never lower for
// emoji, whichever way Zalo counts (API.md §4.2).
func Length(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// Pack joins sections (with an empty line between them) into as few messages of at most
// max as it can, in order, cutting only between sections. A section longer than max is
// cut between lines, and a line longer than max between words.
func Pack(sections []string, max int) []string {
	var out []string
	cur, curN := "", 0
	flush := func() {
		if cur != "" {
			out = append(out, cur)
		}
		cur, curN = "", 0
	}
	for _, s := range sections {
		n := Length(s)
		if n > max {
			// An overlong section becomes messages of its own, cut between lines.
			flush()
			out = append(out, splitSection(s, max)...)
			continue
		}
		if cur != "" && curN+2+n > max {
			flush()
		}
		if cur == "" {
			cur, curN = s, n
		} else {
			cur, curN = cur+"\n\n"+s, curN+2+n
		}
	}
	flush()
	return out
}

// splitSection cuts a section longer than max into pieces of whole lines.
func splitSection(s string, max int) []string {
	var out []string
	cur, curN := "", 0
	for _, line := range strings.Split(s, "\n") {
		for _, l := range splitLine(line, max) {
			n := Length(l)
			if cur != "" && curN+1+n > max {
				out = append(out, cur)
				cur, curN = "", 0
			}
			if cur == "" {
				cur, curN = l, n
			} else {
				cur, curN = cur+"\n"+l, curN+1+n
			}
		}
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}

// splitLine cuts a line longer than max at the last space that fits, or between
// characters when a word alone is too long.
func splitLine(line string, max int) []string {
	var out []string
	for Length(line) > max {
		cut, n, lastSpace := 0, 0, -1
		for i, r := range line {
			if n+utf16.RuneLen(r) > max {
				break
			}
			n += utf16.RuneLen(r)
			cut = i + utf8.RuneLen(r)
			if r == ' ' {
				lastSpace = i
			}
		}
		if lastSpace > 0 {
			cut = lastSpace
		}
		out = append(out, strings.TrimRight(line[:cut], " "))
		line = strings.TrimLeft(line[cut:], " ")
	}
	return append(out, line)
}

// Num writes an integer the Vietnamese way: 1.234.567.
func Num(n int) string { return flows.FormatInt(int64(n)) }

// sampleDigests are the digests a wording is tried on when it is loaded: one with every
// optional part filled, one national, one of a unit without clubs.
func sampleDigests() []*Digest {
	w := Week{2025, 46}
	asOf := time.Date(2025, 11, 16, 23, 59, 59, 0, time.UTC)
	line := ClubLine{Code: "X", Name: "CLB Mẫu", Place: "Xã Mẫu", Last: DayOf(2025, 8, 20), HasLast: true}
	full := &Digest{Scope: "ninh-binh", Name: "Ninh Bình", Former: []string{"Ninh Bình", "Hà Nam", "Nam Định"},
		MergeNote: true, Week: w, WeekFrom: w.FirstDay(), WeekTo: w.LastDay(), AsOf: asOf, Partial: true,
		Month: DayOf(2025, 11, 1), PrevMonth: DayOf(2025, 10, 1), AreasFrom: DayOf(2025, 9, 1), Today: DayOf(2025, 11, 16),
		Year: 2025, OnTimeDays: OnTimeDays, StoppedMonths: StoppedMonths, HistoryMonths: HistoryMonths,
		QualityTarget: QualityTarget, Clubs: 10, Active: 8,
		This: MonthStats{Expected: 10, Reported: 5, Pct: 50, OnTime: 4, Late: 1, NoMeeting: 1, Meetings: 4,
			Attendance: 160, Avg: 40, WomenPct: 60, OlderPct: 70, HasWomen: true, HasOlder: true},
		Prev:      MonthStats{Expected: 10, Reported: 9, Pct: 90, Meetings: 9, Attendance: 300, Avg: 33},
		HasChange: true, AvgChange: -3, AllAreas: 2, AllAreasPct: 20, Fewest: []string{"Nguồn lực"},
		Stopped: []ClubLine{line, {Name: "CLB Hai", Place: "Xã Hai"}}, StoppedTotal: 9, Silent: 1,
		NewClubs: 2, NewThisMonth: 1, NewTarget: 30, NewPct: 6,
		Best: &Example{ClubLine: line, Value: 60}, MostAreas: &Example{ClubLine: line, Value: 8}, MostAreasTie: 1,
		MostImproved: &Example{ClubLine: line, Value: 60, Prev: 40, Delta: 20},
		Units:        []UnitStat{{Name: "Xã Mẫu", Expected: 3, Reported: 1, Missing: 2, Pct: 33}}, UnitsTotal: 4, UnitsMissing: 3,
	}
	for i, a := range Areas {
		full.Areas[i] = AreaStat{Code: a.Code, Label: a.Label, Clubs: i, Pct: i * 10}
	}
	national := *full
	national.Scope, national.Name, national.National, national.Former = National, "Toàn quốc", true, nil
	empty := &Digest{Scope: "lai-chau", Name: "Lai Châu", Week: w, WeekFrom: w.FirstDay(), WeekTo: w.LastDay(),
		AsOf: asOf, Month: DayOf(2025, 11, 1), PrevMonth: DayOf(2025, 10, 1), AreasFrom: DayOf(2025, 9, 1),
		Today: DayOf(2025, 11, 16), Year: 2025}
	return []*Digest{full, &national, empty}
}
