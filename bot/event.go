// Package bot is clubbot's HTTP side and its workers: the Zalo webhook, the durable inbox
// and the per-user worker that runs conversations, the outbox sender, health and metrics.
package bot

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Event is a decoded Zalo webhook event. Ids and the timestamp are strings (user ids can
// exceed 2^53; API.md §0); unknown fields are ignored and optional ones may be missing.
type Event struct {
	AppID       string     `json:"app_id"`
	EventName   string     `json:"event_name"`
	Timestamp   flexString `json:"timestamp"`
	UserIDByApp string     `json:"user_id_by_app"`
	OAID        string     `json:"oa_id"`
	UserID      string     `json:"user_id"` // user_click_chatnow (one source)
	Source      string     `json:"source"`
	Sender      struct {
		ID      string `json:"id"`
		AdminID string `json:"admin_id"`
	} `json:"sender"`
	Recipient struct {
		ID      string `json:"id"`
		GroupID string `json:"group_id"`
	} `json:"recipient"`
	Follower struct {
		ID string `json:"id"`
	} `json:"follower"`
	Message struct {
		MsgID       string       `json:"msg_id"`
		MsgIDs      []string     `json:"msg_ids"`
		Text        string       `json:"text"`
		QuoteMsgID  string       `json:"quote_msg_id"`
		ReactIcon   string       `json:"react_icon"`
		Attachments []Attachment `json:"attachments"`
	} `json:"message"`
	Info json.RawMessage `json:"info"`
	Tag  json.RawMessage `json:"tag"`
}

// Attachment is one element of message.attachments; the payload shape depends on Type.
type Attachment struct {
	Type    string  `json:"type"`
	Payload Payload `json:"payload"`
}

// Payload is the union of the attachment payload fields clubbot reads (API.md §2.6).
type Payload struct {
	URL         string     `json:"url"`
	Thumbnail   string     `json:"thumbnail"`
	Name        string     `json:"name"`
	Size        flexString `json:"size"`
	Type        string     `json:"type"`
	Description string     `json:"description"`
	Coordinates struct {
		Latitude  flexString `json:"latitude"`
		Longitude flexString `json:"longitude"`
	} `json:"coordinates"`
}

// SubmitInfo is the answer to a request-user-info card; fields vary, so it is read leniently.
type SubmitInfo struct {
	Name    string `json:"name"`
	Phone   string `json:"phone"`
	Address string `json:"address"`
	City    string `json:"city"`
	Dist    string `json:"district"`
}

// flexString decodes a JSON string or number into a string (timestamps and sizes arrive as
// strings from Zalo, as numbers from some tools).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	// b is one JSON value the decoder has already validated. A plain ASCII string with no
	// escapes, or a number, is its own text: taken as is, without a nested json.Unmarshal
	// (which would scan and decode it again). Anything else takes the general path.
	if s, ok := plainJSONText(b); ok {
		*f = flexString(s)
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	if string(b) == "null" {
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("want a string or a number, got %s", b)
	}
	*f = flexString(n.String())
	return nil
}

// plainJSONText returns the text of an already validated JSON value when no decoding is
// needed: a string of printable ASCII without escapes (its content between the quotes), or
// a number (its literal, as json.Number keeps it).
func plainJSONText(b []byte) (string, bool) {
	if len(b) == 0 {
		return "", false
	}
	if c := b[0]; c == '-' || ('0' <= c && c <= '9') {
		return string(b), true
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return "", false
	}
	for _, c := range b[1 : len(b)-1] {
		if c < 0x20 || c >= 0x80 || c == '\\' || c == '"' {
			return "", false
		}
	}
	return string(b[1 : len(b)-1]), true
}

// ParseEvent decodes a raw webhook body. A body that is not a JSON object, or has no
// event_name, is an error.
func ParseEvent(raw []byte) (Event, error) {
	var e Event
	if err := decodeEvent(raw, &e); err != nil {
		return e, fmt.Errorf("parse event: %w", err)
	}
	if e.EventName == "" {
		return e, fmt.Errorf("parse event: no event_name")
	}
	return e, nil
}

// User returns the OA-scoped id of the user the event is about (API.md §2.4).
func (e *Event) User() string {
	n := e.EventName
	switch {
	case n == "follow" || n == "unfollow":
		return e.Follower.ID
	case n == "user_click_chatnow":
		if e.UserID != "" {
			return e.UserID
		}
		return e.Follower.ID
	case strings.HasPrefix(n, "oa_send_"), n == "user_received_message", n == "user_seen_message":
		return e.Recipient.ID
	case strings.HasPrefix(n, "user_send_group_"):
		return e.Sender.ID
	case strings.HasPrefix(n, "user_"), strings.HasPrefix(n, "anonymous_"):
		return e.Sender.ID
	}
	if e.Follower.ID != "" {
		return e.Follower.ID
	}
	return ""
}

// DedupKey is the key under which a delivery is recognised as a redelivery (API.md §2.2):
// the event name with the message id for message events, or with the user and timestamp
// (or sorted receipt ids) for the others. The event name is part of every key because an
// OA message id reappears in its echo, its receipts and reactions.
func (e *Event) DedupKey() string {
	n, ts := e.EventName, string(e.Timestamp)
	switch {
	case n == "user_seen_message":
		ids := append([]string(nil), e.Message.MsgIDs...)
		sort.Strings(ids)
		return n + "|" + strings.Join(ids, ",") + "|" + ts
	case strings.Contains(n, "react"):
		return n + "|" + e.Message.MsgID + "|" + e.Message.ReactIcon + "|" + ts
	case e.Message.MsgID != "":
		return n + "|" + e.Message.MsgID
	}
	return n + "|" + e.User() + "|" + ts
}

// IsInteraction reports whether the event opens the user's 7-day interaction window
// (API.md §5.1); receipts and reactions are not assumed to count.
func (e *Event) IsInteraction() bool {
	n := e.EventName
	switch {
	case n == "follow", n == "user_submit_info", n == "user_click_chatnow":
		return true
	case strings.HasPrefix(n, "user_send_") && !strings.HasPrefix(n, "user_send_group_"):
		return true
	}
	return false
}

// Submitted decodes the info of a user_submit_info event.
func (e *Event) Submitted() SubmitInfo {
	var s SubmitInfo
	_ = json.Unmarshal(e.Info, &s) // lenient: a variant shape leaves fields empty
	return s
}

// ImageURLs returns the URLs of the images attached to the event.
func (e *Event) ImageURLs() []string {
	var out []string
	for _, a := range e.Message.Attachments {
		if a.Type == "image" && a.Payload.URL != "" {
			out = append(out, a.Payload.URL)
		}
	}
	return out
}
