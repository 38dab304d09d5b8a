package export

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"time"
	"unicode/utf8"

	"clubbot/club"
)

// Writer writes reports one at a time; Close finishes the file. Nothing is kept per
// report, so memory does not grow with the number of reports.
type Writer interface {
	Write(r *club.Report, m Meta) error
	Close() error
}

// CSV writes a UTF-8 CSV: a byte-order mark (Excel needs it to read UTF-8), the Vietnamese
// header row, then one row per report.
type CSV struct {
	w     *csv.Writer
	l     *Layout
	loc   *time.Location
	cells []Cell
	rec   []string
}

// NewCSV writes the header and returns the writer.
func NewCSV(w io.Writer, l *Layout, loc *time.Location) (*CSV, error) {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return nil, err
	}
	c := &CSV{w: csv.NewWriter(w), l: l, loc: loc}
	var head []string
	for _, col := range l.Columns() {
		head = append(head, col.Header)
	}
	return c, c.w.Write(head)
}

// Write writes one report's row.
func (c *CSV) Write(r *club.Report, m Meta) error {
	c.cells = c.l.Row(c.cells[:0], r, m, c.loc)
	c.rec = c.rec[:0]
	for _, cell := range c.cells {
		s := cell.String()
		if cell.kind == cellText {
			s = defuse(s)
		}
		c.rec = append(c.rec, s)
	}
	return c.w.Write(c.rec)
}

// Close flushes what is buffered.
func (c *CSV) Close() error {
	c.w.Flush()
	return c.w.Error()
}

// defuse keeps a spreadsheet from running text as a formula (CSV injection): answers are
// typed by chairpersons, and Excel treats a cell starting with = + - @ as a formula.
func defuse(s string) string {
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}

// JSON writes {"columns":[…],"reports":[…],"count":N}, one report object per line. A
// report object has the fixed keys (province is the code; province_name and reporter_id
// are added) and "answers", keyed by step name with typed values (null when empty):
// answer names may repeat fixed keys (meeting_date does), so they are kept apart.
type JSON struct {
	w   *bufio.Writer
	l   *Layout
	n   int
	buf []byte
}

// NewJSON writes the opening and the columns and returns the writer.
func NewJSON(w io.Writer, l *Layout) (*JSON, error) {
	j := &JSON{w: bufio.NewWriterSize(w, 32<<10), l: l}
	cols, err := json.Marshal(l.Columns())
	if err != nil {
		return nil, err
	}
	j.w.WriteString(`{"columns":`)
	j.w.Write(cols)
	_, err = j.w.WriteString(`,"reports":[`)
	return j, err
}

// Write writes one report object.
func (j *JSON) Write(r *club.Report, m Meta) error {
	b := j.buf[:0]
	if j.n > 0 {
		b = append(b, ',')
	}
	j.n++
	b = append(b, "\n{\"id\":"...)
	b = strconv.AppendUint(b, r.ID, 10)
	str := func(key, v string) {
		b = append(b, ",\""...)
		b = append(b, key...)
		b = append(b, "\":"...)
		b = appendString(b, v)
	}
	str("club_code", r.ClubCode)
	str("club_name", m.ClubName)
	str("province", r.Province)
	str("province_name", m.ProvinceName)
	str("commune", r.Commune)
	str("meeting_date", r.MeetingDate)
	str("reporter", m.Reporter)
	str("reporter_id", r.ReporterID)
	str("created_at", r.CreatedAt.Format(time.RFC3339))
	b = append(b, `,"flow_revision":`...)
	b = strconv.AppendInt(b, int64(r.FlowRevision), 10)
	b = append(b, `,"answers":{`...)
	for i, col := range j.l.Answers {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, col.Key)
		b = append(b, ':')
		a, ok := r.Answers[col.Key]
		switch c := j.l.Answer(col.Key, a, ok); c.kind {
		case cellNumber:
			b = strconv.AppendInt(b, c.num, 10)
		case cellText:
			b = appendString(b, c.str)
		default:
			b = append(b, "null"...)
		}
	}
	b = append(b, "}}"...)
	j.buf = b
	_, err := j.w.Write(b)
	return err
}

// Close writes the count and the closing brackets and flushes.
func (j *JSON) Close() error {
	j.w.WriteString("\n],\"count\":")
	j.w.WriteString(strconv.Itoa(j.n))
	j.w.WriteString("}\n")
	return j.w.Flush()
}

// appendString appends s as a JSON string. Most values need no escaping and are copied as
// they are; the others go through encoding/json.
func appendString(b []byte, s string) []byte {
	plain := utf8.ValidString(s)
	for i := 0; plain && i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			plain = false
		}
	}
	if plain {
		b = append(b, '"')
		b = append(b, s...)
		return append(b, '"')
	}
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}
