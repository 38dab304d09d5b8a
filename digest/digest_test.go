package digest

import (
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"clubbot/club"
	"clubbot/digest/digesttest"
	"clubbot/flows"
	"clubbot/templates"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

var hcm = mustLoc("Asia/Ho_Chi_Minh")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func testOptions() Options {
	return Options{Provinces: club.MustLoadProvinces(), Loc: hcm}
}

// loadData reads testdata/clubs.csv and testdata/reports.csv. Provinces are kept as
// written (some clubs are filed under pre-2025 names) so that Build has to resolve them.
func loadData(t testing.TB) Data {
	t.Helper()
	var d Data
	for i, r := range readCSV(t, "testdata/clubs.csv") {
		if i == 0 {
			continue
		}
		d.Clubs = append(d.Clubs, club.Club{Code: r[0], Name: r[1], Province: r[2], Commune: r[3], FoundedOn: r[4]})
	}
	for _, r := range readCSV(t, "testdata/reports.csv") {
		created, err := time.ParseInLocation("2006-01-02 15:04", r[2], hcm)
		if err != nil {
			t.Fatal(err)
		}
		rep := club.Report{ID: uint64(len(d.Reports) + 1), ClubCode: r[0], MeetingDate: r[1], CreatedAt: created,
			Held: r[3] == "yes", Answers: map[string]flows.Answer{}}
		for col, name := range map[int]string{4: "attendance_total", 5: "attendance_women", 6: "attendance_older"} {
			if r[col] == "" {
				continue
			}
			n, err := strconv.ParseInt(r[col], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			rep.Answers[name] = flows.Answer{Type: "number", Number: &n}
		}
		if r[7] != "" {
			rep.Answers["areas_active"] = flows.Answer{Type: "multi", Choices: strings.Fields(r[7])}
		}
		d.Reports = append(d.Reports, ReportOf(rep))
	}
	return d
}

func readCSV(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./digest -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test ./digest -run %s -update rewrites it)\n--- got:\n%s", path, t.Name(), got)
	}
}

// show lays out messages the way a reviewer reads them: each with its length.
func show(msgs []string) string {
	var b strings.Builder
	for i, m := range msgs {
		fmt.Fprintf(&b, "===== message %d (%d characters) =====\n%s\n", i+1, Length(m), m)
	}
	return b.String()
}

func TestDigestGolden(t *testing.T) {
	d := loadData(t)
	tm := MustParseTemplates(templates.Digest())
	w46 := Week{2025, 46}
	cases := []struct {
		name     string
		scope    string
		week     Week
		asOf     time.Time
		audience Audience
	}{
		// A province formed from three former ones; clubs filed under old names; a club
		// that stopped meeting, one reporting no meeting, a late report, a new club.
		{"ninh-binh-officer", "ninh-binh", w46, w46.End(hcm), Officer},
		{"ninh-binh-group", "ninh-binh", w46, w46.End(hcm), Group},
		// A province with clubs and no reports at all.
		{"lai-chau-no-reports", "lai-chau", w46, w46.End(hcm), Officer},
		// A province without clubs.
		{"hung-yen-no-clubs", "hung-yen", w46, w46.End(hcm), Officer},
		// Every province, for admins.
		{"national", National, w46, w46.End(hcm), Officer},
		// "tổng hợp" on a Wednesday morning: the week so far.
		{"ninh-binh-midweek", "ninh-binh", Week{2025, 47}, time.Date(2025, 11, 19, 10, 5, 0, 0, hcm), Officer},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dg := Build(d, c.week, c.asOf, []string{c.scope}, testOptions())[c.scope]
			r, err := tm.Render(dg, c.audience)
			if err != nil {
				t.Fatal(err)
			}
			msgs := r.Messages()
			for i, m := range msgs {
				if Length(m) > MaxMessage {
					t.Errorf("message %d is %d characters", i+1, Length(m))
				}
			}
			golden(t, c.name+".golden", show(msgs))
		})
	}
}

