package bot

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Ho_Chi_Minh without system tz data

	"github.com/rs/zerolog"

	"clubbot/club"
	"clubbot/store"
)

const testAdminToken = "s3cret-admin-token"

var testNow = time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("ICT", 7*3600))

// newAdminBot is a Bot on a fresh store with the admin API on (token) or off ("").
func newAdminBot(t *testing.T, token string) (*Bot, *store.DB) {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "c.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Check(); err != nil {
			t.Errorf("bbolt check: %v", err)
		}
		db.Close()
	})
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(Options{DB: db, Log: zerolog.Nop(), AppID: testAppID, OAID: testOAID, OASecret: testSecret,
		APIBase: "http://127.0.0.1:1", OAuthBase: "http://127.0.0.1:1", AdminToken: token, Loc: loc,
		Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return b, db
}

// call sends one request through the real router, with the admin token unless auth is set.
func call(t *testing.T, b *Bot, method, target, body string, auth ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if auth == nil {
		req.Header.Set("Authorization", "Bearer "+testAdminToken)
	} else if auth[0] != "" {
		req.Header.Set("Authorization", auth[0])
	}
	w := httptest.NewRecorder()
	b.Handler().ServeHTTP(w, req)
	return w
}

func TestAdminAuth(t *testing.T) {
	on, _ := newAdminBot(t, testAdminToken)
	off, _ := newAdminBot(t, "")
	tests := []struct {
		name   string
		b      *Bot
		path   string
		header string
		want   int
	}{
		{"api off: 404 even with a token", off, "/api/v1/clubs", "Bearer " + testAdminToken, 404},
		{"api off: 404 without", off, "/api/v1/reports", "", 404},
		{"no header", on, "/api/v1/clubs", "", 401},
		{"wrong token", on, "/api/v1/clubs", "Bearer nope", 401},
		{"token as a prefix", on, "/api/v1/clubs", "Bearer " + testAdminToken[:5], 401},
		{"longer token", on, "/api/v1/clubs", "Bearer " + testAdminToken + "x", 401},
		{"basic scheme", on, "/api/v1/clubs", "Basic " + testAdminToken, 401},
		{"no scheme", on, "/api/v1/clubs", testAdminToken, 401},
		{"import without token", on, "/api/v1/clubs/import", "", 401},
		{"right token", on, "/api/v1/clubs", "Bearer " + testAdminToken, 200},
		{"scheme is case-insensitive", on, "/api/v1/reports", "bearer " + testAdminToken, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := "GET"
			if strings.HasSuffix(tt.path, "import") {
				method = "POST"
			}
			w := call(t, tt.b, method, tt.path, "", tt.header)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if tt.want == 401 && w.Header().Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
}

const clubsCSV = `code,name,province,commune,village,chair_name,chair_phone,members,founded_on
HN-001,CLB Liên thế hệ thôn Đông,Hà Nội,Xã Sóc Sơn,Thôn Đông,Nguyễn Văn An,0912 345 678,58,2019-05-12
HN-002,CLB Liên thế hệ tổ dân phố 5,ha-noi,Phường Ba Đình,Tổ dân phố 5,Trần Thị Bình,+84 913 222 333,62,2021-09-01
TQ-001,CLB Liên thế hệ thôn Nà Khá,Ha Giang,Xã Bạch Đích,Thôn Nà Khá,Lò Văn Chiến,0915.444.555,50,20/03/2022
`

const officersCSV = "name,phone,province,role\nPhạm Thu Hà,0987 654 321,Hà Nội,officer\nLê Văn Quốc,0977000111,,admin\n"

func decode(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("not JSON (%d): %s", w.Code, w.Body)
	}
	return m
}

func TestImportClubs(t *testing.T) {
	b, db := newAdminBot(t, testAdminToken)
	edited := strings.Replace(clubsCSV, "Nguyễn Văn An,0912 345 678,58", "Nguyễn Văn An,0912 345 678,60", 1)
	steps := []struct {
		name string
		body string
		want string
	}{
		{"first import", clubsCSV, `{"created":3,"updated":0}`},
		{"same file again changes nothing", clubsCSV, `{"created":0,"updated":0}`},
		{"with a BOM and CRLF, still nothing", "\ufeff" + strings.ReplaceAll(clubsCSV, "\n", "\r\n"), `{"created":0,"updated":0}`},
		{"one row edited", edited, `{"created":0,"updated":1}`},
		{"header only", "code,name,province,commune,village,chair_name,chair_phone,members,founded_on\n", `{"created":0,"updated":0}`},
	}
	for _, st := range steps {
		w := call(t, b, "POST", "/api/v1/clubs/import", st.body)
		if w.Code != 200 || w.Body.String() != st.want {
			t.Errorf("%s: %d %s, want 200 %s", st.name, w.Code, w.Body, st.want)
		}
	}
	var tq club.Club
	db.View(func(tx *store.Tx) error { tq, _, _ = tx.Club("tq-001"); return nil })
	want := club.Club{Code: "TQ-001", Name: "CLB Liên thế hệ thôn Nà Khá", Province: "tuyen-quang", Commune: "Xã Bạch Đích",
		Village: "Thôn Nà Khá", ChairName: "Lò Văn Chiến", ChairPhone: "0915444555", Members: 50, FoundedOn: "2022-03-20", UpdatedAt: tq.UpdatedAt}
	if !tq.Equal(want) {
		t.Errorf("club filed under Hà Giang:\n got %+v\nwant %+v", tq, want)
	}
	communes, _ := db.Communes("tuyen-quang")
	if len(communes) != 1 || communes[0].Name != "Xã Bạch Đích" {
		t.Errorf("communes of tuyen-quang: %+v", communes)
	}
}

// TestImportBadRows: every bad line is listed with its field, and nothing is written.
func TestImportBadRows(t *testing.T) {
	b, db := newAdminBot(t, testAdminToken)
	if w := call(t, b, "POST", "/api/v1/clubs/import", clubsCSV); w.Code != 200 {
		t.Fatal(w.Body)
	}
	if w := call(t, b, "POST", "/api/v1/officers/import", officersCSV); w.Code != 200 {
		t.Fatal(w.Body)
	}
	before, _ := db.Clubs("")
	type rowErr struct {
		Line  int
		Field string
	}
	tests := []struct {
		name, path, body string
		want             []rowErr
	}{
		{"clubs: bad phone, unknown province, duplicate code, taken phones, bad code", "/api/v1/clubs/import",
			`code,name,province,commune,village,chair_name,chair_phone,members,founded_on
NB-001,CLB A,Ninh Bình,Xã A,,Chủ A,0912 34,10,
NB-002,CLB B,Atlantis,Xã B,,Chủ B,0930000002,10,
NB-003,CLB C,Nam Định,Xã C,,Chủ C,0930000003,10,
NB-003,CLB D,Hà Nam,Xã D,,Chủ D,0930000004,10,
NB-005,CLB E,ninh-binh,Xã E,,Chủ E,0912345678,10,
NB-006,CLB F,ninh-binh,Xã F,,Chủ F,0987654321,ba mươi,
NB 007,CLB G,ninh-binh,Xã G,,Chủ G,0930000007,,2024-02-30
`,
			[]rowErr{{2, "chair_phone"}, {3, "province"}, {5, "code"}, {6, "chair_phone"}, {7, "members"}, {7, "chair_phone"}, {8, "founded_on"}, {8, "code"}}},
		{"clubs: missing column", "/api/v1/clubs/import", "code,name,province\nX,Y,ha-noi\n",
			[]rowErr{{1, "commune"}, {1, "chair_name"}, {1, "chair_phone"}}},
		{"clubs: empty body", "/api/v1/clubs/import", "", []rowErr{{1, "header"}}},
		{"clubs: unterminated quote", "/api/v1/clubs/import", "code,name,province,commune,village,chair_name,chair_phone\nX,\"Y,ha-noi,c,,n,0930000001\n",
			[]rowErr{{2, ""}}},
		{"officers: bad role, bad phone, duplicate, a chair's phone", "/api/v1/officers/import",
			"name,phone,province,role\nA,0930000001,Hà Nội,chairman\nB,12345,Huế,officer\nC,0930000003,Huế,officer\nD,0930000003,Huế,officer\nE,0915444555,Tuyên Quang,officer\n,0930000006,Xứ Sở,officer\n",
			[]rowErr{{2, "role"}, {3, "phone"}, {5, "phone"}, {6, "phone"}, {7, "name"}, {7, "province"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := call(t, b, "POST", tt.path, tt.body)
			if w.Code != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", w.Code, w.Body)
			}
			var got struct {
				Errors []club.RowError `json:"errors"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			var lines []rowErr
			for _, e := range got.Errors {
				lines = append(lines, rowErr{e.Line, e.Field})
				if e.Message == "" {
					t.Errorf("line %d %s: no message", e.Line, e.Field)
				}
			}
			if !reflect.DeepEqual(lines, tt.want) {
				t.Errorf("errors\n got %v\nwant %v\n%s", lines, tt.want, w.Body)
			}
		})
	}
	after, _ := db.Clubs("")
	if !reflect.DeepEqual(before, after) {
		t.Errorf("a refused import changed the clubs:\n%+v\n%+v", before, after)
	}
	var officers []club.Officer
	db.View(func(tx *store.Tx) error { officers, _ = tx.Officers(""); return nil })
	if len(officers) != 2 {
		t.Errorf("%d officers after refused imports, want 2", len(officers))
	}
}

func TestImportLimits(t *testing.T) {
	b, _ := newAdminBot(t, testAdminToken)
	huge := "code,name,province,commune,village,chair_name,chair_phone\n" + strings.Repeat("x", MaxImportBody)
	if w := call(t, b, "POST", "/api/v1/clubs/import", huge); w.Code != 413 {
		t.Errorf("%d MB body: status %d, want 413", len(huge)>>20, w.Code)
	}
	// Declared small, sent large (no Content-Length check can catch it).
	req := httptest.NewRequest("POST", "/api/v1/officers/import", strings.NewReader(huge))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	w := httptest.NewRecorder()
	b.Handler().ServeHTTP(w, req)
	if w.Code != 413 {
		t.Errorf("chunked large body: status %d, want 413", w.Code)
	}
	latin1 := "name,phone,province,role\nPh\xe1m,0930000001,ha-noi,officer\n"
	w = call(t, b, "POST", "/api/v1/officers/import", latin1)
	if w.Code != 422 || !strings.Contains(w.Body.String(), `"line":2`) || !strings.Contains(w.Body.String(), "UTF-8") {
		t.Errorf("not UTF-8: %d %s", w.Code, w.Body)
	}
}

func TestListClubs(t *testing.T) {
	b, db := newAdminBot(t, testAdminToken)
	if w := call(t, b, "POST", "/api/v1/clubs/import", clubsCSV); w.Code != 200 {
		t.Fatal(w.Body)
	}
	linked := testNow.Add(-time.Hour)
	err := db.Update(func(tx *store.Tx) error {
		for _, u := range []club.User{
			{ID: "u-chair", Name: "Lò Văn Chiến", Phone: "0915444555", Role: club.RoleChair, ClubCode: "TQ-001", Province: "tuyen-quang", Active: true, Following: true, LinkedAt: linked},
			{ID: "u-old", Name: "Lò Văn Cũ", Role: club.RoleChair, ClubCode: "HN-001", Active: false, LinkedAt: linked}, // unfollowed
			{ID: "u-officer", Name: "Phạm Thu Hà", Role: club.RoleOfficer, Province: "ha-noi", Active: true},
		} {
			if err := tx.PutUser(u); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		Code         string `json:"code"`
		Province     string `json:"province"`
		ProvinceName string `json:"province_name"`
		ChairPhone   string `json:"chair_phone"`
		ChairUser    *struct {
			ID   string `json:"id"`
			Name string `json:"name"`
			Role string `json:"role"`
		} `json:"chair_user"`
		LinkedUsers []any `json:"linked_users"`
	}
	tests := []struct {
		query     string
		status    int
		wantCodes []string
		chairs    map[string]string
	}{
		{"", 200, []string{"HN-001", "HN-002", "TQ-001"}, map[string]string{"TQ-001": "u-chair"}},
		{"?province=tuyen-quang", 200, []string{"TQ-001"}, map[string]string{"TQ-001": "u-chair"}},
		{"?province=H%C3%A0%20Giang", 200, []string{"TQ-001"}, nil}, // a former name
		{"?province=ha-noi", 200, []string{"HN-001", "HN-002"}, map[string]string{}},
		{"?province=atlantis", 400, nil, nil},
		{"?provice=ha-noi", 400, nil, nil},
	}
	for _, tt := range tests {
		w := call(t, b, "GET", "/api/v1/clubs"+tt.query, "")
		if w.Code != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.query, w.Code, tt.status, w.Body)
			continue
		}
		if tt.status != 200 {
			if decode(t, w)["error"] == "" {
				t.Errorf("%s: no error message", tt.query)
			}
			continue
		}
		var got struct{ Clubs []view }
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		var codes []string
		for _, c := range got.Clubs {
			codes = append(codes, c.Code)
			if c.LinkedUsers == nil {
				t.Errorf("%s: linked_users of %s is null, want []", tt.query, c.Code)
			}
			want, linked := tt.chairs[c.Code]
			switch {
			case linked && (c.ChairUser == nil || c.ChairUser.ID != want || c.ChairUser.Role != "chair"):
				t.Errorf("%s: chair of %s = %+v, want %s", tt.query, c.Code, c.ChairUser, want)
			case !linked && tt.chairs != nil && c.ChairUser != nil:
				t.Errorf("%s: %s has chair %+v, want none", tt.query, c.Code, c.ChairUser)
			}
			if c.Code == "TQ-001" && (c.ProvinceName != "Tuyên Quang" || c.ChairPhone != "0915444555") {
				t.Errorf("TQ-001: %+v", c)
			}
		}
		if !reflect.DeepEqual(codes, tt.wantCodes) {
			t.Errorf("%s: clubs %v, want %v", tt.query, codes, tt.wantCodes)
		}
	}
}

// errorResponse is the one mapping of errors to statuses.
func TestErrorResponse(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{invalid("x"), 400},
		{&Error{Code: EUnauthorized}, 401},
		{&Error{Code: ENotFound}, 404},
		{&Error{Code: ETooLarge}, 413},
		{&Error{Code: EUnprocessable}, 422},
		{&club.ImportError{Errors: []club.RowError{{Line: 2}}}, 422},
		{&http.MaxBytesError{Limit: 1}, 413},
		{&Error{Code: EInternal}, 500},
		{bytes.ErrTooLarge, 500},
	}
	for _, tt := range tests {
		if got, _ := errorResponse(tt.err); got != tt.want {
			t.Errorf("errorResponse(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}
