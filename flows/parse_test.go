package flows

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// ict is Asia/Ho_Chi_Minh: UTC+7 all year (no daylight saving), so a fixed zone is exact and
// the tests need no tz database.
var ict = time.FixedZone("ICT", 7*3600)

// wed is Wednesday 25 November 2026, 10:00 in Vietnam.
var wed = time.Date(2026, 11, 25, 10, 0, 0, 0, ict)

func TestFold(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Sức khỏe", "suc khoe"},
		{"Sức khoẻ", "suc khoe"},
		{"S\u01b0\u0301c kho\u0309e", "suc khoe"}, // NFD: base letters + combining marks
		{"ĐỒNG Ý", "dong y"},
		{"đồng ý", "dong y"},
		{"  Quay   lại \t\n ", "quay lai"},
		{"Hủy", "huy"},
		{"Học tập – truyền thông", "hoc tap – truyen thong"},
		{"Tiếng Việt có dấu: ắ ằ ẳ ẵ ặ ơ ư", "tieng viet co dau: a a a a a o u"},
		{"already ascii", "already ascii"},
		{"", ""},
		{"   ", ""},
	}
	for _, tt := range tests {
		if got := Fold(tt.in); got != tt.want {
			t.Errorf("Fold(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in      string
		money   bool
		want    int64
		problem string // substring of the problem; "" for success
	}{
		{"42", false, 42, ""},
		{"42 người", false, 42, ""},
		{"khoảng 40", false, 40, ""},
		{"khoang 40 nguoi a", false, 40, ""},
		{"dạ 25 người ạ", false, 25, ""},
		{"năm mươi", false, 50, ""},
		{"hai mươi lăm", false, 25, ""},
		{"ba mươi mốt", false, 31, ""},
		{"mười lăm", false, 15, ""},
		{"một trăm linh năm", false, 105, ""},
		{"một trăm hai", false, 120, ""},
		{"hai trăm ba mươi", false, 230, ""},
		{"không", false, 0, ""},
		{"không có", false, 0, ""},
		{"1.200", false, 1200, ""},
		{"abc", false, 0, "chưa phải là một con số"},
		{"", false, 0, "chưa phải là một con số"},
		{"40 hay 45", false, 0, "nhiều số"},
		{"40-45", false, 0, "nhiều số"},
		{"1,5", false, 0, "số nguyên"},
		{"5 triệu", true, 5_000_000, ""},
		{"5tr", true, 5_000_000, ""},
		{"1tr5", true, 1_500_000, ""},
		{"1 triệu 500", true, 1_500_000, ""},
		{"2,5 triệu", true, 2_500_000, ""},
		{"500k", true, 500_000, ""},
		{"500 nghìn", true, 500_000, ""},
		{"500 ngàn", true, 500_000, ""},
		{"5.000.000", true, 5_000_000, ""},
		{"5000000 đồng", true, 5_000_000, ""},
		{"năm triệu", true, 5_000_000, ""},
		{"hai triệu rưỡi", true, 2_500_000, ""},
		{"một triệu hai trăm nghìn", true, 1_200_000, ""},
		{"1 tỷ", true, 1_000_000_000, ""},
		{"5 củ", true, 5_000_000, ""},
	}
	for _, tt := range tests {
		got, _, problem := parseAmount(tt.in, tt.money)
		if tt.problem == "" && (problem != "" || got != tt.want) {
			t.Errorf("parseAmount(%q, money=%v) = %d, %q; want %d", tt.in, tt.money, got, problem, tt.want)
		}
		if tt.problem != "" && !strings.Contains(problem, tt.problem) {
			t.Errorf("parseAmount(%q) problem = %q, want it to contain %q", tt.in, problem, tt.problem)
		}
	}
}

func TestParseDate(t *testing.T) {
	jan3 := time.Date(2027, 1, 3, 8, 0, 0, 0, ict) // a Sunday early in the year
	tests := []struct {
		in      string
		now     time.Time
		maxAge  int
		want    string // YYYY-MM-DD
		problem string
	}{
		{"20/11", wed, 0, "2026-11-20", ""},
		{"20/11/2026", wed, 0, "2026-11-20", ""},
		{"20-11-2026", wed, 0, "2026-11-20", ""},
		{"20.11.26", wed, 0, "2026-11-20", ""},
		{"ngày 20 tháng 11", wed, 0, "2026-11-20", ""},
		{"ngay 20/11 a", wed, 0, "2026-11-20", ""},
		{"hôm nay", wed, 0, "2026-11-25", ""},
		{"hom nay", wed, 0, "2026-11-25", ""},
		{"hôm qua", wed, 0, "2026-11-24", ""},
		{"Hom qua", wed, 0, "2026-11-24", ""},
		{"hôm kia", wed, 0, "2026-11-23", ""},
		{"thứ bảy tuần trước", wed, 0, "2026-11-21", ""},
		{"thu 7 tuan truoc", wed, 0, "2026-11-21", ""},
		{"thứ hai", wed, 0, "2026-11-23", ""},
		{"chủ nhật", wed, 0, "2026-11-22", ""},
		{"thứ tư", wed, 0, "2026-11-25", ""},
		{"20", wed, 0, "2026-11-20", ""},
		{"28", wed, 0, "2026-10-28", ""}, // the 28th has not come yet this month
		// Without a year: the most recent such date that is not in the future.
		{"26/11", wed, 0, "2025-11-26", ""},
		{"30/12", jan3, 0, "2026-12-30", ""},
		{"2/1", jan3, 0, "2027-01-02", ""},
		{"29/02", wed, 0, "2024-02-29", ""},
		{"32/13", wed, 0, "", "Không có ngày 32/13"},
		{"31/11", wed, 0, "", "Không có ngày 31/11"},
		{"0/5", wed, 0, "", "Không có ngày"},
		{"30/11/2026", wed, 0, "", "chưa tới"},
		{"26/11/2026", wed, 0, "", "chưa tới"},
		{"1/1/2027", wed, 0, "", "chưa tới"},
		{"26/11", wed, 60, "", "đã cách đây hơn 60 ngày"},
		{"1/9/2026", wed, 60, "", "đã cách đây hơn 60 ngày"},
		{"26/9/2026", wed, 60, "2026-09-26", ""},
		{"abc", wed, 0, "", "chưa phải là ngày"},
		{"hôm trước nữa", wed, 0, "", "chưa phải là ngày"},
		{"20/11/1990", wed, 0, "", "xa quá"},
	}
	for _, tt := range tests {
		got, problem := parseDate(tt.in, tt.now, tt.maxAge)
		if tt.problem == "" {
			if problem != "" || got.Format("2006-01-02") != tt.want {
				t.Errorf("parseDate(%q) = %s, %q; want %s", tt.in, got.Format("2006-01-02"), problem, tt.want)
			}
			continue
		}
		if !strings.Contains(problem, tt.problem) {
			t.Errorf("parseDate(%q) problem = %q, want it to contain %q", tt.in, problem, tt.problem)
		}
	}
}

func TestParseYesNo(t *testing.T) {
	tests := []struct {
		in      string
		yes, ok bool
	}{
		{"có", true, true}, {"co", true, true}, {"c", true, true}, {"Có ạ", true, true},
		{"ừ", true, true}, {"u", true, true}, {"ok", true, true}, {"OK", true, true},
		{"đúng", true, true}, {"dung", true, true}, {"1", true, true}, {"rồi", true, true},
		{"dạ", true, true}, {"vâng", true, true}, {"đồng ý", true, true}, {"đã họp rồi", true, true},
		{"có họp", true, true},
		{"không", false, true}, {"khong", false, true}, {"ko", false, true}, {"k", false, true},
		{"2", false, true}, {"0", false, true}, {"chưa", false, true}, {"chua hop", false, true},
		{"dạ không", false, true}, {"khôngg", false, true}, {"không có", false, true},
		{"không biết", false, false}, {"chưa rõ", false, false}, {"abc", false, false},
		{"", false, false}, {"3", false, false}, {"đồng", false, false},
	}
	for _, tt := range tests {
		yes, ok := parseYesNo(tt.in)
		if yes != tt.yes || ok != tt.ok {
			t.Errorf("parseYesNo(%q) = %v, %v; want %v, %v", tt.in, yes, ok, tt.yes, tt.ok)
		}
	}
}

// areas is the multi step of the default flow, the richest matcher there is.
func areas(t *testing.T) *Step {
	t.Helper()
	st := mustFlow(t, "meeting_report").Step("areas_active")
	if st == nil {
		t.Fatal("meeting_report has no areas_active step")
	}
	return st
}

func TestMatchMulti(t *testing.T) {
	st := areas(t)
	tests := []struct {
		in      string
		want    []string // codes; nil with problem set
		problem string   // "unknown", "number", "ambiguous"
	}{
		{"1 3 5", []string{"income", "home-care", "rights"}, ""},
		{"1,3,5", []string{"income", "home-care", "rights"}, ""},
		{"1, 3 và 5", []string{"income", "home-care", "rights"}, ""},
		{"5 3 1 3", []string{"income", "home-care", "rights"}, ""},
		{"1-4", []string{"income", "health", "home-care", "self-help"}, ""},
		{"1 đến 3", []string{"income", "health", "home-care"}, ""},
		{"135", []string{"income", "home-care", "rights"}, ""},
		{"tất cả", []string{"income", "health", "home-care", "self-help", "rights", "learning", "culture", "resources"}, ""},
		{"tat ca", []string{"income", "health", "home-care", "self-help", "rights", "learning", "culture", "resources"}, ""},
		{"0", []string{"none"}, ""},
		{"không có", []string{"none"}, ""},
		{"Sức khỏe", []string{"health"}, ""},
		{"suc khoe, van nghe", []string{"health", "culture"}, ""},
		{"sức khoẻ và văn hoá", []string{"health", "culture"}, ""},
		{"đo huyết áp, tập dưỡng sinh", []string{"health"}, ""},
		{"chăm sóc tại nhà", []string{"home-care"}, ""},
		{"cham soc suc khoe", []string{"health"}, ""},
		{"huy động nguồn lực", []string{"resources"}, ""},
		{"Học tập – truyền thông", []string{"learning"}, ""},
		{"suc khoee", []string{"health"}, ""},             // one typo
		{"van nge, 1", []string{"income", "culture"}, ""}, // typo and number
		{"home-care", []string{"home-care"}, ""},
		{"văn nghệ và thăm ốm người bệnh", []string{"health", "culture"}, ""},
		{"9", nil, "number"},
		{"1 9", nil, "number"},
		{"abc", nil, "unknown"},
		{"xyz uvw", nil, "unknown"},
	}
	for _, tt := range tests {
		r := st.match.match(st.Options, tt.in, true)
		var got []string
		for _, i := range r.opts {
			got = append(got, st.Options[i].Code)
		}
		problem := r.problem
		if len(r.ambiguous) > 0 {
			problem = "ambiguous"
		}
		if problem != tt.problem || !slices.Equal(got, tt.want) {
			t.Errorf("match(%q) = %q, problem %q; want %q, problem %q", tt.in, got, problem, tt.want, tt.problem)
		}
	}
}

func TestMatchAmbiguous(t *testing.T) {
	f, err := Parse([]byte(`
id: t
steps:
  - name: pick
    type: choice
    prompt: Chọn
    options:
      - {code: a, label: Tham gia, keywords: [chung]}
      - {code: b, label: Ủng hộ, keywords: [chung]}
`))
	if err != nil {
		t.Fatal(err)
	}
	st := f.Step("pick")
	r := st.match.match(st.Options, "chung", false)
	if len(r.ambiguous) != 2 {
		t.Fatalf("match(chung) = %+v, want ambiguous between 2 options", r)
	}
	s, _ := Start(f, 1, nil, wed)
	_, replies, _ := Advance(f, s, Input{Text: "chung"}, wed)
	if got := replies[0].Text; !strings.Contains(got, "có thể là: 1. Tham gia; 2. Ủng hộ") {
		t.Errorf("reply to an ambiguous keyword = %q, want it to list both options", got)
	}
}

func TestNear(t *testing.T) {
	tests := []struct {
		typed, kw string
		want      bool
	}{
		{"quay lai", "quay lai", true},
		{"qay lai", "quay lai", true},
		{"quaylai", "quay lai", true},
		{"quay laii", "quay lai", true},
		{"qya lai", "quay lai", false},
		{"giu", "giup", true},
		{"hui", "huy", false}, // too short for a typo
		{"huy", "huy", true},
	}
	for _, tt := range tests {
		if got := near(tt.typed, tt.kw, 4); got != tt.want {
			t.Errorf("near(%q, %q) = %v, want %v", tt.typed, tt.kw, got, tt.want)
		}
	}
}
