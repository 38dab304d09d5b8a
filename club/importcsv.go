package club

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// RowError is one problem in an imported CSV file: the 1-based line, the column and what is wrong.
type RowError struct {
	Line    int    `json:"line"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ImportError lists every bad row of an import; nothing of the file is written when it is returned.
type ImportError struct{ Errors []RowError }

func (e *ImportError) Error() string {
	if len(e.Errors) == 0 {
		return "import: no errors"
	}
	f := e.Errors[0]
	return fmt.Sprintf("import: %d error(s); line %d, %s: %s", len(e.Errors), f.Line, f.Field, f.Message)
}

// ClubColumns is the header of a clubs import (CONTRACT.md).
// An optional column board_phones lists other board members allowed to report for the club,
// separated by ";" (docs/contract-changes.md).
var ClubColumns = []string{"code", "name", "province", "commune", "village", "chair_name", "chair_phone", "members", "founded_on", "board_phones"}

// OfficerColumns is the header of an officers import (CONTRACT.md).
var OfficerColumns = []string{"name", "phone", "province", "role"}

// csvRows reads a UTF-8 CSV with a header row and returns each data row as a column→value
// map with its line number. Missing required columns are reported on line 1.
func csvRows(r io.Reader, cols []string, required []string) ([]map[string]string, []int, []RowError) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, nil, []RowError{{Line: 1, Field: "header", Message: "tệp trống: cần dòng tiêu đề " + strings.Join(cols, ",")}}
	}
	if err != nil {
		return nil, nil, []RowError{{Line: 1, Field: "header", Message: err.Error()}}
	}
	pos := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		pos[h] = i
	}
	var errs []RowError
	for _, c := range required {
		if _, ok := pos[c]; !ok {
			errs = append(errs, RowError{Line: 1, Field: c, Message: "thiếu cột " + c})
		}
	}
	if errs != nil {
		return nil, nil, errs
	}
	var rows []map[string]string
	var lines []int
	for {
		line, _ := cr.FieldPos(0)
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.Line
			}
			errs = append(errs, RowError{Line: line, Field: "", Message: err.Error()})
			continue
		}
		line, _ = cr.FieldPos(0)
		empty := true
		for _, v := range rec {
			if strings.TrimSpace(v) != "" {
				empty = false
			}
		}
		if empty {
			continue
		}
		m := map[string]string{}
		for _, c := range cols {
			if i, ok := pos[c]; ok && i < len(rec) {
				m[c] = strings.TrimSpace(rec[i])
			}
		}
		rows = append(rows, m)
		lines = append(lines, line)
	}
	return rows, lines, errs
}

// clubCodeRE is what a club code may look like: codes are keys in the store (joined to a
// report id with a 0 byte) and appear in commands typed by officers (`clb <mã>`).
var clubCodeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$`)

