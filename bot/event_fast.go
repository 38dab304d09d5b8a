package bot

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// decodeEvent decodes a webhook body into e exactly as json.Unmarshal would, with a direct
// scanner for the shape Zalo sends: a compact object whose keys are the field names as
// written, strings and numbers, no nulls. encoding/json was the webhook handler's largest
// cost after HTTP itself (BENCHMARKS.md, "Webhook ingest"). Whatever the scanner is not sure
// to decode identically — escapes in keys, a key that matches a field only without case, a
// repeated key, null, a value of another type, \u escapes of surrogates, bytes that are not
// UTF-8, invalid JSON — goes to json.Unmarshal, which then has the last word (FuzzDecodeEvent
// compares both on every input).
func decodeEvent(body []byte, e *Event) error {
	if fastDecodeEvent(body, e) {
		return nil
	}
	*e = Event{}
	return json.Unmarshal(body, e)
}

func fastDecodeEvent(body []byte, e *Event) bool {
	// One copy of the body as a string: the fields are slices of it (one allocation
	// instead of one per field).
	s := scanner{b: body, text: string(body)}
	s.ws()
	if !s.object(func(k []byte) bool { return s.eventField(k, e) }, eventKeys) {
		return false
	}
	s.ws()
	return s.i == len(s.b)
}

// The fields of each object, for the scanner's check that no other key means one of them
// (encoding/json matches keys without case).
var (
	eventKeys        = []string{"app_id", "event_name", "timestamp", "user_id_by_app", "oa_id", "user_id", "source", "sender", "recipient", "follower", "message", "info", "tag"}
	eventMessageKeys = []string{"msg_id", "msg_ids", "text", "quote_msg_id", "react_icon", "attachments"}
	attachmentKeys   = []string{"type", "payload"}
	payloadKeys      = []string{"url", "thumbnail", "name", "size", "type", "description", "coordinates"}
	coordKeys        = []string{"latitude", "longitude"}
)

func (s *scanner) eventField(k []byte, e *Event) bool {
	switch string(k) {
	case "app_id":
		return s.str(&e.AppID)
	case "event_name":
		return s.str(&e.EventName)
	case "timestamp":
		return s.flex(&e.Timestamp)
	case "user_id_by_app":
		return s.str(&e.UserIDByApp)
	case "oa_id":
		return s.str(&e.OAID)
	case "user_id":
		return s.str(&e.UserID)
	case "source":
		return s.str(&e.Source)
	case "sender":
		return s.strings([]string{"id", "admin_id"}, &e.Sender.ID, &e.Sender.AdminID)
	case "recipient":
		return s.strings([]string{"id", "group_id"}, &e.Recipient.ID, &e.Recipient.GroupID)
	case "follower":
		return s.strings([]string{"id"}, &e.Follower.ID)
	case "message":
		return s.object(func(k []byte) bool { return s.messageField(k, e) }, eventMessageKeys)
	case "info":
		return s.raw(&e.Info)
	case "tag":
		return s.raw(&e.Tag)
	}
	return s.skip(0)
}

func (s *scanner) messageField(k []byte, e *Event) bool {
	m := &e.Message
	switch string(k) {
	case "msg_id":
		return s.str(&m.MsgID)
	case "text":
		return s.str(&m.Text)
	case "quote_msg_id":
		return s.str(&m.QuoteMsgID)
	case "react_icon":
		return s.str(&m.ReactIcon)
	case "msg_ids":
		m.MsgIDs = []string{}
		return s.array(func() bool {
			var id string
			if !s.str(&id) {
				return false
			}
			m.MsgIDs = append(m.MsgIDs, id)
			return true
		})
	case "attachments":
		m.Attachments = []Attachment{}
		return s.array(func() bool {
			var a Attachment
			if !s.object(func(k []byte) bool { return s.attachmentField(k, &a) }, attachmentKeys) {
				return false
			}
			m.Attachments = append(m.Attachments, a)
			return true
		})
	}
	return s.skip(0)
}

func (s *scanner) attachmentField(k []byte, a *Attachment) bool {
	switch string(k) {
	case "type":
		return s.str(&a.Type)
	case "payload":
		p := &a.Payload
		return s.object(func(k []byte) bool {
			switch string(k) {
			case "url":
				return s.str(&p.URL)
			case "thumbnail":
				return s.str(&p.Thumbnail)
			case "name":
				return s.str(&p.Name)
			case "size":
				return s.flex(&p.Size)
			case "type":
				return s.str(&p.Type)
			case "description":
				return s.str(&p.Description)
			case "coordinates":
				return s.object(func(k []byte) bool {
					switch string(k) {
					case "latitude":
						return s.flex(&p.Coordinates.Latitude)
					case "longitude":
						return s.flex(&p.Coordinates.Longitude)
					}
					return s.skip(0)
				}, coordKeys)
			}
			return s.skip(0)
		}, payloadKeys)
	}
	return s.skip(0)
}

