package digest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"clubbot/club"
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
// Records of the usual shape are read by a small scanner (fastDecode) several times faster
// than encoding/json, which matters when a weekly run reads months of reports of 20,000
// clubs; anything unusual goes through encoding/json.
func DecodeReport(raw []byte) (Report, error) {
	if r, ok := fastDecode(raw); ok {
		return r, nil
	}
	return jsonDecode(raw)
}

// jsonDecode is DecodeReport by encoding/json.
func jsonDecode(raw []byte) (Report, error) {
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

// fastDecode reads a report the way encoding/json writes a club.Report: the scalar fields
// before "answers" (struct order), "created_at" after it, and in the answers object the
// four answers a digest uses. A JSON string never holds an unescaped quote, so a pattern
// like `"attendance_total":` cannot match inside a text answer. ok is false for anything
// it is not sure of (escapes in the strings it reads, a missing field, a value of another
// type); the caller then uses encoding/json.
func fastDecode(raw []byte) (Report, bool) {
	var r Report
	ai := bytes.Index(raw, []byte(`"answers":{`))
	if ai < 0 {
		return r, false
	}
	// created_at is the last field, after the answers: its last occurrence is the field
	// (a step of that name would be an object, `"created_at":{`, and text is escaped).
	ci := -1
	if w := len(raw) - 256; w > ai { // the usual place: near the end, so look there first
		if k := bytes.Index(raw[w:], []byte(`"created_at":"`)); k >= 0 && bytes.Index(raw[w+k+1:], []byte(`"created_at":"`)) < 0 {
			ci = w + k
		}
	}
	if ci < 0 {
		ci = bytes.LastIndex(raw, []byte(`"created_at":"`))
	}
	if ci < ai {
		return r, false
	}
	head, answers, tail := raw[:ai], raw[ai+len(`"answers":`):ci], raw[ci:]
	id, ok := peekUint(head, "id")
	if !ok {
		return r, false
	}
	r.ID = id
	c, ok := Peek(head, "club")
	if !ok {
		return r, false
	}
	r.Club = string(c)
	md, ok := Peek(head, "meeting_date")
	if !ok {
		return r, false
	}
	if r.Meeting, ok = ParseDay(string(md)); !ok {
		return r, false
	}
	switch {
	case bytes.Contains(head, []byte(`"held":true`)):
		r.Held = true
	case bytes.Contains(head, []byte(`"held":false`)):
	default:
		return r, false
	}
	ca, ok := Peek(tail, "created_at")
	if !ok {
		return r, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(ca))
	if err != nil {
		return r, false
	}
	r.Created = t.Unix()
	if !readAnswers(answers, &r) {
		return r, false
	}
	return r, true
}

// readAnswers reads attendance_total, attendance_women, attendance_older and
// areas_active from the answers object in one pass. encoding/json writes map keys sorted,
// and those four sort before every other step name of the flow, so the pass stops at the
// first key after them instead of reading every answer; keys out of order make it
// decline.
func readAnswers(b []byte, r *Report) bool {
	r.Attendance, r.Women, r.Older = -1, -1, -1
	if len(b) < 2 || b[0] != '{' {
		return false
	}
	i := 1
	var prev []byte
	for i < len(b) {
		switch b[i] {
		case ',', ' ':
			i++
			continue
		case '}':
			return true
		case '"':
		default:
			return false
		}
		j := bytes.IndexByte(b[i+1:], '"')
		if j < 0 {
			return false
		}
		key := b[i+1 : i+1+j]
		if bytes.IndexByte(key, '\\') >= 0 || bytes.Compare(key, prev) < 0 {
			return false
		}
		prev = key
		if string(key) > "attendance_women" {
			return true
		}
		i += j + 2
		if i >= len(b) || b[i] != ':' {
			return false
		}
		i++
		n, ok := objectEnd(b[i:])
		if !ok {
			return false
		}
		obj := b[i : i+n]
		i += n
		switch string(key) {
		case "attendance_total":
			r.Attendance, ok = answerNumber(obj)
		case "attendance_women":
			r.Women, ok = answerNumber(obj)
		case "attendance_older":
			r.Older, ok = answerNumber(obj)
		case "areas_active":
			r.Areas, ok = answerChoices(obj)
		}
		if !ok {
			return false
		}
	}
	return false
}

// answerNumber reads an answer object's number: -1 when absent or skipped.
func answerNumber(obj []byte) (int32, bool) {
	if bytes.Contains(obj, []byte(`"skipped":true`)) {
		return -1, true
	}
	i := bytes.Index(obj, []byte(`"number":`))
	if i < 0 {
		return -1, true
	}
	v := obj[i+len(`"number":`):]
	n, neg, digits := int64(0), false, 0
	if len(v) > 0 && v[0] == '-' {
		neg, v = true, v[1:]
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			if c != ',' && c != '}' {
				return 0, false // a fraction or an exponent: let encoding/json say
			}
			break
		}
		if digits++; digits > 18 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if digits == 0 {
		return 0, false
	}
	if neg || n > 1<<31-1 {
		return -1, true
	}
	return int32(n), true
}

// answerChoices reads a multi answer object's choices as an area set.
func answerChoices(obj []byte) (AreaSet, bool) {
	i := bytes.Index(obj, []byte(`"choices":[`))
	if i < 0 {
		return 0, true
	}
	list := obj[i+len(`"choices":[`):]
	j := bytes.IndexByte(list, ']')
	if j < 0 || bytes.IndexByte(list[:j], '\\') >= 0 {
		return 0, false
	}
	if j == 0 {
		return 0, true
	}
	var s AreaSet
	for rest := list[:j]; len(rest) > 0; {
		item := rest
		if k := bytes.IndexByte(rest, ','); k >= 0 {
			item, rest = rest[:k], rest[k+1:]
			if len(rest) == 0 {
				return 0, false // a trailing comma
			}
		} else {
			rest = nil
		}
		if len(item) < 2 || item[0] != '"' || item[len(item)-1] != '"' {
			return 0, false
		}
		code := item[1 : len(item)-1]
		for a, area := range Areas {
			if string(code) == area.Code {
				s |= 1 << a
				break
			}
		}
	}
	return s, true
}

// objectEnd returns the length of the JSON object at the start of b (b[0] == '{'),
// skipping strings with their escapes.
func objectEnd(b []byte) (int, bool) {
	if len(b) == 0 || b[0] != '{' {
		return 0, false
	}
	depth, inStr := 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			if depth--; depth == 0 {
				return i + 1, true
			}
		}
	}
	return 0, false
}

