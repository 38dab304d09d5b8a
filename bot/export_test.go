package bot

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"clubbot/club"
	"clubbot/flows"
	"clubbot/store"
	"clubbot/templates"
)

func n64(n int64) *int64 { return &n }
func bp(b bool) *bool    { return &b }

// seedReports imports the clubs, links two chairs, publishes a second revision of the
// report flow (a relabelled step and a new one) and stores five reports.
func seedReports(t *testing.T, b *Bot, db *store.DB) {
	t.Helper()
	if w := call(t, b, "POST", "/api/v1/clubs/import", clubsCSV); w.Code != 200 {
		t.Fatal(w.Body)
	}
	rev2 := strings.Replace(string(templates.Flows()[ReportFlow]), "label: Số người dự", "label: Tổng số người dự", 1)
	rev2 = strings.Replace(rev2, "  - name: notes\n", `  - name: members_total
    type: number
    optional: true
    label: Tổng số thành viên
    prompt: CLB hiện có bao nhiêu thành viên ạ?

  - name: notes
`, 1)
	if rev, err := b.flows.Publish(ReportFlow, []byte(rev2), "test", "", testNow); err != nil || rev != 2 {
		t.Fatalf("publish: rev %d, %v", rev, err)
	}
	held := func(id int, date string, people int64) map[string]flows.Answer {
		return map[string]flows.Answer{
			"meeting_held":     {Type: flows.TypeYesNo, Bool: bp(true), Display: "Có"},
			"meeting_date":     {Type: flows.TypeDate, Date: date, Display: "x"},
			"attendance_total": {Type: flows.TypeNumber, Number: n64(people), Display: "x người"},
			"attendance_women": {Type: flows.TypeNumber, Skipped: true, Display: "(bỏ qua)"},
			"areas_active":     {Type: flows.TypeMulti, Choices: []string{"income", "health", "culture"}, Display: "x"},
			"health_checks":    {Type: flows.TypeNumber, Number: n64(30), Display: "30 người"},
			"loans_new_amount": {Type: flows.TypeMoney, Number: n64(15000000), Display: "15.000.000 đồng"},
			"notes":            {Type: flows.TypeText, Text: "Cần thêm máy đo huyết áp", Display: "Cần thêm máy đo huyết áp"},
		}
	}
	created := time.Date(2026, 11, 21, 2, 30, 0, 0, time.UTC) // 09:30 in Hà Nội
	reports := []club.Report{
		{ClubCode: "HN-001", Province: "ha-noi", Commune: "Xã Sóc Sơn", FlowID: ReportFlow, FlowRevision: 1, MeetingDate: "2026-11-20", Held: true,
			Answers: held(1, "2026-11-20", 40), ReporterID: "u-an", CreatedAt: created},
		{ClubCode: "TQ-001", Province: "tuyen-quang", Commune: "Xã Bạch Đích", FlowID: ReportFlow, FlowRevision: 2, MeetingDate: "2026-11-18", Held: true,
			Answers: func() map[string]flows.Answer {
				a := held(2, "2026-11-18", 25)
				a["members_total"] = flows.Answer{Type: flows.TypeNumber, Number: n64(52)}
				a["photos"] = flows.Answer{Type: flows.PhotosKey, Photos: []string{"https://img/1.jpg"}}
				return a
			}(), ReporterID: "u-chien", CreatedAt: created},
		{ClubCode: "HN-002", Province: "ha-noi", Commune: "Phường Ba Đình", FlowID: ReportFlow, FlowRevision: 1, MeetingDate: "2026-11-25", Held: false,
			Answers: map[string]flows.Answer{
				"meeting_held":      {Type: flows.TypeYesNo, Bool: bp(false), Display: "Không"},
				"no_meeting_reason": {Type: flows.TypeText, Text: "Trùng mùa gặt", Display: "Trùng mùa gặt"},
				"notes":             {Type: flows.TypeText, Skipped: true, Display: "(không có)"},
			}, ReporterID: "u-unknown", CreatedAt: created},
		{ClubCode: "HN-001", Province: "ha-noi", Commune: "Xã Sóc Sơn", FlowID: ReportFlow, FlowRevision: 1, MeetingDate: "2026-10-15", Held: true,
			Answers: held(4, "2026-10-15", 33), ReporterID: "u-an", CreatedAt: created.AddDate(0, -1, 0)},
		{ClubCode: "HN-001", Province: "ha-noi", Commune: "Xã Sóc Sơn", FlowID: ReportFlow, FlowRevision: 1, MeetingDate: "2026-11-27", Held: true,
			Answers: held(5, "2026-11-27", 41), ReporterID: "u-an", CreatedAt: created},
	}
	err := db.Update(func(tx *store.Tx) error {
		for _, u := range []club.User{{ID: "u-an", Name: "Nguyễn Văn An"}, {ID: "u-chien", Name: "Lò Văn Chiến"}} {
			if err := tx.PutUser(u); err != nil {
				return err
			}
		}
		for _, r := range reports {
			if _, err := tx.AddReport(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestExportQueryErrors(t *testing.T) {
	b, _ := newAdminBot(t, testAdminToken)
	for _, q := range []string{
		"from=2026-13-01", "to=20/11/2026", "from=2026-2-1", "from=2026-11-30&to=2026-11-01",
		"format=pdf", "province=atlantis", "form=2026-11-01",
	} {
		w := call(t, b, "GET", "/api/v1/reports?"+q, "")
		if w.Code != 400 {
			t.Errorf("%s: status %d, want 400: %s", q, w.Code, w.Body)
			continue
		}
		if msg, _ := decode(t, w)["error"].(string); msg == "" {
			t.Errorf("%s: no message", q)
		}
	}
}

func TestExportCSV(t *testing.T) {
	b, db := newAdminBot(t, testAdminToken)
	seedReports(t, b, db)
	w := call(t, b, "GET", "/api/v1/reports?from=2026-11-01&to=2026-11-26&format=csv", "")
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if got := w.Header().Get("Content-Disposition"); got != `attachment; filename="bao-cao_2026-11-01_2026-11-26.csv"` {
		t.Errorf("Content-Disposition %q", got)
	}
	if got := w.Header().Get("Content-Type"); got != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", got)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(w.Body.String(), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 {
		t.Fatalf("%d lines, want header + 3 reports (ids 1-3):\n%s", len(recs), w.Body)
	}
	head := recs[0]
	col := func(h string) int {
		for i, v := range head {
			if v == h {
				return i
			}
		}
		t.Fatalf("no column %q in %q", h, head)
		return -1
	}
	// The relabelled step takes the new label; the step only revision 2 has is there once.
	wantHead := []string{"Mã báo cáo", "Mã CLB", "Tên CLB", "Tỉnh/Thành phố", "Xã/Phường", "Ngày họp/kỳ báo cáo", "Người báo cáo", "Thời điểm gửi", "Phiên bản mẫu",
		"Tháng này có họp", "Lý do chưa họp", "Ngày họp", "Tổng số người dự", "Số nữ", "Số người từ 60 tuổi", "Mảng hoạt động",
		"Số người đo huyết áp", "Số người được chăm sóc tại nhà", "Số người được vay vốn", "Số tiền cho vay", "Thành viên mới",
		"Tổng số thành viên", "Khó khăn, đề nghị", "Ảnh", "Vị trí"}
	if !reflect.DeepEqual(head, wantHead) {
		t.Errorf("header\n got %q\nwant %q", head, wantHead)
	}
	want := map[string]map[string]string{
		"1": {"Mã CLB": "HN-001", "Tên CLB": "CLB Liên thế hệ thôn Đông", "Tỉnh/Thành phố": "Thành phố Hà Nội", "Ngày họp/kỳ báo cáo": "2026-11-20",
			"Người báo cáo": "Nguyễn Văn An", "Thời điểm gửi": "2026-11-21 09:30:00", "Phiên bản mẫu": "1", "Tháng này có họp": "Có",
			"Tổng số người dự": "40", "Số nữ": "", "Mảng hoạt động": "Thu nhập, Sức khỏe, Văn hóa – tinh thần", "Số tiền cho vay": "15000000",
			"Tổng số thành viên": "", "Khó khăn, đề nghị": "Cần thêm máy đo huyết áp"},
		"2": {"Mã CLB": "TQ-001", "Tỉnh/Thành phố": "Tuyên Quang", "Xã/Phường": "Xã Bạch Đích", "Phiên bản mẫu": "2", "Tổng số người dự": "25",
			"Tổng số thành viên": "52", "Ảnh": "https://img/1.jpg", "Người báo cáo": "Lò Văn Chiến"},
		"3": {"Tháng này có họp": "Không", "Lý do chưa họp": "Trùng mùa gặt", "Ngày họp": "", "Tổng số người dự": "", "Khó khăn, đề nghị": "",
			"Người báo cáo": "u-unknown"},
	}
	for _, rec := range recs[1:] {
		for h, v := range want[rec[0]] {
			if got := rec[col(h)]; got != v {
				t.Errorf("report %s, %s = %q, want %q", rec[0], h, got, v)
			}
		}
	}
	// A province filter by former name.
	w = call(t, b, "GET", "/api/v1/reports?province=Ha%20Giang&format=csv", "")
	recs, _ = csv.NewReader(strings.NewReader(strings.TrimPrefix(w.Body.String(), "\ufeff"))).ReadAll()
	if len(recs) != 2 || recs[1][1] != "TQ-001" {
		t.Errorf("province filter: %q", recs)
	}
}

func TestExportJSON(t *testing.T) {
	b, db := newAdminBot(t, testAdminToken)
	seedReports(t, b, db)
	tests := []struct {
		query string
		ids   []float64
	}{
		{"", []float64{1, 2, 3, 4, 5}},
		{"?from=2026-11-20", []float64{1, 3, 5}},
		{"?to=2026-11-18", []float64{2, 4}},
		{"?from=2026-11-18&to=2026-11-18", []float64{2}},
		{"?province=ha-noi&from=2026-11-01&to=2026-11-30", []float64{1, 3, 5}},
		{"?from=2030-01-01", nil},
	}
	for _, tt := range tests {
		w := call(t, b, "GET", "/api/v1/reports"+tt.query, "")
		if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
			t.Fatalf("%s: %d %s", tt.query, w.Code, w.Header())
		}
		var got struct {
			Columns []struct{ Key, Label string }
			Reports []map[string]any
			Count   int
		}
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatalf("%s: %v\n%s", tt.query, err, w.Body)
		}
		var ids []float64
		for _, r := range got.Reports {
			ids = append(ids, r["id"].(float64))
		}
		if !reflect.DeepEqual(ids, tt.ids) || got.Count != len(tt.ids) {
			t.Errorf("%s: ids %v (count %d), want %v", tt.query, ids, got.Count, tt.ids)
		}
		if tt.query == "" {
			a := got.Reports[0]["answers"].(map[string]any)
			if a["attendance_total"] != 40.0 || a["attendance_women"] != nil || a["meeting_held"] != "Có" || a["meeting_date"] != "2026-11-20" {
				t.Errorf("typed answers: %v", a)
			}
		}
	}
}

func TestExportXLSX(t *testing.T) {
	b, db := newAdminBot(t, testAdminToken)
	seedReports(t, b, db)
	w := call(t, b, "GET", "/api/v1/reports?from=2026-11-01&to=2026-11-30&format=xlsx", "")
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	if got := w.Header().Get("Content-Disposition"); !strings.Contains(got, "bao-cao_2026-11-01_2026-11-30.xlsx") {
		t.Errorf("Content-Disposition %q", got)
	}
	f, err := excelize.OpenReader(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); !reflect.DeepEqual(got, []string{SheetReports, SheetTotals}) {
		t.Fatalf("sheets %q", got)
	}
	rows, err := f.GetRows(SheetReports)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 5 {
		t.Fatalf("%d rows, want header + 4", len(rows))
	}
	cells := map[string]string{"A1": "Mã báo cáo", "M1": "Tổng số người dự", "A2": "1", "B2": "HN-001", "D2": "Thành phố Hà Nội",
		"F2": "2026-11-20", "J2": "Có", "M2": "40", "N2": "", "P2": "Thu nhập, Sức khỏe, Văn hóa – tinh thần", "T2": "15000000",
		"B3": "TQ-001", "D3": "Tuyên Quang", "V3": "52", "J4": "Không", "K4": "Trùng mùa gặt"}
	for ref, want := range cells {
		if got, _ := f.GetCellValue(SheetReports, ref); got != want {
			t.Errorf("%s!%s = %q, want %q", SheetReports, ref, got, want)
		}
	}
	// Numbers are numbers, not text: a sum in Excel must work.
	for _, ref := range []string{"A2", "M2", "T2", "I2"} {
		if typ, _ := f.GetCellType(SheetReports, ref); typ == excelize.CellTypeInlineString || typ == excelize.CellTypeSharedString {
			t.Errorf("%s is text (%v), want a number", ref, typ)
		}
	}
	tot, err := f.GetRows(SheetTotals)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"Tỉnh/Thành phố", "Xã/Phường", "Số báo cáo", "Số CLB báo cáo", "Số báo cáo có họp", "Tổng số người dự"},
		{"Thành phố Hà Nội", "Phường Ba Đình", "1", "1", "0", "0"},
		{"Thành phố Hà Nội", "Xã Sóc Sơn", "2", "1", "2", "81"},
		{"Thành phố Hà Nội", "Cộng Thành phố Hà Nội", "3", "2", "2", "81"},
		{"Tuyên Quang", "Xã Bạch Đích", "1", "1", "1", "25"},
		{"Tuyên Quang", "Cộng Tuyên Quang", "1", "1", "1", "25"},
		{"Tổng cộng", "", "4", "3", "3", "106"},
	}
	if !reflect.DeepEqual(tot, want) {
		t.Errorf("totals\n got %q\nwant %q", tot, want)
	}
}