// scanner reads JSON from b at i. Every method returns false when it is not sure to decode
// as encoding/json does, and the caller gives up.
type scanner struct {
	b    []byte
	text string // b as a string
	i    int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// object reads an object, calling field for each key with the scanner at its value. A key
// given twice, a key with escapes, and a key that equals one of known only without case are
// left to encoding/json.
func (s *scanner) object(field func(k []byte) bool, known []string) bool {
	s.ws()
	var seenBuf [16][]byte
	seen := seenBuf[:0]
	return s.members('{', '}', func() bool {
		k, ok := s.plainKey()
		if !ok || !keyIsExact(k, known) {
			return false
		}
		for _, p := range seen {
			if bytes.Equal(p, k) {
				return false
			}
		}
		seen = append(seen, k)
		return s.colon() && field(k)
	})
}

// strings reads an object whose fields names[i] are strings, into dst[i].
func (s *scanner) strings(names []string, dst ...*string) bool {
	return s.object(func(k []byte) bool {
		for i, n := range names {
			if string(k) == n {
				return s.str(dst[i])
			}
		}
		return s.skip(0)
	}, names)
}

// colon reads the ':' after a key, and the space around it.
func (s *scanner) colon() bool {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != ':' {
		return false
	}
	s.i++
	s.ws()
	return true
}

// members reads open, then elements separated by commas, then close: the frame of objects
// and arrays. elem starts at an element (for objects, at its key).
func (s *scanner) members(open, close byte, elem func() bool) bool {
	if s.i >= len(s.b) || s.b[s.i] != open {
		return false
	}
	s.i++
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == close {
		s.i++
		return true
	}
	for {
		s.ws()
		if !elem() {
			return false
		}
		s.ws()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
		case close:
			s.i++
			return true
		default:
			return false
		}
	}
}

// keyIsExact reports whether k is one of known or matches none of them even without case.
func keyIsExact(k []byte, known []string) bool {
	for _, n := range known {
		if string(k) == n {
			return true
		}
	}
	for _, n := range known {
		if strings.EqualFold(string(k), n) {
			return false
		}
	}
	return true
}

// plainKey reads a string of printable ASCII without escapes.
func (s *scanner) plainKey() ([]byte, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	start := s.i + 1
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return s.b[start:j], true
		case c < 0x20 || c >= 0x80 || c == '\\':
			return nil, false
		}
	}
	return nil, false
}

func (s *scanner) array(elem func() bool) bool { return s.members('[', ']', elem) }

// str reads a string value into v.
func (s *scanner) str(v *string) bool {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false
	}
	start := s.i + 1
	ascii := true
	for j := start; j < len(s.b); j++ {
		c := s.b[j]
		switch {
		case c == '"':
			raw := s.b[start:j]
			if !ascii && !utf8.Valid(raw) {
				return false // encoding/json replaces each bad byte with U+FFFD
			}
			*v = s.text[start:j]
			s.i = j + 1
			return true
		case c == '\\':
			return s.escaped(v, start)
		case c < 0x20:
			return false
		case c >= 0x80:
			ascii = false
		}
	}
	return false
}

// escaped reads a string with escapes, from its first character at start.
func (s *scanner) escaped(v *string, start int) bool {
	out := make([]byte, 0, 64)
	for j := start; j < len(s.b); {
		c := s.b[j]
		switch {
		case c == '"':
			if !utf8.Valid(out) {
				return false
			}
			*v = string(out)
			s.i = j + 1
			return true
		case c < 0x20:
			return false
		case c != '\\':
			out = append(out, c)
			j++
			continue
		}
		if j+1 >= len(s.b) {
			return false
		}
		switch e := s.b[j+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(s.b[j+2:])
			if !ok || (0xd800 <= r && r < 0xe000) {
				return false // surrogates: left to encoding/json's pairing rules
			}
			out = utf8.AppendRune(out, r)
			j += 4
		default:
			return false
		}
		j += 2
	}
	return false
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// flex reads a string or a number into v, as flexString.UnmarshalJSON does.
func (s *scanner) flex(v *flexString) bool {
	if s.i < len(s.b) && s.b[s.i] == '"' {
		var str string
		if !s.str(&str) {
			return false
		}
		*v = flexString(str)
		return true
	}
	start := s.i
	if !s.number() {
		return false
	}
	*v = flexString(s.b[start:s.i])
	return true
}

// number reads a JSON number (RFC 8259 §6).
func (s *scanner) number() bool {
	b, i := s.b, s.i
	// digits returns the end of the run of digits from j.
	digits := func(j int) int {
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
		return j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(i)
	default:
		return false
	}
	if i < len(b) && b[i] == '.' {
		d := i + 1
		if i = digits(d); i == d {
			return false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		d := i
		if i = digits(i); i == d {
			return false
		}
	}
	s.i = i
	return true
}

// raw reads any value other than null and keeps its bytes, as json.RawMessage does.
func (s *scanner) raw(v *json.RawMessage) bool {
	start := s.i
	if bytes.HasPrefix(s.b[s.i:], []byte("null")) || !s.skip(0) {
		return false
	}
	*v = append(json.RawMessage(nil), s.b[start:s.i]...)
	return true
}

// maxDepth bounds the nesting skip follows; deeper values are left to encoding/json.
const maxDepth = 32

// skip reads and checks any value other than null.
func (s *scanner) skip(depth int) bool {
	if depth > maxDepth || s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.skipStr()
	case c == '{':
		return s.members('{', '}', func() bool { return s.skipStr() && s.colon() && s.skip(depth+1) })
	case c == '[':
		return s.array(func() bool { return s.skip(depth + 1) })
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == '-' || ('0' <= c && c <= '9'):
		return s.number()
	}
	return false
}

// skipStr reads and checks a string whose value is not kept: encoding/json checks only its
// syntax (a byte that is not UTF-8, or a lone surrogate, is replaced, not refused).
func (s *scanner) skipStr() bool {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false
	}
	for j := s.i + 1; j < len(s.b); j++ {
		switch c := s.b[j]; {
		case c == '"':
			s.i = j + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if j+1 >= len(s.b) {
				return false
			}
			switch s.b[j+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				j++
			case 'u':
				if _, ok := hex4(s.b[j+2:]); !ok {
					return false
				}
				j += 5
			default:
				return false
			}
		}
	}
	return false
}

func (s *scanner) literal(l string) bool {
	if !bytes.HasPrefix(s.b[s.i:], []byte(l)) {
		return false
	}
	s.i += len(l)
	return true
}