// TestDigestFigures checks the numbers behind the golden text, so a wrong figure cannot
// hide in a regenerated golden file.
func TestDigestFigures(t *testing.T) {
	d := loadData(t)
	w := Week{2025, 46}
	all := Build(d, w, w.End(hcm), nil, testOptions())
	nb := all["ninh-binh"]
	if nb.Clubs != 6 { // HNA-102 is founded after the week
		t.Errorf("ninh-binh clubs = %d, want 6 (NB-001..003, HNA-101, ND-201, ND-202)", nb.Clubs)
	}
	if got, want := nb.This, (MonthStats{Expected: 6, Reported: 4, Pct: 66, OnTime: 3, Late: 1, NoMeeting: 1,
		Meetings: 3, Attendance: 56 + 38 + 25, Avg: 40, WomenPct: 63, HasWomen: true, OlderPct: 58, HasOlder: true}); got != want {
		t.Errorf("this month = %+v\nwant         %+v", got, want)
	}
	// NB-003, founded on 5 October, was expected to report for October too.
	if nb.Prev.Expected != 6 || nb.Prev.Reported != 3 || nb.Prev.Pct != 50 || nb.Prev.Avg != 39 {
		t.Errorf("last month = %+v, want 3/6 reported (50%%), avg 39", nb.Prev)
	}
	if nb.WeekReports != 4 { // NB-001 and its correction, NB-003's first, HNA-101's late one
		t.Errorf("week reports = %d, want 4", nb.WeekReports)
	}
	if nb.StoppedTotal != 1 || nb.Stopped[0].Code != "ND-201" || nb.Stopped[0].Last != DayOf(2025, 7, 18) {
		t.Errorf("stopped = %+v, want ND-201 last met 18/07", nb.Stopped)
	}
	if nb.Silent != 1 || nb.Active != 4 { // NB-002 silent; NB-001, NB-003, HNA-101, ND-202 met
		t.Errorf("silent %d active %d, want 1 and 4", nb.Silent, nb.Active)
	}
	// Health since 1 September: NB-001, HNA-101, NB-003 (ND-201's was in July).
	if nb.AllAreas != 1 || nb.Areas[1].Clubs != 3 || nb.Areas[0].Clubs != 1 || nb.Areas[6].Clubs != 4 {
		t.Errorf("areas: all 8 %d, health %d, income %d, culture %d; want 1, 3, 1, 4",
			nb.AllAreas, nb.Areas[1].Clubs, nb.Areas[0].Clubs, nb.Areas[6].Clubs)
	}
	if nb.NewClubs != 1 || nb.NewTarget != DefaultNewClubTarget {
		t.Errorf("new clubs %d of %d", nb.NewClubs, nb.NewTarget)
	}
	if nb.Best == nil || nb.Best.Code != "NB-001" || nb.Best.Value != 56 {
		t.Errorf("best = %+v, want NB-001 with 56 (the corrected report)", nb.Best)
	}
	if nb.MostImproved == nil || nb.MostImproved.Code != "NB-001" || nb.MostImproved.Delta != 8 {
		t.Errorf("most improved = %+v, want NB-001 +8", nb.MostImproved)
	}
	if nb.MergeNote || !slices.Equal(nb.Former, []string{"Ninh Bình", "Hà Nam", "Nam Định"}) {
		t.Errorf("merge note %v former %v; want no note (every figure is after 1 July 2025)", nb.MergeNote, nb.Former)
	}
	// In August the area window reaches back to June: figures before 1 July are the sum
	// of the former provinces, and the digest says so (ISHC.md §8.4).
	aug := Week{2025, 33}
	if g := Build(d, aug, aug.End(hcm), []string{"ninh-binh", "ha-noi"}, testOptions()); !g["ninh-binh"].MergeNote || g["ha-noi"].MergeNote {
		t.Errorf("August merge notes: ninh-binh %v ha-noi %v, want true and false", g["ninh-binh"].MergeNote, g["ha-noi"].MergeNote)
	}
	lc := all["lai-chau"]
	if lc.Clubs != 3 || lc.This.Reported != 0 || lc.Silent != 3 || lc.StoppedTotal != 0 || lc.Best != nil {
		t.Errorf("lai-chau = %+v", lc)
	}
	nat := all[National]
	if nat.Clubs != 11 || nat.This.Reported != 6 {
		t.Errorf("national: %d clubs, %d reported; want 11, 6", nat.Clubs, nat.This.Reported)
	}
	if hn := all["ha-noi"]; hn.This.Reported != 2 || hn.WeekReports != 1 {
		t.Errorf("ha-noi: %d reported, %d this week; the report of 17/11 must not count", hn.This.Reported, hn.WeekReports)
	}
	// The same figures whether built alone or with every other scope.
	alone := Build(d, w, w.End(hcm), []string{"ninh-binh"}, testOptions())["ninh-binh"]
	if !reflect.DeepEqual(alone, nb) {
		t.Errorf("ninh-binh built alone differs:\n%+v\n%+v", *alone, *nb)
	}
}

