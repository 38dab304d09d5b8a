package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"clubbot/zalosim"
)

const e2eAdminToken = "e2e-admin-token-0123456789"

// startBareEnv is startEnvWith on an empty store (no demo data): the test fills the registry
// through the admin API.
func startBareEnv(t *testing.T, tweak func(*Config)) *testEnv {
	t.Helper()
	e := &testEnv{t: t}
	e.sim = zalosim.New(zalosim.Config{AppID: "1027192766115822600", OAID: "2910835123456789012",
		OASecretKey: "FAKE_OA_SECRET_KEY_123", AppSecret: "app-secret-test",
		AccessToken: "access-token-0", RefreshToken: "refresh-token-0"})
	e.simSrv = httptest.NewServer(e.sim.APIHandler())
	t.Cleanup(e.simSrv.Close)
	e.cfg = testConfig(t, t.TempDir(), e.simSrv.URL)
	if tweak != nil {
		tweak(&e.cfg)
	}
	e.start()
	t.Cleanup(e.stop)
	return e
}

// api calls the admin API with the token (or with auth, when given) and returns the status,
// headers and body.
func (e *testEnv) api(method, path, body string, auth ...string) (int, http.Header, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if auth == nil {
		req.Header.Set("Authorization", "Bearer "+e2eAdminToken)
	} else if auth[0] != "" {
		req.Header.Set("Authorization", auth[0])
	}
	if body != "" {
		req.Header.Set("Content-Type", "text/csv; charset=utf-8")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

const e2eClubs = `code,name,province,commune,village,chair_name,chair_phone,members,founded_on
HG-101,CLB Liên thế hệ thôn Khiềm,Hà Giang,Xã Bắc Quang,Thôn Khiềm,Hoàng Văn Khiềm,0916 101 101,45,01/04/2023
HN-201,CLB Liên thế hệ thôn Hải Bối,TP Hà Nội,Xã Đông Anh,Thôn Hải Bối,Đỗ Thị Hải,+84 916 202 202,60,2020-01-15
`

const e2eOfficers = `name,phone,province,role
Vũ Thị Tuyên,0916 303 303,Tuyên Quang,officer
Lê Quốc Hội,0916404404,,admin
`

// TestAdminImportReportExport: import clubs (one under a pre-2025 province name) and officers
// through the admin API, refuse a bad file, onboard a chair by typed phone, take a report
// through the simulated Zalo, then list the clubs and export the report as CSV and XLSX.
func TestAdminImportReportExport(t *testing.T) {
	e := startBareEnv(t, func(c *Config) { c.Admin.APIToken = e2eAdminToken })

	if st, _, _ := e.api("GET", "/api/v1/clubs", "", ""); st != 401 {
		t.Fatalf("no token: status %d, want 401", st)
	}
	if st, _, _ := e.api("POST", "/api/v1/clubs/import", e2eClubs, "Bearer wrong"); st != 401 {
		t.Fatalf("wrong token: status %d, want 401", st)
	}
	for _, step := range []struct{ path, body, want string }{
		{"/api/v1/clubs/import", e2eClubs, `{"created":2,"updated":0}`},
		{"/api/v1/clubs/import", e2eClubs, `{"created":0,"updated":0}`},
		{"/api/v1/officers/import", e2eOfficers, `{"created":2,"updated":0}`},
		{"/api/v1/officers/import", e2eOfficers, `{"created":0,"updated":0}`},
	} {
		if st, _, body := e.api("POST", step.path, step.body); st != 200 || string(body) != step.want {
			t.Fatalf("POST %s: %d %s, want 200 %s", step.path, st, body, step.want)
		}
	}
	bad := e2eClubs + `HN-202,CLB Mới,Hà Nội,Xã Đông Anh,,Người Mới,0916 12,30,
HN-203,CLB Lạ,Xứ Sở,Xã Lạ,,Người Lạ,0916505505,30,
HG-101,CLB Trùng,Hà Giang,Xã Bắc Quang,,Người Trùng,0916606606,30,
HN-204,CLB Cán Bộ,Hà Nội,Xã Đông Anh,,Vũ Thị Tuyên,0916303303,30,
`
	st, _, body := e.api("POST", "/api/v1/clubs/import", bad)
	var refused struct {
		Errors []struct {
			Line  int    `json:"line"`
			Field string `json:"field"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &refused); err != nil || st != 422 {
		t.Fatalf("bad file: %d %s", st, body)
	}
	var lines []string
	for _, er := range refused.Errors {
		lines = append(lines, strconv.Itoa(er.Line)+":"+er.Field)
	}
	if got := strings.Join(lines, " "); got != "4:chair_phone 5:province 6:code 7:chair_phone" {
		t.Errorf("422 lines %q, want every bad line", got)
	}

	// The chair follows, gets the card, types the phone instead of sharing it.
	chair := e.sim.AddUser(zalosim.User{Name: "Khiềm", Phone: "0916101101"}).ID
	if d, err := e.sim.Follow(chair); err != nil || d.Status != 200 {
		t.Fatalf("follow: %d %v", d.Status, err)
	}
	e.wait(chair, 0, 2)
	mustContain(t, e.say(chair, "0916 101 101", 1), "CLB Liên thế hệ thôn Khiềm")
	mustContain(t, e.say(chair, "báo cáo", 1), "đã họp chưa")
	mustContain(t, e.say(chair, "có", 1), "họp ngày nào")
	mustContain(t, e.say(chair, "hôm nay", 1), "bao nhiêu người dự")
	mustContain(t, e.say(chair, "38", 1), "nữ")
	mustContain(t, e.say(chair, "20", 1), "60 tuổi")
	mustContain(t, e.say(chair, "bỏ qua", 1), "mảng hoạt động")
	mustContain(t, e.say(chair, "1 2", 1), "đo huyết áp")
	mustContain(t, e.say(chair, "25", 1), "vay vốn")
	mustContain(t, e.say(chair, "3", 1), "số tiền cho vay")
	mustContain(t, e.say(chair, "15 triệu", 1), "thành viên mới")
	mustContain(t, e.say(chair, "2", 1), "khó khăn hay đề nghị")
	mustContain(t, e.say(chair, "Cần thêm máy đo huyết áp", 1), "Bác xem lại báo cáo")
	mustContain(t, e.say(chair, "đồng ý", 1), "Cảm ơn Bác")

	// The clubs list shows the linked chair under the new province.
	st, _, body = e.api("GET", "/api/v1/clubs?province=tuyen-quang", "")
	var list struct {
		Clubs []struct {
			Code      string `json:"code"`
			ChairUser *struct {
				ID string `json:"id"`
			} `json:"chair_user"`
		} `json:"clubs"`
	}
	if err := json.Unmarshal(body, &list); err != nil || st != 200 {
		t.Fatalf("clubs: %d %s", st, body)
	}
	if len(list.Clubs) != 1 || list.Clubs[0].Code != "HG-101" || list.Clubs[0].ChairUser == nil || list.Clubs[0].ChairUser.ID != chair {
		t.Errorf("clubs of tuyen-quang: %s", body)
	}

	loc, _ := time.LoadLocation("Asia/Ho_Chi_Minh")
	today := time.Now().In(loc)
	from, to := today.AddDate(0, 0, -1).Format(time.DateOnly), today.AddDate(0, 0, 1).Format(time.DateOnly)
	want := map[string]string{
		"Mã CLB": "HG-101", "Tên CLB": "CLB Liên thế hệ thôn Khiềm", "Tỉnh/Thành phố": "Tuyên Quang", "Xã/Phường": "Xã Bắc Quang",
		"Ngày họp/kỳ báo cáo": today.Format(time.DateOnly), "Người báo cáo": "Hoàng Văn Khiềm", "Phiên bản mẫu": "1",
		"Tháng này có họp": "Có", "Ngày họp": today.Format(time.DateOnly), "Số người dự": "38", "Số nữ": "20", "Số người từ 60 tuổi": "",
		"Mảng hoạt động": "Thu nhập, Sức khỏe", "Số người đo huyết áp": "25", "Số người được vay vốn": "3",
		"Số tiền cho vay": "15000000", "Thành viên mới": "2", "Khó khăn, đề nghị": "Cần thêm máy đo huyết áp",
	}

	st, hdr, body := e.api("GET", "/api/v1/reports?format=csv&province=tuyen-quang&from="+from+"&to="+to, "")
	if st != 200 || !strings.Contains(hdr.Get("Content-Disposition"), ".csv") {
		t.Fatalf("csv export: %d %v %s", st, hdr, body)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\ufeff")))).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("csv: %v, %d lines:\n%s", err, len(recs), body)
	}
	for i, h := range recs[0] {
		if w, ok := want[h]; ok && recs[1][i] != w {
			t.Errorf("csv %s = %q, want %q", h, recs[1][i], w)
		}
	}
	if len(recs[0]) < len(want) {
		t.Errorf("csv header %q lacks columns", recs[0])
	}

	st, _, body = e.api("GET", "/api/v1/reports?format=xlsx&from="+from+"&to="+to, "")
	if st != 200 {
		t.Fatalf("xlsx export: %d %s", st, body)
	}
	f, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows("Báo cáo")
	if err != nil || len(rows) != 2 {
		t.Fatalf("xlsx rows: %v %q", err, rows)
	}
	seen := 0
	for i, h := range rows[0] {
		w, ok := want[h]
		if !ok {
			continue
		}
		seen++
		ref, _ := excelize.CoordinatesToCellName(i+1, 2)
		if got, _ := f.GetCellValue("Báo cáo", ref); got != w {
			t.Errorf("xlsx %s (%s) = %q, want %q", h, ref, got, w)
		}
	}
	if seen != len(want) {
		t.Errorf("xlsx has %d of the %d expected columns: %q", seen, len(want), rows[0])
	}
	tot, _ := f.GetRows("Tổng hợp")
	wantTot := [][]string{
		{"Tỉnh/Thành phố", "Xã/Phường", "Số báo cáo", "Số CLB báo cáo", "Số báo cáo có họp", "Tổng số người dự"},
		{"Tuyên Quang", "Xã Bắc Quang", "1", "1", "1", "38"},
		{"Tuyên Quang", "Cộng Tuyên Quang", "1", "1", "1", "38"},
		{"Tổng cộng", "", "1", "1", "1", "38"},
	}
	if strings.Join(flatten(tot), "|") != strings.Join(flatten(wantTot), "|") {
		t.Errorf("totals sheet\n got %q\nwant %q", tot, wantTot)
	}
}

func flatten(rows [][]string) []string {
	var out []string
	for _, r := range rows {
		out = append(out, strings.Join(r, ","))
	}
	return out
}
