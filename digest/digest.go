// Package digest builds the weekly digest of a province (or of the whole country) from its
// clubs and their meeting reports: reporting completeness, attendance, the 8 activity
// areas, clubs that stopped meeting, new clubs and good examples (issue 6, ISHC.md §6–§7).
// It renders the digest with text/template into phone-sized messages and draws a chart as
// a PNG. It is pure: no I/O, no clock; the caller passes the data and the time.
package digest

import (
	"cmp"
	"math"
	"slices"
	"time"

	"clubbot/club"
	"clubbot/flows"
)

// Rules of the digest. They are constants rather than settings until the provinces ask
// for something else; docs/digest.md explains each.
const (
	// OnTimeDays: a report is on time when it is confirmed at most this many days after
	// the meeting (a week: chairs report after the monthly meeting, ISHC.md §4).
	OnTimeDays = 7
	// StoppedMonths: a club that has reported before but held no meeting for this many
	// months is listed as having stopped meeting. Clubs meet monthly (ISHC.md §4), so
	// two missed meetings in a row is the signal, not one.
	StoppedMonths = 2
	// AreaMonths: activity-area coverage is judged over this many calendar months, the
	// current one included: not every area has activity every month, so a quarter is the
	// fair window (ISHC.md §7.1 notes).
	AreaMonths = 3
	// HistoryMonths: how far back reports are read (calendar months, the current one
	// included). A club with no report in that time is counted as silent rather than
	// listed by name; it bounds the scan of the report store.
	HistoryMonths = 6
	// QualityTarget: Decision 1336 wants at least 70% of clubs doing all activities,
	// read in practice as all 8 areas (ISHC.md §6).
	QualityTarget = 70
	// DefaultNewClubTarget is a province's yearly target of new clubs when none is
	// configured: Decision 1648 asks for at least 6,000 new clubs in 2025–2030, about
	// 1,000 a year, shared over 34 provinces (ISHC.md §8.1). Provincial plans differ;
	// Options.NewClubTarget overrides it.
	DefaultNewClubTarget = 30
	// MaxListed bounds the clubs named in a list (stopped clubs) and the communes shown:
	// a phone screen, not a spreadsheet; the rest is a count.
	MaxListed = 5
)

// MergeDay is the day the 34 provincial units came into force (ISHC.md §8.2). A digest of
// a merged province whose figures reach back before it says they are summed over the
// former units (ISHC.md §8.4).
var MergeDay = DayOf(2025, time.July, 1)

// noDay marks "no date" in per-club accumulators.
const noDay Day = math.MinInt32

// Report is the part of a meeting report a digest reads (see DecodeReport and ReportOf).
type Report struct {
	ID         uint64
	Club       string  // club code
	Meeting    Day     // the meeting's date; for "no meeting" the day the report was given
	Created    int64   // when the report was confirmed, Unix seconds
	Held       bool    // a meeting was held
	Attendance int32   // attendance_total; -1 when not answered
	Women      int32   // attendance_women; -1 when not answered
	Older      int32   // attendance_older; -1 when not answered
	Areas      AreaSet // areas_active
}

// ReportOf converts a stored report.
func ReportOf(r club.Report) Report {
	out := Report{ID: r.ID, Club: r.ClubCode, Created: r.CreatedAt.Unix(), Held: r.Held,
		Attendance: number(r.Answers["attendance_total"]), Women: number(r.Answers["attendance_women"]),
		Older: number(r.Answers["attendance_older"]), Areas: AreaSetOf(r.Answers["areas_active"].Choices)}
	out.Meeting, _ = ParseDay(r.MeetingDate)
	return out
}

func number(a flows.Answer) int32 {
	if a.Number == nil || a.Skipped || *a.Number < 0 || *a.Number > math.MaxInt32 {
		return -1
	}
	return int32(*a.Number)
}

// Data is what a digest is built from: clubs and their reports. Reports of clubs not in
// Clubs are ignored.
type Data struct {
	Clubs   []club.Club
	Reports []Report
}

// National is the scope of the national digest (admins without a province).
const National = ""

// Options configure Build.
type Options struct {
	Provinces *club.Provinces // resolves club provinces, including pre-2025 names
	Loc       *time.Location  // the calendar (digest.timezone); UTC when nil
	// NewClubTarget returns a province's yearly target of new clubs; nil means
	// DefaultNewClubTarget for each province (the national target is their sum).
	NewClubTarget func(province string) int
}

