package digest

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Day is a calendar date (no time, no zone) as days since 1970-01-01. Meeting dates are
// calendar dates in Asia/Ho_Chi_Minh; keeping them zone-free avoids an off-by-one when the
// machine runs in UTC (ARCHITECTURE rule 7).
type Day int32

// DayOf returns the date y-m-d (normalised like time.Date: month 13 is next January).
func DayOf(y int, m time.Month, d int) Day {
	return Day(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// DayIn returns the calendar date of instant t in loc.
func DayIn(t time.Time, loc *time.Location) Day {
	y, m, d := t.In(loc).Date()
	return DayOf(y, m, d)
}

// ParseDay reads "YYYY-MM-DD". It is hand-written because it runs once per report in the
// digest scan (hundreds of thousands of times) and time.Parse dominates that loop.
func ParseDay(s string) (Day, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	n := func(a, b int) (int, bool) {
		v := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			v = v*10 + int(c-'0')
		}
		return v, true
	}
	y, ok1 := n(0, 4)
	m, ok2 := n(5, 7)
	d, ok3 := n(8, 10)
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > 31 {
		return 0, false
	}
	return DayOf(y, time.Month(m), d), true
}

// Date returns the date as midnight UTC, for its year, month and day.
func (d Day) Date() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// String formats the date as YYYY-MM-DD.
func (d Day) String() string { return d.Date().Format("2006-01-02") }

// AddMonths moves the date by n calendar months (time.AddDate's normalisation).
func (d Day) AddMonths(n int) Day {
	t := d.Date().AddDate(0, n, 0)
	return DayOf(t.Date())
}

// FirstOfMonth returns the first day of the date's month.
func (d Day) FirstOfMonth() Day {
	y, m, _ := d.Date().Date()
	return DayOf(y, m, 1)
}

// Week is an ISO 8601 week: weeks start on Monday and week 1 holds the year's first
// Thursday (ARCHITECTURE rule 7).
type Week struct {
	Year int
	Num  int
}

// WeekOf returns the ISO week of instant t in loc.
func WeekOf(t time.Time, loc *time.Location) Week {
	y, w := t.In(loc).ISOWeek()
	return Week{y, w}
}

// ParseWeek reads "2025-W46" (also "2025-w46" and "2025W46").
func ParseWeek(s string) (Week, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	y, n, ok := strings.Cut(s, "W")
	y = strings.TrimSuffix(y, "-")
	year, err1 := strconv.Atoi(y)
	num, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || len(y) != 4 || len(n) != 2 || num < 1 {
		return Week{}, fmt.Errorf("week %q: want an ISO week like 2025-W46", s)
	}
	w := Week{year, num}
	if got := WeekOf(w.mondayUTC(), time.UTC); got != w {
		return Week{}, fmt.Errorf("week %q: %d has no week %d", s, year, num)
	}
	return w, nil
}

// String formats the week as "2025-W46".
func (w Week) String() string { return fmt.Sprintf("%04d-W%02d", w.Year, w.Num) }

// mondayUTC is the Monday of the week at midnight UTC: 4 January is always in week 1.
func (w Week) mondayUTC() time.Time {
	jan4 := time.Date(w.Year, 1, 4, 0, 0, 0, 0, time.UTC)
	wd := (int(jan4.Weekday()) + 6) % 7 // Monday = 0
	return jan4.AddDate(0, 0, -wd+7*(w.Num-1))
}

// FirstDay returns the week's Monday; LastDay its Sunday.
func (w Week) FirstDay() Day { return DayOf(w.mondayUTC().Date()) }

// LastDay returns the week's Sunday.
func (w Week) LastDay() Day { return w.FirstDay() + 6 }

// Start returns Monday 00:00 of the week in loc.
func (w Week) Start(loc *time.Location) time.Time {
	y, m, d := w.mondayUTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

// End returns the instant the week ends in loc: the next Monday 00:00 (exclusive).
func (w Week) End(loc *time.Location) time.Time { return w.Next().Start(loc) }

// Next returns the following week; Prev the one before.
func (w Week) Next() Week {
	y, n := w.mondayUTC().AddDate(0, 0, 7).ISOWeek()
	return Week{y, n}
}

// Prev returns the week before.
func (w Week) Prev() Week {
	y, n := w.mondayUTC().AddDate(0, 0, -7).ISOWeek()
	return Week{y, n}
}

// Schedule is when the weekly digests go out: a weekday and a time of day in Loc
// (config digest.schedule in digest.timezone).
type Schedule struct {
	Day  time.Weekday
	At   time.Duration // since midnight
	Loc  *time.Location
	Spec string // as configured, e.g. "MON 07:00"
}

// ParseSchedule reads "MON 07:00" (weekday as SUN…SAT, 24-hour time) in loc.
func ParseSchedule(s string, loc *time.Location) (Schedule, error) {
	day, hm, ok := strings.Cut(strings.TrimSpace(s), " ")
	days := map[string]time.Weekday{"SUN": time.Sunday, "MON": time.Monday, "TUE": time.Tuesday,
		"WED": time.Wednesday, "THU": time.Thursday, "FRI": time.Friday, "SAT": time.Saturday}
	wd, okDay := days[strings.ToUpper(day)]
	t, err := time.Parse("15:04", strings.TrimSpace(hm))
	if !ok || !okDay || err != nil {
		return Schedule{}, fmt.Errorf("digest schedule: want a weekday and a time like \"MON 07:00\", got %q", s)
	}
	if loc == nil {
		loc = time.UTC
	}
	at := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
	return Schedule{Day: wd, At: at, Loc: loc, Spec: s}, nil
}

// Slot returns when the digest of week w is due: the scheduled weekday and time in the
// week after w, so that the digest covers a whole week ("MON 07:00": seven hours after
// the week ended).
func (s Schedule) Slot(w Week) time.Time {
	next := w.Next().Start(s.Loc)
	offset := (int(s.Day) + 6) % 7 // days after Monday
	y, m, d := next.Date()
	h := int(s.At / time.Hour)
	min := int(s.At % time.Hour / time.Minute)
	return time.Date(y, m, d+offset, h, min, 0, 0, s.Loc)
}

// Due returns the latest week whose slot is at or before t, and that slot. That week's
// digest should have gone out by t.
func (s Schedule) Due(t time.Time) (Week, time.Time) {
	w := WeekOf(t, s.Loc).Prev()
	for i := 0; i < 3; i++ {
		if slot := s.Slot(w); !slot.After(t) {
			return w, slot
		}
		w = w.Prev()
	}
	return w, s.Slot(w) // not reached: some slot of the last three weeks is in the past
}

// AsOf returns the instant a digest of week w built at now reads data up to: the end of
// the week (its last second) once it is over, now while it is in progress.
func AsOf(w Week, now time.Time, loc *time.Location) time.Time {
	if end := w.End(loc); !now.Before(end) {
		return end.Add(-time.Second)
	}
	return now.In(loc)
}

// HistoryStart is the first meeting date a digest as of asOf reads: reports of earlier
// meetings may be left out of Data (they change nothing).
func HistoryStart(asOf time.Time, loc *time.Location) Day {
	return DayIn(asOf, loc).FirstOfMonth().AddMonths(-(HistoryMonths - 1))
}
