package zalosim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"clubbot/bot/zalo"
)

// Delivery is the outcome of posting one event to the webhook.
type Delivery struct {
	Status int    // the webhook's HTTP status
	Body   []byte // the webhook's response body
	MsgID  string // the event's message.msg_id; empty for follow, unfollow, submit_info
	Event  []byte // the exact event body sent
}

// The event structs below keep the field order of the fixtures in testdata/zalo, so the
// bodies look like real traffic; all ids and timestamps are strings (API.md §0).

type idField struct {
	ID string `json:"id"`
}

type textMessage struct {
	Text  string `json:"text"`
	MsgID string `json:"msg_id"`
}

// user_send_text.json
type textEvent struct {
	AppID       string      `json:"app_id"`
	Sender      idField     `json:"sender"`
	UserIDByApp string      `json:"user_id_by_app"`
	Recipient   idField     `json:"recipient"`
	EventName   string      `json:"event_name"`
	Message     textMessage `json:"message"`
	Timestamp   string      `json:"timestamp"`
}

type imagePayload struct {
	Thumbnail string `json:"thumbnail"`
	URL       string `json:"url"`
}

type imageAttachment struct {
	Type    string       `json:"type"`
	Payload imagePayload `json:"payload"`
}

// user_send_image.json
type imageEvent struct {
	AppID       string  `json:"app_id"`
	Sender      idField `json:"sender"`
	UserIDByApp string  `json:"user_id_by_app"`
	Recipient   idField `json:"recipient"`
	EventName   string  `json:"event_name"`
	Message     struct {
		Text        string            `json:"text,omitempty"`
		MsgID       string            `json:"msg_id"`
		Attachments []imageAttachment `json:"attachments"`
	} `json:"message"`
	Timestamp string `json:"timestamp"`
}

type coordinates struct {
	Latitude  string `json:"latitude"`
	Longitude string `json:"longitude"`
}

type locationAttachment struct {
	Payload struct {
		Coordinates coordinates `json:"coordinates"`
	} `json:"payload"`
	Type string `json:"type"`
}

// user_send_location.json
type locationEvent struct {
	EventName string  `json:"event_name"`
	AppID     string  `json:"app_id"`
	Sender    idField `json:"sender"`
	Recipient idField `json:"recipient"`
	Message   struct {
		Attachments []locationAttachment `json:"attachments"`
		Text        string               `json:"text"`
		MsgID       string               `json:"msg_id"`
	} `json:"message"`
	Timestamp   string `json:"timestamp"`
	UserIDByApp string `json:"user_id_by_app"`
}

// follow.json, unfollow.json
type followEvent struct {
	OAID        string  `json:"oa_id"`
	Follower    idField `json:"follower"`
	UserIDByApp string  `json:"user_id_by_app,omitempty"`
	EventName   string  `json:"event_name"`
	Source      string  `json:"source"`
	AppID       string  `json:"app_id"`
	Timestamp   string  `json:"timestamp"`
}

type submittedInfo struct {
	Name     string `json:"name"`
	Phone    string `json:"phone"`
	Address  string `json:"address"`
	City     string `json:"city"`
	District string `json:"district"`
	Ward     string `json:"ward"`
}

// user_submit_info.json
type submitInfoEvent struct {
	AppID       string        `json:"app_id"`
	Sender      idField       `json:"sender"`
	UserIDByApp string        `json:"user_id_by_app"`
	Recipient   idField       `json:"recipient"`
	EventName   string        `json:"event_name"`
	Info        submittedInfo `json:"info"`
	Timestamp   string        `json:"timestamp"`
}

// user_received_message.json
type receivedEvent struct {
	AppID       string  `json:"app_id"`
	Sender      idField `json:"sender"`
	UserIDByApp string  `json:"user_id_by_app"`
	Recipient   idField `json:"recipient"`
	EventName   string  `json:"event_name"`
	Message     struct {
		MsgID string `json:"msg_id"`
	} `json:"message"`
	Timestamp string `json:"timestamp"`
}