// Digest is one scope's digest for one week: the figures the templates show.
type Digest struct {
	Scope     string   // province code; "" for the national digest
	Name      string   // "Ninh Bình", "Thành phố Hà Nội", "Toàn quốc"
	National  bool     // the national digest
	Former    []string // the former provinces the unit was formed from, when several
	MergeNote bool     // figures reach back before 1 July 2025 and are summed over Former
	Week      Week
	WeekFrom  Day       // Monday
	WeekTo    Day       // Sunday
	AsOf      time.Time // data up to this instant, in the digest's time zone
	Partial   bool      // AsOf is before the end of the week (a digest asked for mid-week)
	Month     Day       // first day of the month to date
	PrevMonth Day       // first day of the month before
	AreasFrom Day       // first day of the activity-area window
	Today     Day       // the date of AsOf
	Year      int       // the year of AsOf, for new clubs

	// The rules, for the wording (see the constants).
	OnTimeDays, StoppedMonths, HistoryMonths, QualityTarget int

	Clubs       int        // clubs of the unit (founded by AsOf)
	Active      int        // clubs that held a meeting in the last StoppedMonths months
	This        MonthStats // the month to date
	Prev        MonthStats // the whole month before
	WeekReports int        // reports confirmed during the week (up to AsOf)
	// AvgChange is This.AvgAttendance − Prev.AvgAttendance; HasChange when both months
	// have meetings with attendance.
	AvgChange int
	HasChange bool

	Areas       [8]AreaStat // clubs with activity in each area over the area window
	AllAreas    int         // clubs covering all 8 areas over the window
	AllAreasPct int
	Fewest      []string // labels of the least covered area(s), when some clubs are active

	Stopped      []ClubLine // clubs that stopped meeting, longest silence first, at most MaxListed
	StoppedTotal int
	Silent       int // clubs without any report in the last HistoryMonths months

	NewClubs     int // clubs founded this year (founded_on)
	NewThisMonth int
	NewTarget    int // yearly target
	NewPct       int

	Best         *Example // most people at this month's meeting
	MostAreas    *Example // most areas over the area window
	MostAreasTie int      // other clubs with as many areas
	MostImproved *Example // largest rise in attendance against last month

	// Units are the communes with clubs still to report, most missing first, at most
	// MaxListed; nationally every province with clubs, lowest completeness first.
	Units        []UnitStat
	UnitsTotal   int // units with clubs
	UnitsMissing int // units with clubs still to report
}

// MonthStats are one month's reporting and attendance figures.
type MonthStats struct {
	Expected   int // clubs expected to report (founded by the month's end or AsOf)
	Reported   int // clubs with a report for the month
	Pct        int // Reported/Expected, rounded down so it never shows 100% with one missing
	OnTime     int // reported at most OnTimeDays after the meeting
	Late       int
	NoMeeting  int // reported that no meeting was held
	Meetings   int // meetings with an attendance figure
	Attendance int // people at those meetings
	Avg        int // Attendance/Meetings, rounded
	WomenPct   int // share of women where the chair gave the figure
	OlderPct   int // share of people aged 60+ where given
	HasWomen   bool
	HasOlder   bool
}

// AreaStat is the coverage of one activity area.
type AreaStat struct {
	Code  string
	Label string
	Clubs int
	Pct   int // of all clubs
}

// ClubLine names a club in a list.
type ClubLine struct {
	Code    string
	Name    string
	Place   string // commune (national digest: province)
	Last    Day    // last meeting held, when HasLast
	HasLast bool
}

// Example is a good example to share between clubs.
type Example struct {
	ClubLine
	Value int // attendance, or number of areas
	Prev  int // last month's attendance (most improved)
	Delta int
}

// UnitStat is the reporting of one commune (or province, nationally) this month.
type UnitStat struct {
	Name     string
	Expected int
	Reported int
	Missing  int
	Pct      int
	key      string // Name folded (case and diacritics aside), for grouping and sorting
}

// pct returns a/b in whole percent, rounded down; 0 when b is 0.
func pct(a, b int) int {
	if b <= 0 {
		return 0
	}
	return a * 100 / b
}

// clubAcc gathers one club's reports in one pass over all reports.
type clubAcc struct {
	scope    string // resolved province code ("" unknown)
	founded  Day    // noDay when unknown: the club is taken to exist
	cur      int32  // index of the latest report of the month to date, -1 none
	prev     int32  // latest report of the month before
	areas    AreaSet
	lastHeld Day
	history  bool // any report in the history window
	week     int  // reports confirmed during the week
}

