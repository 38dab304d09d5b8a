package store

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	"clubbot/club"
	"clubbot/flows"
)

func TestImportClubsIdempotentAndPhoneSwap(t *testing.T) {
	db := MustOpen(t)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := club.Club{Code: "hn-001", Name: "A", Province: "ha-noi", Commune: "Xã Sóc Sơn", ChairName: "An", ChairPhone: "0912000001"}
	b := club.Club{Code: "HN-002", Name: "B", Province: "ha-noi", Commune: "Phường Ba Đình", ChairName: "Bình", ChairPhone: "0912000002"}
	steps := []struct {
		name           string
		clubs          []club.Club
		created, upd   int
		wantPhoneClubs map[string]string
	}{
		{"create", []club.Club{a, b}, 2, 0, map[string]string{"0912000001": "HN-001", "0912000002": "HN-002"}},
		{"same again changes nothing", []club.Club{a, b}, 0, 0, map[string]string{"0912000001": "HN-001", "0912000002": "HN-002"}},
		{"chairs swap phones in one file", []club.Club{withPhone(a, "0912000002"), withPhone(b, "0912000001")}, 0, 2,
			map[string]string{"0912000001": "HN-002", "0912000002": "HN-001"}},
		{"a new phone frees the old one", []club.Club{withPhone(a, "0912000003")}, 0, 1,
			map[string]string{"0912000001": "HN-002", "0912000002": "", "0912000003": "HN-001"}},
	}
	for i, st := range steps {
		created, updated, conflicts, err := db.ImportClubs(st.clubs, t0.Add(time.Duration(i)*time.Hour))
		if err != nil || conflicts != nil {
			t.Fatalf("%s: %v %v", st.name, err, conflicts)
		}
		if created != st.created || updated != st.upd {
			t.Errorf("%s: created %d updated %d, want %d %d", st.name, created, updated, st.created, st.upd)
		}
		for phone, want := range st.wantPhoneClubs {
			var got string
			db.View(func(tx *Tx) error {
				c, ok, _ := tx.ClubByChairPhone(phone)
				if ok {
					got = c.Code
				}
				return nil
			})
			if got != want {
				t.Errorf("%s: phone %s → %q, want %q", st.name, phone, got, want)
			}
		}
	}
}

func withPhone(c club.Club, p string) club.Club { c.ChairPhone = p; return c }

func TestImportConflictsWriteNothing(t *testing.T) {
	db := MustOpen(t)
	now := time.Now()
	if _, _, _, err := db.ImportClubs([]club.Club{{Code: "A", Name: "A", Province: "ha-noi", Commune: "X", ChairName: "a", ChairPhone: "0911111111"}}, now); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := db.ImportOfficers([]club.Officer{{Name: "Hà", Phone: "0987654321", Province: "ha-noi", Role: "officer"}}); err != nil {
		t.Fatal(err)
	}
	clubs := []club.Club{
		{Code: "B", Name: "B", Province: "ha-noi", Commune: "X", ChairName: "b", ChairPhone: "0922222222"},
		{Code: "C", Name: "C", Province: "ha-noi", Commune: "X", ChairName: "c", ChairPhone: "0911111111"}, // A's chair
		{Code: "D", Name: "D", Province: "ha-noi", Commune: "X", ChairName: "d", ChairPhone: "0987654321"}, // the officer
	}
	created, updated, conflicts, err := db.ImportClubs(clubs, now)
	if err != nil {
		t.Fatal(err)
	}
	want := []Conflict{
		{Row: 1, Field: "chair_phone", Message: "số điện thoại 0911111111 đã thuộc CLB A (A)"},
		{Row: 2, Field: "chair_phone", Message: "số điện thoại 0987654321 đã là của cán bộ Hà; mỗi số chỉ dùng cho một vai trò"},
	}
	if !reflect.DeepEqual(conflicts, want) || created != 0 || updated != 0 {
		t.Errorf("conflicts %+v (%d, %d), want %+v", conflicts, created, updated, want)
	}
	got, _ := db.Clubs("")
	if len(got) != 1 {
		t.Errorf("%d clubs stored after a refused import, want 1", len(got))
	}
	// The chair of A moves to a new club C while A gets a new chair: no conflict.
	moved := []club.Club{withPhone(clubs[1], "0911111111"), {Code: "A", Name: "A", Province: "ha-noi", Commune: "X", ChairName: "a2", ChairPhone: "0933333333"}}
	if _, _, conflicts, err := db.ImportClubs(moved, now); err != nil || conflicts != nil {
		t.Errorf("moving a chair within one file: %v %+v", err, conflicts)
	}
	_, _, oc, err := db.ImportOfficers([]club.Officer{{Name: "X", Phone: "0933333333", Province: "ha-noi", Role: "officer"}})
	if err != nil || len(oc) != 1 || oc[0].Field != "phone" {
		t.Errorf("officer with a chair's phone: %v %+v", err, oc)
	}
}