// user_seen_message.json
type seenEvent struct {
	AppID       string  `json:"app_id"`
	Sender      idField `json:"sender"`
	UserIDByApp string  `json:"user_id_by_app"`
	Recipient   idField `json:"recipient"`
	EventName   string  `json:"event_name"`
	Message     struct {
		MsgIDs []string `json:"msg_ids"`
	} `json:"message"`
	Timestamp string `json:"timestamp"`
}

// oa_send_text.json (echo of an OA message)
type oaSendEvent struct {
	EventName   string      `json:"event_name"`
	AppID       string      `json:"app_id"`
	Sender      idField     `json:"sender"`
	Recipient   idField     `json:"recipient"`
	Message     textMessage `json:"message"`
	Timestamp   string      `json:"timestamp"`
	UserIDByApp string      `json:"user_id_by_app"`
}

// ErrNoWebhook is returned by the event senders when no webhook URL is set.
var ErrNoWebhook = errors.New("zalosim: no webhook URL set")

// ErrUnknownUser is returned by the event senders for a user the sim does not know.
var ErrUnknownUser = errors.New("zalosim: unknown user")

// eventSpec is what one event sender does to the sim's state before posting.
type eventSpec struct {
	kind     string
	interact bool // counts as an interaction for the 7-day window (§5.1)
	withMsg  bool // the event carries a new message.msg_id
	build    func(u *userState, ts, msgID string) any
	apply    func(u *userState) // state change; nil for none
	entry    func(e *Entry)     // display fields; nil for none
}

// event builds, logs, signs and posts one event from a user.
func (s *Sim) event(userID string, spec eventSpec) (Delivery, error) {
	s.mu.Lock()
	u := s.users[userID]
	if u == nil {
		s.mu.Unlock()
		return Delivery{}, fmt.Errorf("%w %q", ErrUnknownUser, userID)
	}
	now := s.now()
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	var msgID string
	if spec.withMsg {
		msgID = s.newMsgID()
	}
	body := marshal(spec.build(u, ts, msgID))
	// State changes before the POST: the bot may answer while the POST is in flight, and
	// the interaction has happened whether or not the webhook accepts the event.
	if spec.apply != nil {
		spec.apply(u)
	}
	if spec.interact {
		u.lastInter = now
		u.sinceInter = 0
	}
	e := &Entry{At: now, Dir: "in", UserID: userID, Kind: spec.kind, MsgID: msgID, JSON: body, Pending: true}
	if spec.entry != nil {
		spec.entry(e)
	}
	s.addEntry(e)
	url := s.webhook
	s.mu.Unlock()

	d := Delivery{MsgID: msgID, Event: body}
	var err error
	if url == "" {
		err = ErrNoWebhook
	} else {
		d.Status, d.Body, err = s.post(url, body, true)
	}

	s.mu.Lock()
	e.Pending = false
	e.Status = d.Status
	if err != nil {
		e.DeliveryError = err.Error()
	}
	s.notify()
	s.mu.Unlock()
	return d, err
}

// post sends one event body to the webhook, signed (API.md §3.1) when sign is true.
func (s *Sim) post(url string, body []byte, sign bool) (int, []byte, error) {
	s.mu.Lock()
	s.stats.Events++
	s.mu.Unlock()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("zalosim: post event: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if sign {
		ts, _ := zalo.BodyTimestamp(body)
		req.Header.Set(zalo.SignatureHeader, "mac="+zalo.Sign(s.cfg.AppID, s.cfg.OASecretKey, body, ts))
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("zalosim: post event: %w", err)
	}
	defer resp.Body.Close()
	rb, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return resp.StatusCode, rb, fmt.Errorf("zalosim: read webhook answer: %w", err)
	}
	return resp.StatusCode, rb, nil
}

