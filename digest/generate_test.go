package digest

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"clubbot/club"
	"clubbot/templates"
)

// generate makes a deterministic country of n clubs over the 34 provinces with months of
// monthly reports ending in the month of end: most clubs report every month, some skip
// months, some stopped, a few never reported; one club in ten is filed under a pre-2025
// province name; one report in fifty is corrected by a second one.
func generate(n, months int, end time.Time) Data {
	rng := rand.New(rand.NewPCG(46, 2025))
	provinces := club.MustLoadProvinces().All()
	d := Data{Clubs: make([]club.Club, 0, n), Reports: make([]Report, 0, n*months)}
	endDay := DayIn(end, hcm)
	first := endDay.FirstOfMonth().AddMonths(-(months - 1))
	var id uint64
	for i := range n {
		p := provinces[i%len(provinces)]
		prov := p.Code
		if rng.IntN(10) == 0 {
			prov = p.Former[rng.IntN(len(p.Former))]
		}
		founded := first.AddMonths(-rng.IntN(96) - 1)
		if rng.IntN(40) == 0 {
			founded = endDay.AddMonths(-rng.IntN(10)) // new this year
		}
		c := club.Club{Code: fmt.Sprintf("C%05d", i), Name: fmt.Sprintf("CLB Liên thế hệ số %d", i+1),
			Province: prov, Commune: fmt.Sprintf("Xã %d", i/7%120+1), FoundedOn: founded.String()}
		d.Clubs = append(d.Clubs, c)
		kind := rng.IntN(100)
		stopAt := months
		switch {
		case kind < 3:
			continue // never reported
		case kind < 8:
			stopAt = rng.IntN(months) // stopped meeting
		}
		for m := range months {
			if m >= stopAt || (kind < 18 && rng.IntN(3) == 0) {
				continue
			}
			month := first.AddMonths(m)
			meeting := month + Day(rng.IntN(28))
			if meeting < founded || meeting > endDay {
				continue
			}
			created := meeting.Date().Add(time.Duration(rng.IntN(10*24)) * time.Hour).Add(-7 * time.Hour)
			if created.After(end) {
				continue
			}
			held := rng.IntN(20) != 0
			r := Report{Club: c.Code, Meeting: meeting, Created: created.Unix(), Held: held, Attendance: -1, Women: -1, Older: -1}
			if held {
				r.Attendance = int32(30 + rng.IntN(40))
				r.Women = r.Attendance * int32(50+rng.IntN(20)) / 100
				if rng.IntN(4) != 0 {
					r.Older = r.Attendance * int32(55+rng.IntN(20)) / 100
				}
				for a := range Areas {
					if rng.IntN(10) < 6+a%3 {
						r.Areas |= 1 << a
					}
				}
			}
			id++
			r.ID = id
			d.Reports = append(d.Reports, r)
			if rng.IntN(50) == 0 {
				id++
				r.ID, r.Attendance = id, r.Attendance+1
				d.Reports = append(d.Reports, r)
			}
		}
	}
	return d
}

// TestNationalGolden renders the national digest of a generated country: 34 provinces,
// so the text runs over one message and is cut between sections.
func TestNationalGolden(t *testing.T) {
	w := Week{2025, 46}
	d := generate(340, 6, w.End(hcm))
	dg := Build(d, w, w.End(hcm), []string{National}, testOptions())[National]
	r, err := MustParseTemplates(templates.Digest()).Render(dg, Officer)
	if err != nil {
		t.Fatal(err)
	}
	msgs := r.Messages()
	if len(msgs) < 2 {
		t.Fatalf("national digest of 34 provinces fits in %d message(s); the test wants a split", len(msgs))
	}
	for i, m := range msgs {
		if Length(m) > MaxMessage {
			t.Errorf("message %d is %d characters", i+1, Length(m))
		}
		if i > 0 && !startsSection(m, r.Sections, r.Footer) {
			t.Errorf("message %d does not start a section:\n%s", i+1, m)
		}
	}
	golden(t, "national-34.golden", show(msgs))
}

func startsSection(m string, sections []string, footer string) bool {
	for _, s := range append(sections, footer) {
		if len(m) >= len(s) && m[:len(s)] == s {
			return true
		}
	}
	return false
}

// BenchmarkBuild builds the digests of every province and the national one, text and
// charts, for 20,000 clubs with 24 months of reports (ARCHITECTURE.md budget: < 1 s,
// < 200 MB). Reproduce: go test ./digest -run '^$' -bench Build -benchtime 5x
func BenchmarkBuild(b *testing.B) {
	w := Week{2025, 46}
	end := w.End(hcm)
	d := generate(20000, 24, end)
	tm := MustParseTemplates(templates.Digest())
	o := testOptions()
	b.ReportMetric(float64(len(d.Reports)), "reports")
	var peak uint64
	b.ResetTimer()
	for b.Loop() {
		all := Build(d, w, end, nil, o)
		for _, dg := range all {
			r, err := tm.Render(dg, Officer)
			if err != nil {
				b.Fatal(err)
			}
			_ = r.Messages()
			text, err := tm.ChartText(dg)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := Chart(dg, text); err != nil {
				b.Fatal(err)
			}
		}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapInuse)
	}
	b.ReportMetric(float64(peak)/(1<<20), "heap-MB")
}

// BenchmarkBuildAggregate is BenchmarkBuild without rendering: the pass over the reports.
func BenchmarkBuildAggregate(b *testing.B) {
	w := Week{2025, 46}
	end := w.End(hcm)
	d := generate(20000, 24, end)
	o := testOptions()
	b.ReportMetric(float64(len(d.Reports)), "reports")
	for b.Loop() {
		Build(d, w, end, nil, o)
	}
}