// ParseClubs checks every row of a clubs CSV and returns the clubs, or an *ImportError listing
// every bad row (line and field). province is a code or a current or pre-2025 name.
func ParseClubs(r io.Reader, provinces *Provinces) ([]Club, error) {
	rows, lines, errs := csvRows(r, ClubColumns, []string{"code", "name", "province", "commune", "chair_name", "chair_phone"})
	seenCode := map[string]int{}
	seenPhone := map[string]int{}
	var out []Club
	for i, row := range rows {
		ln := lines[i]
		bad := func(field, msg string) { errs = append(errs, RowError{Line: ln, Field: field, Message: msg}) }
		c := Club{Code: row["code"], Name: row["name"], Commune: row["commune"], Village: row["village"], ChairName: row["chair_name"]}
		for _, f := range []string{"code", "name", "commune", "chair_name"} {
			if row[f] == "" {
				bad(f, "không được để trống")
			}
		}
		if c.Code != "" {
			if prev, ok := seenCode[strings.ToLower(c.Code)]; ok {
				bad("code", fmt.Sprintf("mã CLB %q trùng với dòng %d", c.Code, prev))
			} else {
				seenCode[strings.ToLower(c.Code)] = ln
			}
		}
		if p, ok := provinces.Lookup(row["province"]); ok {
			c.Province = p.Code
		} else if row["province"] == "" {
			bad("province", "không được để trống")
		} else {
			bad("province", fmt.Sprintf("không nhận ra tỉnh/thành %q", row["province"]))
		}
		if ph, ok := NormalizePhone(row["chair_phone"]); ok {
			c.ChairPhone = ph
			if prev, dup := seenPhone[ph]; dup {
				bad("chair_phone", fmt.Sprintf("số điện thoại trùng với chủ nhiệm ở dòng %d", prev))
			} else {
				seenPhone[ph] = ln
			}
		} else {
			bad("chair_phone", fmt.Sprintf("số điện thoại %q không hợp lệ (ví dụ 0912345678)", row["chair_phone"]))
		}
		for _, p := range strings.FieldsFunc(row["board_phones"], func(r rune) bool { return r == ';' || r == '|' || r == ',' }) {
			ph, ok := NormalizePhone(p)
			if !ok {
				bad("board_phones", fmt.Sprintf("số điện thoại %q không hợp lệ (ví dụ 0912345678; nhiều số cách nhau bằng ;)", strings.TrimSpace(p)))
				continue
			}
			if prev, dup := seenPhone[ph]; dup {
				bad("board_phones", fmt.Sprintf("số điện thoại %s trùng với dòng %d", ph, prev))
				continue
			}
			seenPhone[ph] = ln
			c.BoardPhones = append(c.BoardPhones, ph)
		}
		if v := row["members"]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 10000 {
				bad("members", fmt.Sprintf("số thành viên %q không hợp lệ", v))
			}
			c.Members = n
		}
		if v := row["founded_on"]; v != "" {
			d, ok := parseDay(v)
			if !ok {
				bad("founded_on", fmt.Sprintf("ngày %q không hợp lệ (ví dụ 2024-03-15 hoặc 15/03/2024)", v))
			}
			c.FoundedOn = d
		}
		if c.Code != "" && !clubCodeRE.MatchString(c.Code) {
			bad("code", fmt.Sprintf("mã CLB %q không hợp lệ: chỉ chữ không dấu, số, dấu - _ . (tối đa 32 ký tự), ví dụ HN-001", c.Code))
		}
		out = append(out, c)
	}
	if len(errs) > 0 {
		return nil, &ImportError{Errors: errs}
	}
	return out, nil
}

// ParseOfficers checks every row of an officers CSV (name,phone,province,role).
func ParseOfficers(r io.Reader, provinces *Provinces) ([]Officer, error) {
	rows, lines, errs := csvRows(r, OfficerColumns, []string{"name", "phone", "province", "role"})
	seen := map[string]int{}
	var out []Officer
	for i, row := range rows {
		ln := lines[i]
		bad := func(field, msg string) { errs = append(errs, RowError{Line: ln, Field: field, Message: msg}) }
		o := Officer{Name: row["name"], Role: strings.ToLower(row["role"])}
		if o.Name == "" {
			bad("name", "không được để trống")
		}
		if ph, ok := NormalizePhone(row["phone"]); ok {
			o.Phone = ph
			if prev, dup := seen[ph]; dup {
				bad("phone", fmt.Sprintf("số điện thoại trùng với dòng %d", prev))
			}
			seen[ph] = ln
		} else {
			bad("phone", fmt.Sprintf("số điện thoại %q không hợp lệ (ví dụ 0912345678)", row["phone"]))
		}
		switch o.Role {
		case RoleOfficer, RoleAdmin:
		default:
			bad("role", fmt.Sprintf("vai trò %q không hợp lệ: officer hoặc admin", row["role"]))
		}
		if p, ok := provinces.Lookup(row["province"]); ok {
			o.Province = p.Code
		} else if row["province"] == "" && o.Role == RoleAdmin {
			// a national admin has no province
		} else if row["province"] == "" {
			bad("province", "không được để trống")
		} else {
			bad("province", fmt.Sprintf("không nhận ra tỉnh/thành %q", row["province"]))
		}
		out = append(out, o)
	}
	if len(errs) > 0 {
		return nil, &ImportError{Errors: errs}
	}
	return out, nil
}

func parseDay(s string) (string, bool) {
	for _, layout := range []string{"2006-01-02", "02/01/2006", "2/1/2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format("2006-01-02"), true
		}
	}
	return "", false
}
