// Package export turns meeting reports into rows of a table whose columns stay the same
// across revisions of the flow that collected them (ARCHITECTURE.md rule 4), and writes
// them as CSV or JSON one row at a time. It also sums reports by province and commune.
// It is pure: it writes to an io.Writer and does no other I/O; the XLSX writer, which needs
// temporary files, lives with the HTTP handler in package bot.
package export

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"clubbot/club"
	"clubbot/flows"
)

// Column is one column of an export: Key is stable (a fixed name or a step name), Header is
// the Vietnamese heading shown in CSV and XLSX.
type Column struct {
	Key    string `json:"key"`
	Header string `json:"label"`
}

// Fixed are the columns every report has, before the answers.
var Fixed = []Column{
	{"id", "Mã báo cáo"},
	{"club_code", "Mã CLB"},
	{"club_name", "Tên CLB"},
	{"province", "Tỉnh/Thành phố"},
	{"commune", "Xã/Phường"},
	// The date the report counts for: the meeting's date, or the day the report was given
	// when no meeting was held. It is the date the from/to filter applies to. The answer
	// column meeting_date ("Ngày họp") is also there, empty when no meeting was held.
	{"meeting_date", "Ngày họp/kỳ báo cáo"},
	{"reporter", "Người báo cáo"},
	{"created_at", "Thời điểm gửi"},
	{"flow_revision", "Phiên bản mẫu"},
}

// Extra answer columns: photos and a shared location may arrive at any step of a flow and
// are kept under reserved keys (flows.PhotosKey, flows.LocationKey).
var extras = []Column{
	{flows.PhotosKey, "Ảnh"},
	{flows.LocationKey, "Vị trí"},
}

// Layout is the column set of an export: the fixed columns, then one column per answer.
type Layout struct {
	Answers []Column
	labels  map[string]map[string]string // step name → option code → label
}

// NewLayout builds the answer columns from every revision of a flow, oldest first. The
// columns are the union of the revisions' step names (confirm steps have no answer), in
// the step order of the latest revision; a step that only older revisions have goes right
// after the step it followed there. Headers and option labels come from the latest
// revision that has them (a step no revision labels is headed by its name), so a report collected by revision 1 and one by revision 3 land
// in the same columns under today's wording.
func NewLayout(revs []*flows.Flow) *Layout {
	l := &Layout{labels: map[string]map[string]string{}}
	var names []string
	header := map[string]string{}
	for i := len(revs) - 1; i >= 0; i-- { // newest first
		prev := -1 // position in names of the last step of this revision already placed
		for _, st := range revs[i].Steps {
			if st.Type == flows.TypeConfirm || st.Name == flows.PhotosKey || st.Name == flows.LocationKey {
				continue
			}
			if at := slices.Index(names, st.Name); at >= 0 {
				prev = at
			} else {
				prev++
				names = slices.Insert(names, prev, st.Name)
			}
			if _, ok := header[st.Name]; !ok && st.Label != "" {
				header[st.Name] = st.Label
			}
			if len(st.Options) > 0 {
				m := l.labels[st.Name]
				if m == nil {
					m = map[string]string{}
					l.labels[st.Name] = m
				}
				for _, o := range st.Options {
					if _, ok := m[o.Code]; !ok {
						m[o.Code] = o.Label
					}
				}
			}
		}
	}
	for _, n := range names {
		h := header[n]
		if h == "" {
			h = n // no revision labels it; the prompt is too long for a heading
		}
		l.Answers = append(l.Answers, Column{Key: n, Header: h})
	}
	l.Answers = append(l.Answers, extras...)
	return l
}

// Columns returns the fixed columns followed by the answer columns.
func (l *Layout) Columns() []Column { return append(slices.Clone(Fixed), l.Answers...) }

// Meta is what a row shows that the report itself does not hold.
type Meta struct {
	ClubName     string
	ProvinceName string
	Reporter     string // the reporter's name, or their Zalo id when unknown
}

// Cell is one typed value: empty, a whole number or text.
type Cell struct {
	kind uint8
	num  int64
	str  string
}

const (
	cellEmpty uint8 = iota
	cellNumber
	cellText
)

// Number is a numeric cell.
func Number(n int64) Cell { return Cell{kind: cellNumber, num: n} }

// Text is a text cell; empty text is an empty cell.
func Text(s string) Cell {
	if s == "" {
		return Cell{}
	}
	return Cell{kind: cellText, str: s}
}

// Value returns nil, an int64 or a string.
func (c Cell) Value() any {
	switch c.kind {
	case cellNumber:
		return c.num
	case cellText:
		return c.str
	}
	return nil
}

// String returns the cell as text ("" when empty).
func (c Cell) String() string {
	switch c.kind {
	case cellNumber:
		return strconv.FormatInt(c.num, 10)
	case cellText:
		return c.str
	}
	return ""
}

// IsNumber reports whether the cell holds a number.
func (c Cell) IsNumber() bool { return c.kind == cellNumber }

// TimeLayout is how created_at is shown in CSV and XLSX (local time, Asia/Ho_Chi_Minh).
const TimeLayout = "2006-01-02 15:04:05"

// Row appends the cells of one report to dst: the fixed columns, then the answers.
func (l *Layout) Row(dst []Cell, r *club.Report, m Meta, loc *time.Location) []Cell {
	clubName := m.ClubName
	if clubName == "" {
		clubName = r.ClubCode
	}
	dst = append(dst,
		Number(int64(r.ID)), Text(r.ClubCode), Text(clubName), Text(m.ProvinceName), Text(r.Commune),
		Text(r.MeetingDate), Text(m.Reporter), Text(r.CreatedAt.In(loc).Format(TimeLayout)), Number(int64(r.FlowRevision)))
	for _, col := range l.Answers {
		a, ok := r.Answers[col.Key]
		dst = append(dst, l.Answer(col.Key, a, ok))
	}
	return dst
}

// Answer returns the cell of one answer: numbers and money as numbers, a date as
// YYYY-MM-DD, yes/no as Có/Không, choices as their labels joined with ", ", photos as
// their URLs one per line; a skipped or missing answer is empty.
func (l *Layout) Answer(step string, a flows.Answer, ok bool) Cell {
	if !ok || a.Skipped {
		return Cell{}
	}
	switch a.Type {
	case flows.TypeNumber, flows.TypeMoney:
		if a.Number != nil {
			return Number(*a.Number)
		}
	case flows.TypeDate:
		return Text(a.Date)
	case flows.TypeYesNo:
		if a.Bool != nil {
			if *a.Bool {
				return Text("Có")
			}
			return Text("Không")
		}
	case flows.TypeChoice, flows.TypeMulti:
		if len(a.Choices) == 0 {
			return Text(a.Display) // a multi step's "none of these"
		}
		labels := make([]string, len(a.Choices))
		for i, code := range a.Choices {
			if lb, found := l.labels[step][code]; found {
				labels[i] = lb
			} else {
				labels[i] = code
			}
		}
		return Text(strings.Join(labels, ", "))
	case flows.PhotosKey:
		return Text(strings.Join(a.Photos, "\n"))
	case flows.TypeText, flows.LocationKey:
		return Text(a.Text)
	}
	return Text(a.Display)
}