// Build returns the digests of the given scopes (province codes, or National) for week w
// with data up to asOf (normally the end of the week; earlier for a digest asked for
// mid-week). A nil scopes builds every province and the national digest. All digests
// come from one pass over the reports.
func Build(d Data, w Week, asOf time.Time, scopes []string, o Options) map[string]*Digest {
	loc := o.Loc
	if loc == nil {
		loc = time.UTC
	}
	if asOf.IsZero() {
		asOf = w.End(loc)
	}
	asOf = AsOf(w, asOf, loc)
	today := DayIn(asOf, loc)
	monthStart := today.FirstOfMonth()
	prevStart := monthStart.AddMonths(-1)
	areasFrom := monthStart.AddMonths(-(AreaMonths - 1))
	historyFrom := HistoryStart(asOf, loc)
	activeFrom := today.AddMonths(-StoppedMonths) + 1 // a meeting after this day counts as recent
	asOfUnix := asOf.Unix()
	weekStart := w.Start(loc).Unix()

	if scopes == nil {
		scopes = append(scopes, National)
		for _, p := range o.Provinces.All() {
			scopes = append(scopes, p.Code)
		}
	}
	out := make(map[string]*Digest, len(scopes))
	wantNational := false
	for _, s := range scopes {
		out[s] = newDigest(s, w, asOf, today, o, loc)
		if s == National {
			wantNational = true
		}
	}

	// Clubs: resolve provinces (records may carry a pre-2025 name, ISHC.md §8.4) and
	// keep those that existed at asOf and belong to a wanted scope.
	accs := make([]clubAcc, 0, len(d.Clubs))
	clubs := make([]*club.Club, 0, len(d.Clubs))
	index := make(map[string]int32, len(d.Clubs))
	resolved := map[string]string{}
	for i := range d.Clubs {
		c := &d.Clubs[i]
		scope, ok := resolved[c.Province]
		if !ok {
			if p, found := o.Provinces.Lookup(c.Province); found {
				scope = p.Code
			}
			resolved[c.Province] = scope
		}
		founded, known := ParseDay(c.FoundedOn)
		if !known {
			founded = noDay
		} else if founded > today {
			continue // founded after the digest's date
		}
		if _, ok := out[scope]; !ok && !wantNational {
			continue
		}
		index[c.Code] = int32(len(accs))
		accs = append(accs, clubAcc{scope: scope, founded: founded, cur: -1, prev: -1, lastHeld: noDay})
		clubs = append(clubs, c)
	}

	// One pass over the reports.
	newer := func(a, b *Report) bool { return a.ID > b.ID || (a.ID == b.ID && a.Created > b.Created) }
	for ri := range d.Reports {
		r := &d.Reports[ri]
		if r.Created > asOfUnix || r.Meeting > today || r.Meeting < historyFrom {
			continue
		}
		ci, ok := index[r.Club]
		if !ok {
			continue
		}
		a := &accs[ci]
		a.history = true
		if r.Held {
			a.lastHeld = max(a.lastHeld, r.Meeting)
			if r.Meeting >= areasFrom {
				a.areas |= r.Areas
			}
		}
		switch {
		case r.Meeting >= monthStart:
			if a.cur < 0 || newer(r, &d.Reports[a.cur]) {
				a.cur = int32(ri)
			}
		case r.Meeting >= prevStart:
			if a.prev < 0 || newer(r, &d.Reports[a.prev]) {
				a.prev = int32(ri)
			}
		}
		if r.Created >= weekStart {
			a.week++
		}
	}

	// Aggregate per scope; every club also counts nationally.
	folds := map[string]string{}
	aggs := make(map[string]*aggregate, len(out))
	for s := range out {
		aggs[s] = &aggregate{units: map[string]*UnitStat{}, fold: folds}
	}
	prevEnd := monthStart - 1
	for ci := range accs {
		a, c := &accs[ci], clubs[ci]
		if g, ok := aggs[a.scope]; ok && a.scope != National {
			g.add(out[a.scope], a, c, d.Reports, o, loc, prevEnd, activeFrom)
		}
		if g, ok := aggs[National]; ok {
			g.add(out[National], a, c, d.Reports, o, loc, prevEnd, activeFrom)
		}
	}
	for s, dg := range out {
		aggs[s].finish(dg)
	}
	return out
}