// Deliver posts an exact body to the webhook, signed correctly or not signed at all, and
// returns the HTTP status. Nothing is logged and no state changes: tests use it to replay
// duplicates and to send unsigned or tampered bodies.
func (s *Sim) Deliver(body []byte, signed bool) (status int, err error) {
	s.mu.Lock()
	url := s.webhook
	s.mu.Unlock()
	if url == "" {
		return 0, ErrNoWebhook
	}
	status, _, err = s.post(url, body, signed)
	return status, err
}

// Sign returns the X-ZEvent-Signature header value the sim would send with body.
func (s *Sim) Sign(body []byte) string {
	ts, _ := zalo.BodyTimestamp(body)
	return "mac=" + zalo.Sign(s.cfg.AppID, s.cfg.OASecretKey, body, ts)
}

func (s *Sim) userEnvelope(u *userState) (sender, recipient idField) {
	return idField{ID: u.ID}, idField{ID: s.cfg.OAID}
}

// Follow sends a follow event: the user follows the OA (an interaction).
func (s *Sim) Follow(userID string) (Delivery, error) {
	return s.event(userID, eventSpec{
		kind: "follow", interact: true,
		build: func(u *userState, ts, _ string) any {
			return followEvent{OAID: s.cfg.OAID, Follower: idField{ID: u.ID}, UserIDByApp: u.AppUserID,
				EventName: "follow", Source: "oa_profile", AppID: s.cfg.AppID, Timestamp: ts}
		},
		apply: func(u *userState) { u.follower, u.unfollowed = true, false },
	})
}

// Unfollow sends an unfollow event; later sends to the user answer -213.
func (s *Sim) Unfollow(userID string) (Delivery, error) {
	return s.event(userID, eventSpec{
		kind: "unfollow",
		build: func(u *userState, ts, _ string) any {
			return followEvent{OAID: s.cfg.OAID, Follower: idField{ID: u.ID}, UserIDByApp: u.AppUserID,
				EventName: "unfollow", Source: "oa_profile", AppID: s.cfg.AppID, Timestamp: ts}
		},
		apply: func(u *userState) { u.follower, u.unfollowed = false, true },
	})
}

// SendText sends a user_send_text event. A tap on an oa.query.* button is sent the same
// way, with the button's payload as text (API.md §2.7).
func (s *Sim) SendText(userID, text string) (Delivery, error) {
	return s.event(userID, eventSpec{
		kind: "text", interact: true, withMsg: true,
		build: func(u *userState, ts, msgID string) any {
			snd, rcp := s.userEnvelope(u)
			return textEvent{AppID: s.cfg.AppID, Sender: snd, UserIDByApp: u.AppUserID, Recipient: rcp,
				EventName: "user_send_text", Message: textMessage{Text: text, MsgID: msgID}, Timestamp: ts}
		},
		entry: func(e *Entry) { e.Text = text },
	})
}

// SendImage sends a user_send_image event with an optional caption.
func (s *Sim) SendImage(userID, url, caption string) (Delivery, error) {
	return s.event(userID, eventSpec{
		kind: "image", interact: true, withMsg: true,
		build: func(u *userState, ts, msgID string) any {
			snd, rcp := s.userEnvelope(u)
			ev := imageEvent{AppID: s.cfg.AppID, Sender: snd, UserIDByApp: u.AppUserID, Recipient: rcp,
				EventName: "user_send_image", Timestamp: ts}
			ev.Message.Text = caption
			ev.Message.MsgID = msgID
			ev.Message.Attachments = []imageAttachment{{Type: "image", Payload: imagePayload{Thumbnail: url, URL: url}}}
			return ev
		},
		entry: func(e *Entry) { e.Text, e.URL = caption, url },
	})
}

