package export

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Ho_Chi_Minh without system tz data

	"clubbot/club"
	"clubbot/flows"
	"clubbot/templates"
)

func mustParse(t *testing.T, src string) *flows.Flow {
	t.Helper()
	f, err := flows.Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// Three revisions of a small flow: rev 2 relabels "people" and adds "women" after it and
// drops "topic"; rev 3 moves "held" after "people" and drops "women".
var (
	rev1 = `id: t
title: T
steps:
  - name: held
    type: yesno
    label: Có họp
    prompt: Có họp không?
  - name: topic
    type: text
    label: Chủ đề
    prompt: Chủ đề?
  - name: people
    type: number
    label: Người dự
    prompt: Bao nhiêu người?
  - name: areas
    type: multi
    label: Mảng
    prompt: Mảng nào?
    options:
      - {code: health, label: Sức khỏe cũ}
      - {code: culture, label: Văn hóa}
      - {code: none, label: Không có, none: true}
  - name: confirm
    type: confirm
    prompt: Xem lại
`
	rev2 = `id: t
title: T
steps:
  - name: held
    type: yesno
    label: Có họp
    prompt: Có họp không?
  - name: people
    type: number
    label: Số người dự
    prompt: Bao nhiêu người?
  - name: women
    type: number
    prompt: Bao nhiêu nữ?
  - name: areas
    type: multi
    label: Mảng
    prompt: Mảng nào?
    options:
      - {code: health, label: Sức khỏe}
      - {code: culture, label: Văn hóa}
      - {code: none, label: Không có, none: true}
  - name: confirm
    type: confirm
    prompt: Xem lại
`
	rev3 = `id: t
title: T
steps:
  - name: people
    type: number
    label: Số người dự
    prompt: Bao nhiêu người?
  - name: held
    type: yesno
    label: Có họp
    prompt: Có họp không?
  - name: areas
    type: multi
    label: Mảng hoạt động
    prompt: Mảng nào?
    options:
      - {code: health, label: Sức khỏe}
      - {code: culture, label: Văn hóa – tinh thần}
      - {code: none, label: Không có, none: true}
  - name: when
    type: date
    label: Ngày
    prompt: Ngày nào?
  - name: confirm
    type: confirm
    prompt: Xem lại
`
)

func keys(cols []Column) []string {
	var out []string
	for _, c := range cols {
		out = append(out, c.Key+"="+c.Header)
	}
	return out
}

func TestNewLayoutAcrossRevisions(t *testing.T) {
	tests := []struct {
		name string
		revs []string
		want []string
	}{
		{"one revision", []string{rev1}, []string{"held=Có họp", "topic=Chủ đề", "people=Người dự", "areas=Mảng", "photos=Ảnh", "location=Vị trí"}},
		{"added step, renamed label, dropped step kept after its predecessor", []string{rev1, rev2},
			[]string{"held=Có họp", "topic=Chủ đề", "people=Số người dự", "women=women", "areas=Mảng", "photos=Ảnh", "location=Vị trí"}},
		{"latest order wins; steps only in old revisions follow their old predecessor", []string{rev1, rev2, rev3},
			[]string{"people=Số người dự", "women=women", "held=Có họp", "topic=Chủ đề", "areas=Mảng hoạt động", "when=Ngày", "photos=Ảnh", "location=Vị trí"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var revs []*flows.Flow
			for _, src := range tt.revs {
				revs = append(revs, mustParse(t, src))
			}
			got := keys(NewLayout(revs).Answers)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("columns\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestLayoutDefaultFlowHeaders(t *testing.T) {
	l := NewLayout([]*flows.Flow{mustParse(t, string(templates.Flows()["meeting_report"]))})
	got := map[string]string{}
	for _, c := range l.Answers {
		got[c.Key] = c.Header
	}
	for k, want := range map[string]string{"attendance_total": "Số người dự", "meeting_held": "Tháng này có họp",
		"areas_active": "Mảng hoạt động", "loans_new_amount": "Số tiền cho vay", "notes": "Khó khăn, đề nghị"} {
		if got[k] != want {
			t.Errorf("header of %s = %q, want %q", k, got[k], want)
		}
	}
	if _, ok := got["confirm"]; ok {
		t.Error("the confirm step has no answer and must not be a column")
	}
}

func num(n int64) *int64 { return &n }
func yes(b bool) *bool   { return &b }

func TestAnswerCells(t *testing.T) {
	l := NewLayout([]*flows.Flow{mustParse(t, rev1), mustParse(t, rev3)})
	tests := []struct {
		step string
		a    flows.Answer
		ok   bool
		want any
	}{
		{"people", flows.Answer{Type: flows.TypeNumber, Number: num(40), Display: "40 người"}, true, int64(40)},
		{"people", flows.Answer{Type: flows.TypeMoney, Number: num(15000000), Display: "15.000.000 đồng"}, true, int64(15000000)},
		{"people", flows.Answer{Type: flows.TypeNumber, Skipped: true, Display: "(bỏ qua)"}, true, nil},
		{"people", flows.Answer{}, false, nil},
		{"held", flows.Answer{Type: flows.TypeYesNo, Bool: yes(true), Display: "Có"}, true, "Có"},
		{"held", flows.Answer{Type: flows.TypeYesNo, Bool: yes(false), Display: "Không"}, true, "Không"},
		{"when", flows.Answer{Type: flows.TypeDate, Date: "2026-11-20", Display: "20/11/2026"}, true, "2026-11-20"},
		// labels come from the latest revision that has the option, not from what was shown then
		{"areas", flows.Answer{Type: flows.TypeMulti, Choices: []string{"health", "culture"}, Display: "Sức khỏe cũ, Văn hóa"}, true, "Sức khỏe, Văn hóa – tinh thần"},
		{"areas", flows.Answer{Type: flows.TypeMulti, Choices: []string{"gone"}}, true, "gone"},
		{"areas", flows.Answer{Type: flows.TypeMulti, Display: "Không có"}, true, "Không có"},
		{"topic", flows.Answer{Type: flows.TypeText, Text: "Dưỡng sinh", Display: "Dưỡng sinh"}, true, "Dưỡng sinh"},
		{"topic", flows.Answer{Type: flows.TypeText, Skipped: true, Display: "(không có)"}, true, nil},
		{"photos", flows.Answer{Type: flows.PhotosKey, Photos: []string{"https://a/1.jpg", "https://a/2.jpg"}, Display: "2 ảnh"}, true, "https://a/1.jpg\nhttps://a/2.jpg"},
	}
	for _, tt := range tests {
		if got := l.Answer(tt.step, tt.a, tt.ok).Value(); got != tt.want {
			t.Errorf("Answer(%s, %+v) = %#v, want %#v", tt.step, tt.a, got, tt.want)
		}
	}
}

var hcm, _ = time.LoadLocation("Asia/Ho_Chi_Minh")

func sampleReport() club.Report {
	return club.Report{ID: 7, ClubCode: "TQ-001", Province: "tuyen-quang", Commune: "Xã Bạch Đích", FlowID: "t",
		FlowRevision: 1, MeetingDate: "2026-11-20", Held: true, ReporterID: "1234",
		CreatedAt: time.Date(2026, 11, 25, 3, 0, 0, 0, time.UTC),
		Answers: map[string]flows.Answer{
			"held":   {Type: flows.TypeYesNo, Bool: yes(true), Display: "Có"},
			"topic":  {Type: flows.TypeText, Text: "=HYPERLINK(\"x\")", Display: "=HYPERLINK(\"x\")"},
			"people": {Type: flows.TypeNumber, Number: num(35), Display: "35 người"},
			"areas":  {Type: flows.TypeMulti, Choices: []string{"health"}, Display: "Sức khỏe"},
		}}
}

func TestCSV(t *testing.T) {
	l := NewLayout([]*flows.Flow{mustParse(t, rev1)})
	var buf bytes.Buffer
	w, err := NewCSV(&buf, l, hcm)
	if err != nil {
		t.Fatal(err)
	}
	r := sampleReport()
	if err := w.Write(&r, Meta{ClubName: "CLB Nà Khá", ProvinceName: "Tuyên Quang", Reporter: "Lò Văn Chiến"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(buf.String(), "\ufeff") {
		t.Error("no byte-order mark: Excel would not read the file as UTF-8")
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(buf.String(), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"Mã báo cáo", "Mã CLB", "Tên CLB", "Tỉnh/Thành phố", "Xã/Phường", "Ngày họp/kỳ báo cáo", "Người báo cáo", "Thời điểm gửi", "Phiên bản mẫu",
			"Có họp", "Chủ đề", "Người dự", "Mảng", "Ảnh", "Vị trí"},
		{"7", "TQ-001", "CLB Nà Khá", "Tuyên Quang", "Xã Bạch Đích", "2026-11-20", "Lò Văn Chiến", "2026-11-25 10:00:00", "1",
			"Có", `'=HYPERLINK("x")`, "35", "Sức khỏe cũ", "", ""},
	}
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("csv\n got %q\nwant %q", recs, want)
	}
}

func TestJSON(t *testing.T) {
	l := NewLayout([]*flows.Flow{mustParse(t, rev1)})
	var buf bytes.Buffer
	w, err := NewJSON(&buf, l)
	if err != nil {
		t.Fatal(err)
	}
	r := sampleReport()
	for range 2 {
		if err := w.Write(&r, Meta{ClubName: "CLB Nà Khá", ProvinceName: "Tuyên Quang", Reporter: "Lò Văn Chiến"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Columns []Column         `json:"columns"`
		Reports []map[string]any `json:"reports"`
		Count   int              `json:"count"`
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, buf.String())
	}
	if got.Count != 2 || len(got.Reports) != 2 || len(got.Columns) != len(Fixed)+6 {
		t.Fatalf("count %d, %d reports, %d columns", got.Count, len(got.Reports), len(got.Columns))
	}
	rep := got.Reports[0]
	for k, want := range map[string]any{"id": 7.0, "club_code": "TQ-001", "province": "tuyen-quang", "province_name": "Tuyên Quang",
		"reporter": "Lò Văn Chiến", "reporter_id": "1234", "created_at": "2026-11-25T03:00:00Z", "flow_revision": 1.0, "meeting_date": "2026-11-20"} {
		if rep[k] != want {
			t.Errorf("%s = %#v, want %#v", k, rep[k], want)
		}
	}
	ans := rep["answers"].(map[string]any)
	wantAns := map[string]any{"held": "Có", "topic": `=HYPERLINK("x")`, "people": 35.0, "areas": "Sức khỏe cũ", "photos": nil, "location": nil}
	if !reflect.DeepEqual(ans, wantAns) {
		t.Errorf("answers\n got %#v\nwant %#v", ans, wantAns)
	}
}

func TestTotals(t *testing.T) {
	p := club.MustLoadProvinces()
	tot := NewTotals()
	add := func(code, province, commune string, held bool, people int64) {
		r := club.Report{ClubCode: code, Province: province, Commune: commune, Held: held, Answers: map[string]flows.Answer{}}
		if people > 0 {
			r.Answers[AttendanceStep] = flows.Answer{Type: flows.TypeNumber, Number: num(people)}
		}
		tot.Add(&r)
	}
	add("TQ-1", "tuyen-quang", "Xã Bạch Đích", true, 30)
	add("TQ-1", "tuyen-quang", "xa bach dich", true, 20) // same commune, other spelling; same club
	add("TQ-2", "tuyen-quang", "Xã Bạch Đích", false, 0)
	add("TQ-3", "tuyen-quang", "Phường Hà Giang 1", true, 10)
	add("HN-1", "ha-noi", "Xã Sóc Sơn", true, 40)
	got := tot.Rows(p)
	want := []TotalRow{
		{Level: LevelCommune, Province: "Thành phố Hà Nội", Commune: "Xã Sóc Sơn", Reports: 1, Held: 1, Clubs: 1, Attendance: 40},
		{Level: LevelProvince, Province: "Thành phố Hà Nội", Reports: 1, Held: 1, Clubs: 1, Attendance: 40},
		{Level: LevelCommune, Province: "Tuyên Quang", Commune: "Phường Hà Giang 1", Reports: 1, Held: 1, Clubs: 1, Attendance: 10},
		{Level: LevelCommune, Province: "Tuyên Quang", Commune: "Xã Bạch Đích", Reports: 3, Held: 2, Clubs: 2, Attendance: 50},
		{Level: LevelProvince, Province: "Tuyên Quang", Reports: 4, Held: 3, Clubs: 3, Attendance: 60},
		{Level: LevelAll, Reports: 5, Held: 4, Clubs: 4, Attendance: 100},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("totals\n got %+v\nwant %+v", got, want)
	}
}