func newDigest(scope string, w Week, asOf time.Time, today Day, o Options, loc *time.Location) *Digest {
	monthStart := today.FirstOfMonth()
	dg := &Digest{Scope: scope, Week: w, WeekFrom: w.FirstDay(), WeekTo: w.LastDay(), AsOf: asOf,
		Partial: asOf.Before(w.End(loc).Add(-time.Second)), Month: monthStart, PrevMonth: monthStart.AddMonths(-1),
		AreasFrom: monthStart.AddMonths(-(AreaMonths - 1)), Today: today, Year: asOf.Year(),
		OnTimeDays: OnTimeDays, StoppedMonths: StoppedMonths, HistoryMonths: HistoryMonths, QualityTarget: QualityTarget}
	for i, a := range Areas {
		dg.Areas[i] = AreaStat{Code: a.Code, Label: a.Label}
	}
	target := o.NewClubTarget
	if target == nil {
		target = func(string) int { return DefaultNewClubTarget }
	}
	if scope == National {
		dg.Name, dg.National = "Toàn quốc", true
		for _, p := range o.Provinces.All() {
			dg.NewTarget += target(p.Code)
		}
		return dg
	}
	dg.Name = scope
	if p, ok := o.Provinces.Lookup(scope); ok {
		dg.Name = p.Name
		if len(p.Former) > 1 {
			dg.Former = p.Former
			dg.MergeNote = dg.AreasFrom < MergeDay && today >= MergeDay
		}
	}
	dg.NewTarget = target(scope)
	return dg
}

// aggregate sums the clubs of one scope.
type aggregate struct {
	stopped               []ClubLine
	women, womenBase      [2]int // this month, last month
	older, olderBase      [2]int
	units                 map[string]*UnitStat
	unitOrder             []string
	fold                  map[string]string // place → folded name, shared: flows.Fold is slow for 20,000 clubs
	best, most, improved  *Example
	mostTie               int
	bestAreas, mostAttend int
}

func (g *aggregate) add(dg *Digest, a *clubAcc, c *club.Club, reports []Report, o Options, loc *time.Location,
	prevEnd, activeFrom Day) {
	line := ClubLine{Code: c.Code, Name: c.Name, Place: c.Commune, Last: a.lastHeld, HasLast: a.lastHeld != noDay}
	if dg.National {
		line.Place = o.Provinces.Name(a.scope)
		if a.scope == "" {
			line.Place = c.Province
		}
	}
	dg.Clubs++
	dg.WeekReports += a.week
	if a.lastHeld >= activeFrom {
		dg.Active++
	} else if a.history && (a.founded == noDay || a.founded < activeFrom) {
		g.stopped = append(g.stopped, line)
	}
	if !a.history {
		dg.Silent++
	}
	if a.founded != noDay {
		if y, m, _ := a.founded.Date().Date(); y == dg.Year {
			dg.NewClubs++
			if m == dg.AsOf.Month() {
				dg.NewThisMonth++
			}
		}
	}

	// Reporting by month.
	months := [2]struct {
		st  *MonthStats
		idx int32
		ok  bool
	}{{&dg.This, a.cur, true}, {&dg.Prev, a.prev, a.founded == noDay || a.founded <= prevEnd}}
	var cur, prev *Report
	for k, m := range months {
		if !m.ok {
			continue
		}
		m.st.Expected++
		if m.idx < 0 {
			continue
		}
		r := &reports[m.idx]
		if k == 0 {
			cur = r
		} else {
			prev = r
		}
		m.st.Reported++
		if DayIn(time.Unix(r.Created, 0), loc)-r.Meeting <= OnTimeDays {
			m.st.OnTime++
		} else {
			m.st.Late++
		}
		if !r.Held {
			m.st.NoMeeting++
			continue
		}
		if r.Attendance >= 0 {
			m.st.Meetings++
			m.st.Attendance += int(r.Attendance)
			if r.Women >= 0 && r.Women <= r.Attendance {
				g.women[k] += int(r.Women)
				g.womenBase[k] += int(r.Attendance)
			}
			if r.Older >= 0 && r.Older <= r.Attendance {
				g.older[k] += int(r.Older)
				g.olderBase[k] += int(r.Attendance)
			}
		}
	}

	// Units: communes by name as people write them (case and diacritics aside).
	unit, ok := g.fold[line.Place]
	if !ok {
		unit = flows.Fold(line.Place)
		g.fold[line.Place] = unit
	}
	u, ok := g.units[unit]
	if !ok {
		u = &UnitStat{Name: line.Place, key: unit}
		g.units[unit] = u
		g.unitOrder = append(g.unitOrder, unit)
	}
	u.Expected++
	if cur != nil {
		u.Reported++
	}

	// Areas.
	for i := range Areas {
		if a.areas.Has(i) {
			dg.Areas[i].Clubs++
		}
	}
	if a.areas == AllAreas {
		dg.AllAreas++
	}

	// Good examples. Ties go to the club with more people, then more areas, then the code,
	// so the digest does not change from one build to the next.
	attend := -1
	if cur != nil && cur.Held && cur.Attendance >= 0 {
		attend = int(cur.Attendance)
	}
	if attend > 0 && (g.best == nil || attend > g.best.Value ||
		(attend == g.best.Value && (a.areas.Len() > g.bestAreas || (a.areas.Len() == g.bestAreas && c.Code < g.best.Code)))) {
		g.best = &Example{ClubLine: line, Value: attend}
		g.bestAreas = a.areas.Len()
	}
	if n := a.areas.Len(); n > 0 {
		switch {
		case g.most == nil || n > g.most.Value:
			g.most, g.mostAttend, g.mostTie = &Example{ClubLine: line, Value: n}, attend, 0
		case n == g.most.Value:
			g.mostTie++
			if attend > g.mostAttend || (attend == g.mostAttend && c.Code < g.most.Code) {
				g.most, g.mostAttend = &Example{ClubLine: line, Value: n}, attend
			}
		}
	}
	if attend > 0 && prev != nil && prev.Held && prev.Attendance > 0 {
		delta := attend - int(prev.Attendance)
		if delta > 0 && (g.improved == nil || delta > g.improved.Delta || (delta == g.improved.Delta && c.Code < g.improved.Code)) {
			g.improved = &Example{ClubLine: line, Value: attend, Prev: int(prev.Attendance), Delta: delta}
		}
	}
}

