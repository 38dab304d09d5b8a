package digest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"
)

// leanReport is the JSON of a club.Report (its struct tags) restricted to what a digest
// reads: encoding/json skips the other answers without allocating them, which makes the
// scan of a large report store several times faster than decoding whole reports.
type leanReport struct {
	ID          uint64    `json:"id"`
	Club        string    `json:"club"`
	MeetingDate string    `json:"meeting_date"`
	Held        bool      `json:"held"`
	CreatedAt   time.Time `json:"created_at"`
	Answers     struct {
		Total leanNumber `json:"attendance_total"`
		Women leanNumber `json:"attendance_women"`
		Older leanNumber `json:"attendance_older"`
		Areas struct {
			Choices []string `json:"choices"`
		} `json:"areas_active"`
	} `json:"answers"`
}

type leanNumber struct {
	Number  *int64 `json:"number"`
	Skipped bool   `json:"skipped"`
}

func (n leanNumber) value() int32 {
	if n.Number == nil || n.Skipped || *n.Number < 0 || *n.Number > 1<<31-1 {
		return -1
	}
	return int32(*n.Number)
}

// DecodeReport reads the stored JSON of a club.Report, keeping only what a digest uses.
func DecodeReport(raw []byte) (Report, error) {
	var l leanReport
	if err := json.Unmarshal(raw, &l); err != nil {
		return Report{}, fmt.Errorf("decode report: %w", err)
	}
	r := Report{ID: l.ID, Club: l.Club, Created: l.CreatedAt.Unix(), Held: l.Held,
		Attendance: l.Answers.Total.value(), Women: l.Answers.Women.value(), Older: l.Answers.Older.value(),
		Areas: AreaSetOf(l.Answers.Areas.Choices)}
	var ok bool
	if r.Meeting, ok = ParseDay(l.MeetingDate); !ok {
		return Report{}, fmt.Errorf("decode report %d: meeting date %q", l.ID, l.MeetingDate)
	}
	return r, nil
}

// Peek returns the string value of a top-level key of a stored report without decoding
// it ("meeting_date", "club"), so a scan can skip most records cheaply. The result aliases
// raw. encoding/json
// writes a club.Report's fields in struct order, before the answers, and escapes every
// quote inside strings, so the first `"key":"` is the field itself. ok is false when the
// key is absent or its value has escapes; the caller then decodes the record.
func Peek(raw []byte, key string) ([]byte, bool) {
	var pat [32]byte
	p := append(append(append(pat[:0], '"'), key...), `":"`...)
	i := bytes.Index(raw, p)
	if i < 0 {
		return nil, false
	}
	rest := raw[i+len(p):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 || bytes.IndexByte(rest[:j], '\\') >= 0 {
		return nil, false
	}
	return rest[:j], true
}
