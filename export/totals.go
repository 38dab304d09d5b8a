package export

import (
	"sort"

	"clubbot/club"
	"clubbot/flows"
)

// AttendanceStep is the stable name of the answer summed as attendance (ISHC.md §7.1).
const AttendanceStep = "attendance_total"

// Totals sums reports by province and commune. It keeps one small record per commune and
// the set of club codes seen, never the reports: memory grows with the registry, not with
// the number of reports exported.
type Totals struct {
	folded    map[string]string // commune as written → folded, so each spelling is folded once
	communes  map[communeKey]*tally
	provinces map[string]*tally
	all       tally
}

type communeKey struct{ province, folded string }

type tally struct {
	name       string // commune as first spelled
	reports    int
	held       int
	attendance int64
	clubs      map[string]struct{}
}

func (t *tally) add(r *club.Report) {
	t.reports++
	if r.Held {
		t.held++
	}
	if a, ok := r.Answers[AttendanceStep]; ok && !a.Skipped && a.Number != nil {
		t.attendance += *a.Number
	}
	if t.clubs == nil {
		t.clubs = map[string]struct{}{}
	}
	t.clubs[r.ClubCode] = struct{}{}
}

// NewTotals returns empty totals.
func NewTotals() *Totals {
	return &Totals{folded: map[string]string{}, communes: map[communeKey]*tally{}, provinces: map[string]*tally{}}
}

// Add counts one report. Communes that differ only in case or diacritics are one.
func (t *Totals) Add(r *club.Report) {
	f, ok := t.folded[r.Commune]
	if !ok {
		f = flows.Fold(r.Commune)
		t.folded[r.Commune] = f
	}
	k := communeKey{r.Province, f}
	c := t.communes[k]
	if c == nil {
		c = &tally{name: r.Commune}
		t.communes[k] = c
	}
	c.add(r)
	p := t.provinces[r.Province]
	if p == nil {
		p = &tally{}
		t.provinces[r.Province] = p
	}
	p.add(r)
	t.all.add(r)
}

// Row levels of TotalRow.
const (
	LevelCommune  = 0
	LevelProvince = 1
	LevelAll      = 2
)

// TotalRow is one line of the totals: a commune, a province's subtotal or the grand total.
type TotalRow struct {
	Level      int
	Province   string // name
	Commune    string // empty on subtotal and total rows
	Reports    int    // reports received
	Held       int    // reports of a meeting held
	Clubs      int    // distinct clubs that reported
	Attendance int64  // sum of attendance_total
}

// Rows returns, for each province in the order of provinces.csv, its communes sorted by
// name and then its subtotal; the grand total comes last.
func (t *Totals) Rows(p *club.Provinces) []TotalRow {
	rank := map[string]int{}
	for i, pr := range p.All() {
		rank[pr.Code] = i
	}
	codes := make([]string, 0, len(t.provinces))
	for code := range t.provinces {
		codes = append(codes, code)
	}
	sort.Slice(codes, func(i, j int) bool {
		ri, oki := rank[codes[i]]
		rj, okj := rank[codes[j]]
		if oki != okj {
			return oki // known provinces first
		}
		if ri != rj {
			return ri < rj
		}
		return codes[i] < codes[j]
	})
	byProvince := map[string][]communeKey{}
	for k := range t.communes {
		byProvince[k.province] = append(byProvince[k.province], k)
	}
	var out []TotalRow
	row := func(level int, province string, tl *tally) TotalRow {
		return TotalRow{Level: level, Province: province, Reports: tl.reports, Held: tl.held,
			Clubs: len(tl.clubs), Attendance: tl.attendance}
	}
	for _, code := range codes {
		name := p.Name(code)
		ks := byProvince[code]
		sort.Slice(ks, func(i, j int) bool { return ks[i].folded < ks[j].folded })
		for _, k := range ks {
			r := row(LevelCommune, name, t.communes[k])
			r.Commune = t.communes[k].name
			out = append(out, r)
		}
		out = append(out, row(LevelProvince, name, t.provinces[code]))
	}
	return append(out, row(LevelAll, "", &t.all))
}