func (g *aggregate) finish(dg *Digest) {
	for k, st := range [2]*MonthStats{&dg.This, &dg.Prev} {
		st.Pct = pct(st.Reported, st.Expected)
		if st.Meetings > 0 {
			st.Avg = (st.Attendance + st.Meetings/2) / st.Meetings
		}
		if g.womenBase[k] > 0 {
			st.HasWomen, st.WomenPct = true, (g.women[k]*100+g.womenBase[k]/2)/g.womenBase[k]
		}
		if g.olderBase[k] > 0 {
			st.HasOlder, st.OlderPct = true, (g.older[k]*100+g.olderBase[k]/2)/g.olderBase[k]
		}
	}
	if dg.This.Meetings > 0 && dg.Prev.Meetings > 0 {
		dg.HasChange, dg.AvgChange = true, dg.This.Avg-dg.Prev.Avg
	}
	fewest := math.MaxInt
	anyArea := false
	for i := range dg.Areas {
		dg.Areas[i].Pct = pct(dg.Areas[i].Clubs, dg.Clubs)
		fewest = min(fewest, dg.Areas[i].Clubs)
		anyArea = anyArea || dg.Areas[i].Clubs > 0
	}
	if anyArea {
		for _, a := range dg.Areas {
			if a.Clubs == fewest {
				dg.Fewest = append(dg.Fewest, a.Label)
			}
		}
	}
	dg.AllAreasPct = pct(dg.AllAreas, dg.Clubs)
	dg.NewPct = pct(dg.NewClubs, dg.NewTarget)

	// Stopped clubs: the longest silence first (never a meeting before any other), then by name.
	slices.SortFunc(g.stopped, func(a, b ClubLine) int {
		la, lb := a.Last, b.Last
		if !a.HasLast {
			la = noDay
		}
		if !b.HasLast {
			lb = noDay
		}
		return cmp.Or(cmp.Compare(la, lb), cmp.Compare(a.Name, b.Name), cmp.Compare(a.Code, b.Code))
	})
	dg.StoppedTotal = len(g.stopped)
	dg.Stopped = g.stopped[:min(len(g.stopped), MaxListed)]

	dg.Best, dg.MostAreas, dg.MostAreasTie, dg.MostImproved = g.best, g.most, g.mostTie, g.improved

	// Units: those with clubs still to report, most missing first; nationally every
	// province with clubs, lowest completeness first.
	var units []UnitStat
	for _, k := range g.unitOrder {
		u := g.units[k]
		u.Missing = u.Expected - u.Reported
		u.Pct = pct(u.Reported, u.Expected)
		if u.Missing > 0 {
			dg.UnitsMissing++
		}
		if u.Missing > 0 || dg.National {
			units = append(units, *u)
		}
	}
	dg.UnitsTotal = len(g.unitOrder)
	slices.SortFunc(units, func(a, b UnitStat) int {
		if dg.National {
			return cmp.Or(cmp.Compare(a.Pct, b.Pct), cmp.Compare(b.Expected, a.Expected), cmp.Compare(a.key, b.key))
		}
		return cmp.Or(cmp.Compare(b.Missing, a.Missing), cmp.Compare(a.Pct, b.Pct), cmp.Compare(a.key, b.key))
	})
	if !dg.National {
		units = units[:min(len(units), MaxListed)]
	}
	dg.Units = units
}