// SendLocation sends a user_send_location event; coordinates are strings (§2.6).
func (s *Sim) SendLocation(userID string, lat, lng float64, name string) (Delivery, error) {
	return s.event(userID, eventSpec{
		kind: "location", interact: true, withMsg: true,
		build: func(u *userState, ts, msgID string) any {
			snd, rcp := s.userEnvelope(u)
			ev := locationEvent{EventName: "user_send_location", AppID: s.cfg.AppID, Sender: snd, Recipient: rcp,
				Timestamp: ts, UserIDByApp: u.AppUserID}
			var a locationAttachment
			a.Type = "location"
			a.Payload.Coordinates = coordinates{
				Latitude:  strconv.FormatFloat(lat, 'f', 7, 64),
				Longitude: strconv.FormatFloat(lng, 'f', 7, 64),
			}
			ev.Message.Attachments = []locationAttachment{a}
			ev.Message.Text = name
			ev.Message.MsgID = msgID
			return ev
		},
		entry: func(e *Entry) {
			e.Text = fmt.Sprintf("%s (%.5f, %.5f)", name, lat, lng)
		},
	})
}

// SubmitInfo sends a user_submit_info event: the user's answer to a request_user_info
// card. Zalo sends phones as 84…; pass the phone in the form the test needs.
func (s *Sim) SubmitInfo(userID, name, phone string) (Delivery, error) {
	return s.event(userID, eventSpec{
		kind: "submit_info", interact: true,
		build: func(u *userState, ts, _ string) any {
			snd, rcp := s.userEnvelope(u)
			return submitInfoEvent{AppID: s.cfg.AppID, Sender: snd, UserIDByApp: u.AppUserID, Recipient: rcp,
				EventName: "user_submit_info", Info: submittedInfo{Name: name, Phone: phone}, Timestamp: ts}
		},
		apply: func(u *userState) { u.shared, u.sharedName, u.sharedPhone = true, name, phone },
		entry: func(e *Entry) { e.Text = name + " · " + phone },
	})
}

// Received sends a user_received_message receipt for an OA message (not an interaction).
func (s *Sim) Received(userID, msgID string) (Delivery, error) {
	d, err := s.event(userID, eventSpec{
		kind: "received",
		build: func(u *userState, ts, _ string) any {
			ev := receivedEvent{AppID: s.cfg.AppID, Sender: idField{ID: s.cfg.OAID}, UserIDByApp: u.AppUserID,
				Recipient: idField{ID: u.ID}, EventName: "user_received_message", Timestamp: ts}
			ev.Message.MsgID = msgID
			return ev
		},
		entry: func(e *Entry) { e.Text = msgID },
	})
	d.MsgID = msgID
	return d, err
}

// Seen sends a user_seen_message receipt for OA messages (not an interaction).
func (s *Sim) Seen(userID string, msgIDs ...string) (Delivery, error) {
	return s.event(userID, eventSpec{
		kind: "seen",
		build: func(u *userState, ts, _ string) any {
			ev := seenEvent{AppID: s.cfg.AppID, Sender: idField{ID: s.cfg.OAID}, UserIDByApp: u.AppUserID,
				Recipient: idField{ID: u.ID}, EventName: "user_seen_message", Timestamp: ts}
			ev.Message.MsgIDs = append([]string{}, msgIDs...)
			return ev
		},
	})
}

// echoEvent builds the oa_send_* echo of a successful send (EchoSends); s.mu must be held.
func (s *Sim) echoEvent(u *userState, e *Entry) []byte {
	name := "oa_send_text"
	switch e.Kind {
	case "list":
		name = "oa_send_list"
	case "image":
		name = "oa_send_image"
	case "request_user_info":
		name = "oa_send_template"
	}
	ts := strconv.FormatInt(s.now().Add(time.Millisecond).UnixMilli(), 10)
	return marshal(oaSendEvent{EventName: name, AppID: s.cfg.AppID, Sender: idField{ID: s.cfg.OAID},
		Recipient: idField{ID: u.ID}, Message: textMessage{Text: e.Text, MsgID: e.MsgID},
		Timestamp: ts, UserIDByApp: u.AppUserID})
}
