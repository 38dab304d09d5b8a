package digest

import (
	"testing"
	"time"

	"clubbot/club"
	"clubbot/digest/digesttest"
	"clubbot/internal/memprobe"
	"clubbot/templates"
)

// generate makes a deterministic country of n clubs with months of reports up to end
// (digesttest.Generate), converted as the bot's store scan converts them.
func generate(n, months int, end time.Time) Data {
	var d Data
	digesttest.Generate(digesttest.Options{Clubs: n, Months: months, End: end, Loc: hcm, Seed: 46},
		func(c club.Club) { d.Clubs = append(d.Clubs, c) },
		func(r club.Report) { d.Reports = append(d.Reports, ReportOf(r)) })
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
	pk := memprobe.Start()
	cpu0 := memprobe.CPUTime()
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
	}
	b.ReportMetric(float64(memprobe.CPUTime()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
	heap, anon := pk.End()
	b.ReportMetric(heap, "peak-heap-MB")
	b.ReportMetric(anon, "peak-anon-RSS-MB")
	b.ReportMetric(memprobe.StatusMB("VmHWM"), "peak-RSS-MB")
	b.ReportMetric(float64(len(d.Reports)), "reports")
}

// BenchmarkBuildAggregate is BenchmarkBuild without rendering: the pass over the reports.
func BenchmarkBuildAggregate(b *testing.B) {
	w := Week{2025, 46}
	end := w.End(hcm)
	d := generate(20000, 24, end)
	o := testOptions()
	for b.Loop() {
		Build(d, w, end, nil, o)
	}
	b.ReportMetric(float64(len(d.Reports)), "reports")
}