// peekUint reads an unsigned integer field of a stored report.
func peekUint(raw []byte, key string) (uint64, bool) {
	var pat [32]byte
	p := append(append(append(pat[:0], '"'), key...), `":`...)
	i := bytes.Index(raw, p)
	if i < 0 {
		return 0, false
	}
	var n uint64
	digits := 0
	for _, c := range raw[i+len(p):] {
		if c < '0' || c > '9' {
			break
		}
		if digits++; digits > 19 {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	return n, digits > 0
}

// DecodeClub reads the stored JSON of a club.Club, keeping what a digest uses: code, name,
// province, commune and founding date. Strings without escapes are read directly (Peek);
// anything else goes through encoding/json.
func DecodeClub(raw []byte) (club.Club, error) {
	var c club.Club
	ok := true
	for _, f := range []struct {
		key      string
		dst      *string
		optional bool
	}{{"code", &c.Code, false}, {"name", &c.Name, false}, {"province", &c.Province, false},
		{"commune", &c.Commune, false}, {"founded_on", &c.FoundedOn, true}} {
		v, found := Peek(raw, f.key)
		if !found && (!f.optional || bytes.Contains(raw, []byte(`"`+f.key+`":`))) {
			ok = false
			break
		}
		*f.dst = string(v)
	}
	if ok {
		return c, nil
	}
	var full club.Club
	if err := json.Unmarshal(raw, &full); err != nil {
		return c, fmt.Errorf("decode club: %w", err)
	}
	return club.Club{Code: full.Code, Name: full.Name, Province: full.Province, Commune: full.Commune, FoundedOn: full.FoundedOn}, nil
}