// TestAreasMatchReportFlow keeps the digest's 8 areas equal to the options of the report
// flow's areas_active step, which is what chairs answer.
func TestAreasMatchReportFlow(t *testing.T) {
	f, err := flows.Parse(templates.Flows()["meeting_report"])
	if err != nil {
		t.Fatal(err)
	}
	var got []Area
	for _, s := range f.Steps {
		if s.Name != "areas_active" {
			continue
		}
		for _, o := range s.Options {
			if o.Code != "none" {
				got = append(got, Area{o.Code, o.Label})
			}
		}
	}
	if !slices.Equal(got, Areas[:]) {
		t.Errorf("areas_active options = %v\ndigest areas        = %v", got, Areas)
	}
}

func TestWeeks(t *testing.T) {
	for _, c := range []struct {
		in       string
		from, to string
	}{
		{"2025-W46", "2025-11-10", "2025-11-16"},
		{"2026-W01", "2025-12-29", "2026-01-04"},
		{"2026-W53", "2026-12-28", "2027-01-03"},
		{"2025-w01", "2024-12-30", "2025-01-05"},
	} {
		w, err := ParseWeek(c.in)
		if err != nil {
			t.Fatal(err)
		}
		if w.FirstDay().String() != c.from || w.LastDay().String() != c.to {
			t.Errorf("%s: %s–%s, want %s–%s", c.in, w.FirstDay(), w.LastDay(), c.from, c.to)
		}
		if w.Next().Prev() != w {
			t.Errorf("%s: next then prev gives %s", c.in, w.Next().Prev())
		}
	}
	for _, bad := range []string{"2025-W54", "2025-W00", "2025-46", "W46", "2025-W4", "2025-W466"} {
		if _, err := ParseWeek(bad); err == nil {
			t.Errorf("ParseWeek(%q) accepted", bad)
		}
	}
	if w := WeekOf(time.Date(2025, 11, 16, 23, 30, 0, 0, time.UTC), hcm); w != (Week{2025, 47}) {
		t.Errorf("Sunday 23:30 UTC is Monday 06:30 in Hồ Chí Minh City: week %v, want 2025-W47", w)
	}
}