func TestCommunes(t *testing.T) {
	db := MustOpen(t)
	var clubs []club.Club
	for i, cm := range []struct{ p, c string }{{"ha-noi", "Xã Sóc Sơn"}, {"ha-noi", "xa soc son"}, {"ha-noi", "Phường Ba Đình"}, {"tuyen-quang", "Xã Bạch Đích"}} {
		clubs = append(clubs, club.Club{Code: fmt.Sprintf("C%d", i), Name: "x", Province: cm.p, Commune: cm.c, ChairName: "x", ChairPhone: fmt.Sprintf("091000000%d", i)})
	}
	if _, _, _, err := db.ImportClubs(clubs, time.Now()); err != nil {
		t.Fatal(err)
	}
	got, err := db.Communes("ha-noi")
	if err != nil {
		t.Fatal(err)
	}
	want := []Commune{{"ha-noi", "Phường Ba Đình", 1}, {"ha-noi", "Xã Sóc Sơn", 2}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("communes %+v, want %+v", got, want)
	}
	all, _ := db.Communes("")
	if len(all) != 3 {
		t.Errorf("all communes: %+v", all)
	}
}

func TestReportPage(t *testing.T) {
	db := MustOpen(t)
	n := 25
	err := db.Update(func(tx *Tx) error {
		for i := 0; i < n; i++ {
			r := club.Report{ClubCode: "C", Province: []string{"ha-noi", "hue"}[i%2], FlowID: "meeting_report",
				MeetingDate: time.Date(2026, 1, 1+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly),
				Answers:     map[string]flows.Answer{"meeting_date": {Type: flows.TypeDate, Date: "2020-01-01"}}}
			if i == 3 {
				r.FlowID = "other"
			}
			if i == 4 {
				r.MeetingDate = "" // an old record without a date: decoded, then filtered
			}
			if _, err := tx.AddReport(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	scan := func(f ReportFilter, limit int) (ids []uint64, pages int) {
		var after uint64
		for {
			page, next, done, err := db.ReportPage(f, after, limit, nil)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, r := range page {
				ids = append(ids, r.ID)
			}
			if done {
				return ids, pages
			}
			after = next
		}
	}
	tests := []struct {
		name  string
		f     ReportFilter
		limit int
		want  []uint64
	}{
		{"range, flow", ReportFilter{From: "2026-01-10", To: "2026-01-13", FlowID: "meeting_report"}, 2, []uint64{10, 11, 12, 13}},
		{"range, province", ReportFilter{From: "2026-01-10", To: "2026-01-13", Province: "hue"}, 3, []uint64{10, 12}},
		{"open start", ReportFilter{To: "2026-01-04"}, 0, []uint64{1, 2, 3, 4}},
		{"open end", ReportFilter{From: "2026-01-24"}, 1, []uint64{24, 25}},
		{"nothing", ReportFilter{From: "2027-01-01"}, 5, nil},
	}
	for _, tt := range tests {
		got, _ := scan(tt.f, tt.limit)
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: ids %v, want %v", tt.name, got, tt.want)
		}
	}
	if all, pages := scan(ReportFilter{}, 10); len(all) != n || pages != 3 {
		t.Errorf("everything: %d reports in %d pages, want %d in 3", len(all), pages, n)
	}
}

// TestMeetingDatePrefilter guards the shortcut of ReportFilter.mayMatch: it takes the first
// `"meeting_date":"` of a record as the report's meeting date, which holds while every field
// encoded before MeetingDate is a scalar (no nested answers or revisions can come first).
func TestMeetingDatePrefilter(t *testing.T) {
	typ := reflect.TypeOf(club.Report{})
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		if f.Name == "MeetingDate" {
			break
		}
		switch f.Type.Kind() {
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Uint64:
		default:
			t.Errorf("club.Report.%s (%s) is encoded before MeetingDate and is not a scalar: store.ReportFilter.mayMatch would misread records", f.Name, f.Type)
		}
	}
	r := club.Report{ID: 1, ClubCode: `"meeting_date":"1999-01-01`, MeetingDate: "2026-05-05",
		Answers: map[string]flows.Answer{"meeting_date": {Type: flows.TypeDate, Date: "2020-01-01"}}}
	raw, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		f    ReportFilter
		want bool
	}{
		{ReportFilter{From: "2026-05-05", To: "2026-05-05"}, true},
		{ReportFilter{From: "2026-05-06"}, false},
		{ReportFilter{To: "2026-05-04"}, false},
		{ReportFilter{To: "2020-01-01"}, false},
	} {
		if got := tt.f.mayMatch(raw); got != tt.want {
			t.Errorf("mayMatch(%+v) = %v, want %v", tt.f, got, tt.want)
		}
	}
}