func TestSchedule(t *testing.T) {
	s, err := ParseSchedule("MON 07:00", hcm)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Slot(Week{2025, 46}); !got.Equal(time.Date(2025, 11, 17, 7, 0, 0, 0, hcm)) {
		t.Errorf("slot of week 46 = %v, want Monday 17/11 07:00 +07", got)
	}
	for _, c := range []struct {
		at   time.Time
		want Week
	}{
		{time.Date(2025, 11, 17, 6, 59, 0, 0, hcm), Week{2025, 45}},
		{time.Date(2025, 11, 17, 7, 0, 0, 0, hcm), Week{2025, 46}},
		{time.Date(2025, 11, 23, 23, 0, 0, 0, hcm), Week{2025, 46}},
		{time.Date(2025, 11, 17, 0, 30, 0, 0, time.UTC), Week{2025, 46}}, // 07:30 in Hồ Chí Minh City
	} {
		if got, _ := s.Due(c.at); got != c.want {
			t.Errorf("Due(%v) = %v, want %v", c.at, got, c.want)
		}
	}
	fri, _ := ParseSchedule("fri 16:30", hcm)
	if got := fri.Slot(Week{2025, 46}); !got.Equal(time.Date(2025, 11, 21, 16, 30, 0, 0, hcm)) {
		t.Errorf("FRI slot = %v", got)
	}
	sun, _ := ParseSchedule("SUN 20:00", hcm)
	if got := sun.Slot(Week{2025, 46}); !got.Equal(time.Date(2025, 11, 23, 20, 0, 0, 0, hcm)) {
		t.Errorf("SUN slot = %v", got)
	}
	for _, bad := range []string{"", "MON", "MONDAY 07:00", "MON 25:00", "07:00 MON"} {
		if _, err := ParseSchedule(bad, hcm); err == nil {
			t.Errorf("ParseSchedule(%q) accepted", bad)
		}
	}
}

func TestPack(t *testing.T) {
	line := strings.Repeat("Sức khỏe ", 20) // 180 characters
	sec := func(n int) string { return strings.TrimSpace(strings.Repeat(line+"\n", n)) }
	sections := []string{sec(5), sec(5), sec(3), sec(15), "cuối"}
	msgs := Pack(sections, 2000)
	for i, m := range msgs {
		if Length(m) > 2000 {
			t.Errorf("message %d: %d characters", i, Length(m))
		}
	}
	// The first two sections (904 characters each) share a message; the third does not fit
	// beside them; the fourth (over 2,000) is cut between lines into messages of its own.
	if len(msgs) != 5 || msgs[0] != sections[0]+"\n\n"+sections[1] || msgs[1] != sections[2] ||
		!strings.HasPrefix(sections[3], msgs[2]) || msgs[4] != "cuối" {
		t.Errorf("packed %d messages: %q", len(msgs), msgs)
	}
	if got := strings.Join(msgs[2:4], "\n"); got != sections[3] {
		t.Errorf("the long section was not cut on line boundaries")
	}
	long := strings.Repeat("ạ", 4500)
	if got := Pack([]string{long}, 2000); len(got) != 3 || Length(got[0]) != 2000 || strings.Join(got, "") != long {
		t.Errorf("one long word: %d parts", len(got))
	}
	if got := Pack([]string{"😀😀😀"}, 4); len(got) != 2 {
		t.Errorf("emoji count twice (UTF-16): got %q", got)
	}
}

func TestSections(t *testing.T) {
	got := Sections("A\n  \nB1  \nB2\n\n\n\n\nC\n\n   \n")
	if !slices.Equal(got, []string{"A", "B1\nB2", "C"}) {
		t.Errorf("sections = %q", got)
	}
}

func TestNum(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1.000", 1234567: "1.234.567", -4500: "-4.500"} {
		if got := Num(n); got != want {
			t.Errorf("Num(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestParseTemplatesErrors(t *testing.T) {
	files := templates.Digest()
	bad := map[string][]byte{"digest.tmpl": []byte(strings.Replace(string(files["digest.tmpl"]), "{{.This.Reported}}", "{{.This.Reportd}}", 1))}
	if _, err := ParseTemplates(bad); err == nil || !strings.Contains(err.Error(), "Reportd") || !strings.Contains(err.Error(), "digest.tmpl:") {
		t.Errorf("misspelt field: err = %v, want it named with its line", err)
	}
	if _, err := ParseTemplates(map[string][]byte{"x.tmpl": []byte(`{{define "digest"}}x{{end}}`)}); err == nil ||
		!strings.Contains(err.Error(), "footer_officer") {
		t.Errorf("missing templates: err = %v", err)
	}
	if _, err := ParseTemplates(map[string][]byte{"x.tmpl": []byte(`{{define "digest"}}{{if}}{{end}}`)}); err == nil {
		t.Error("syntax error accepted")
	}
}

func TestDecodeReport(t *testing.T) {
	n := int64(42)
	w := int64(20)
	r := club.Report{ID: 7, ClubCode: "NB-001", Province: "ninh-binh", MeetingDate: "2025-11-10", Held: true,
		CreatedAt: time.Date(2025, 11, 10, 12, 0, 0, 0, hcm),
		Answers: map[string]flows.Answer{
			"attendance_total": {Type: "number", Number: &n, Display: "42 người"},
			"attendance_women": {Type: "number", Number: &w},
			"attendance_older": {Type: "number", Skipped: true},
			"areas_active":     {Type: "multi", Choices: []string{"health", "culture"}},
			"notes":            {Type: "text", Text: `ghi chú có "club":"XX" và "meeting_date":"2000-01-01"`},
		}}
	raw := mustJSON(t, r)
	got, err := DecodeReport(raw)
	if err != nil {
		t.Fatal(err)
	}
	if want := ReportOf(r); got != want {
		t.Errorf("DecodeReport = %+v\nReportOf     = %+v", got, want)
	}
	if got.Attendance != 42 || got.Women != 20 || got.Older != -1 || got.Areas != AreaSetOf([]string{"health", "culture"}) {
		t.Errorf("decoded %+v", got)
	}
	if v, ok := Peek(raw, "club"); !ok || string(v) != "NB-001" {
		t.Errorf("Peek club = %q %v", v, ok)
	}
	if v, ok := Peek(raw, "meeting_date"); !ok || string(v) != "2025-11-10" {
		t.Errorf("Peek meeting_date = %q %v", v, ok)
	}
	if _, ok := Peek(raw, "nothing"); ok {
		t.Error("Peek found a missing key")
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFastDecodeMatchesJSON: the scanner that reads stored reports gives what
// encoding/json gives, on generated reports and on awkward ones; when unsure it declines.
func TestFastDecodeMatchesJSON(t *testing.T) {
	n := 0
	digesttest.Generate(digesttest.Options{Clubs: 300, Months: 6, End: time.Date(2025, 11, 16, 23, 0, 0, 0, hcm), Loc: hcm, Seed: 1},
		func(club.Club) {}, func(r club.Report) {
			raw := mustJSON(t, r)
			fast, ok := fastDecode(raw)
			slow, err := jsonDecode(raw)
			if !ok || err != nil || fast != slow {
				t.Fatalf("report %d: fast %+v (%v), json %+v (%v)\n%s", r.ID, fast, ok, slow, err, raw)
			}
			n++
		})
	if n < 1000 {
		t.Fatalf("only %d reports generated", n)
	}
	big := int64(1) << 40
	neg := int64(-3)
	for name, r := range map[string]club.Report{
		"quotes and braces in text": {ID: 1, ClubCode: "A", MeetingDate: "2025-11-01", Held: true, CreatedAt: time.Unix(1e9, 0),
			Answers: map[string]flows.Answer{
				"notes":            {Type: "text", Text: `}"attendance_total":{"number":99} "choices":["income"]`},
				"attendance_total": {Type: "number", Number: &neg},
				"attendance_women": {Type: "number", Number: &big},
				"areas_active":     {Type: "multi", Choices: []string{"none-such", "rights"}, Display: `"a" ] [`}}},
		"no answers":     {ID: 2, ClubCode: "B", MeetingDate: "2025-11-02", CreatedAt: time.Unix(2e9, 0).In(hcm), Answers: map[string]flows.Answer{}},
		"empty choices":  {ID: 3, ClubCode: "C", MeetingDate: "2025-11-03", Answers: map[string]flows.Answer{"areas_active": {Type: "multi", Choices: []string{}}}},
		"escaped code":   {ID: 4, ClubCode: `C"1`, MeetingDate: "2025-11-03", Answers: map[string]flows.Answer{}},
		"nested answers": {ID: 5, ClubCode: "D", MeetingDate: "2025-11-04", Answers: map[string]flows.Answer{"photos": {Type: "photo", Photos: []string{"a]}", "b"}}}},
	} {
		raw := mustJSON(t, r)
		slow, err := jsonDecode(raw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if fast, ok := fastDecode(raw); ok && fast != slow {
			t.Errorf("%s: fast %+v, json %+v", name, fast, slow)
		}
		if got, err := DecodeReport(raw); err != nil || got != slow {
			t.Errorf("%s: DecodeReport %+v %v, want %+v", name, got, err, slow)
		}
	}
}

// FuzzDecodeReport: for any report as the store writes it (encoding/json of a club.Report,
// with any text in its strings), the scanner and encoding/json agree, or the scanner
// declines.
func FuzzDecodeReport(f *testing.F) {
	f.Add("NB-001", "2025-11-10", true, int64(42), int64(20), false, "Cần thêm máy đo", "health,culture", int64(1.7e9))
	f.Add(`C"1`, "2025-13-01", false, int64(-1), int64(1<<40), true, `}"attendance_total":{"number":9}`, "", int64(0))
	f.Fuzz(func(t *testing.T, code, meeting string, held bool, total, women int64, skipped bool, notes, choices string, created int64) {
		r := club.Report{ID: 7, ClubCode: code, MeetingDate: meeting, Held: held, CreatedAt: time.Unix(created%(1<<35), 0).UTC(),
			Answers: map[string]flows.Answer{
				"attendance_total": {Type: "number", Number: &total, Skipped: skipped},
				"attendance_women": {Type: "number", Number: &women, Display: notes},
				"areas_active":     {Type: "multi", Choices: strings.Split(choices, ","), Display: choices},
				"notes":            {Type: "text", Text: notes},
			}}
		raw, err := json.Marshal(r)
		if err != nil {
			return
		}
		fast, ok := fastDecode(raw)
		slow, err := jsonDecode(raw)
		if ok && (err != nil || fast != slow) {
			t.Errorf("fast %+v, json %+v (%v) for %s", fast, slow, err, raw)
		}
	})
}

// FuzzFastDecodeRaw: the scanner never panics, whatever the bytes.
func FuzzFastDecodeRaw(f *testing.F) {
	f.Add([]byte(`{"id":1,"club":"A","meeting_date":"2025-01-01","held":false,"answers":{"areas_active":{"choices":["x"]}},"created_at":"2025-01-01T00:00:00Z"}`))
	f.Add([]byte(`{"answers":{`))
	f.Fuzz(func(t *testing.T, raw []byte) { fastDecode(raw) })
}

func TestDecodeClub(t *testing.T) {
	for _, c := range []club.Club{
		{Code: "NB-001", Name: "CLB Liên thế hệ thôn Yên Thổ", Province: "Nam Định", Commune: "Xã Gia Viễn", ChairName: "name", FoundedOn: "2018-04-10",
			UpdatedAt: time.Unix(1e9, 0)},
		{Code: "X", Name: `CLB "Hoa Sen" & bạn`, Province: "ha-noi", Commune: `Xã <A>`, ChairName: `"code":"FAKE"`},
		{Code: "Y", Name: "Không ngày", Province: "lai-chau", Commune: "Xã B"},
	} {
		got, err := DecodeClub(mustJSON(t, c))
		want := club.Club{Code: c.Code, Name: c.Name, Province: c.Province, Commune: c.Commune, FoundedOn: c.FoundedOn}
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("DecodeClub = %+v, %v; want %+v", got, err, want)
		}
	}
	if _, err := DecodeClub([]byte(`{"code":`)); err == nil {
		t.Error("a broken record decoded")
	}
}
