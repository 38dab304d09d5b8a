package bot

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"clubbot/bot/zalo"
	"clubbot/club"
	"clubbot/flows"
	"clubbot/store"
)

// ReportFlow is the id of the meeting-report flow.
const ReportFlow = "meeting_report"

// Conversations turns one inbox event into state changes and replies, inside the worker's
// transaction: the user record, the session, a stored report and the outbox all change
// together or not at all (ARCHITECTURE rule 2).
type Conversations struct {
	Flows     *FlowSet
	Messages  *Messages
	Provinces *club.Provinces
	Loc       *time.Location
	Buttons   bool   // send choices as quick-reply buttons (the list template) too
	CardImage string // image of the request-user-info card
	Log       zerolog.Logger
	Metrics   *Metrics
}

// outbuf collects the replies of one event; they are queued in the same transaction.
type outbuf struct {
	userID string
	quote  string
	msgs   []zalo.Message
}

func (o *outbuf) text(s string) { o.msgs = append(o.msgs, zalo.Message{Text: s}) }

func (o *outbuf) replies(rs []flows.Reply, buttons bool) {
	for _, r := range rs {
		m := zalo.Message{Text: r.Text}
		if buttons {
			for _, b := range r.Buttons {
				m.Buttons = append(m.Buttons, zalo.Button{Title: b.Title, Payload: b.Payload})
			}
		}
		o.msgs = append(o.msgs, m)
	}
}

// Handle processes one inbox event. User mistakes become replies; an error means the store
// failed and the whole transaction is rolled back.
func (cv *Conversations) Handle(tx *store.Tx, rec store.InboxEvent, now time.Time) error {
	ev, err := ParseEvent(rec.Raw)
	if err != nil {
		return nil // recorded raw for the history; nothing to do
	}
	uid := ev.User()
	if uid == "" || strings.HasPrefix(ev.EventName, "oa_send_") || strings.HasPrefix(ev.EventName, "user_send_group_") ||
		strings.HasPrefix(ev.EventName, "anonymous_") {
		return nil // echoes, group and anonymous events are recorded only
	}
	now = now.In(cv.Loc)
	u, known, err := tx.User(uid)
	if err != nil {
		return err
	}
	if !known {
		u.FirstSeen = now
	}
	if ev.UserIDByApp != "" {
		u.IDByApp = ev.UserIDByApp
	}
	out := &outbuf{userID: uid}
	if ev.IsInteraction() {
		u.LastInbound = now
		if _, err := tx.ReleaseHeld(uid, now); err != nil {
			return err
		}
	}
	log := cv.Log.With().Str("user", uid).Str("event", ev.EventName).Uint64("seq", rec.Seq).Logger()

	switch ev.EventName {
	case "follow", "user_click_chatnow":
		u.Following = true
		if u.Role != "" {
			u.Active = true
			cv.welcome(tx, u, out)
		} else {
			cv.greet(out)
		}
	case "unfollow":
		// Keep the history and the link, mark it inactive; no message can reach them now.
		u.Following = false
		u.Active = false
	case "user_submit_info":
		info := ev.Submitted()
		if u.Name == "" {
			u.Name = info.Name
		}
		if err := cv.link(tx, &u, info.Phone, out, now, log); err != nil {
			return err
		}
	case "user_received_message", "user_seen_message", "user_reacted_message":
		// delivery status only
	default:
		if !strings.HasPrefix(ev.EventName, "user_send_") {
			break // unknown events are recorded only
		}
		u.Following = true
		in := flows.Input{Text: strings.TrimSpace(ev.Message.Text), Photos: ev.ImageURLs()}
		for _, a := range ev.Message.Attachments {
			if a.Type == "location" {
				in.Lat, in.Lng = string(a.Payload.Coordinates.Latitude), string(a.Payload.Coordinates.Longitude)
			}
		}
		if ev.EventName == "user_send_image" {
			in.Text = "" // a photo's caption is not an answer
		}
		if err := cv.message(tx, &u, ev, in, out, now, log); err != nil {
			return err
		}
	}
	if err := tx.PutUser(u); err != nil {
		return err
	}
	return cv.enqueue(tx, out, now)
}

func (cv *Conversations) greet(out *outbuf) {
	out.text(cv.Messages.Render("greeting", nil))
	out.msgs = append(out.msgs, zalo.Message{InfoCard: &zalo.InfoCard{
		Title:    cv.Messages.Render("info_card_title", nil),
		Subtitle: cv.Messages.Render("info_card_subtitle", nil),
		ImageURL: cv.CardImage,
	}})
}

func (cv *Conversations) welcome(tx *store.Tx, u club.User, out *outbuf) {
	if u.Role == club.RoleChair {
		c, _, _ := tx.Club(u.ClubCode)
		out.text(cv.Messages.Render("welcome_back", map[string]string{"Name": u.Name, "Club": c.Name}))
		return
	}
	out.text(cv.Messages.Render("menu_officer", map[string]string{"Name": u.Name, "Province": cv.Provinces.Name(u.Province)}))
}

// link matches a shared or typed phone to a club's chairperson or an officer.
func (cv *Conversations) link(tx *store.Tx, u *club.User, raw string, out *outbuf, now time.Time, log zerolog.Logger) error {
	phone, ok := club.NormalizePhone(raw)
	if !ok {
		out.text(cv.Messages.Render("ask_phone", nil))
		return nil
	}
	c, found, err := tx.ClubByChairPhone(phone)
	if err != nil {
		return err
	}
	if found {
		u.Phone, u.Role, u.ClubCode, u.Province, u.Active, u.LinkedAt = phone, club.RoleChair, c.Code, c.Province, true, now
		u.Name = c.ChairName
		log.Info().Str("club", c.Code).Str("phone", club.MaskPhone(phone)).Msg("chair linked")
		out.text(cv.Messages.Render("linked_chair", map[string]string{"Name": c.ChairName, "Club": c.Name,
			"Commune": c.Commune, "Province": cv.Provinces.Name(c.Province)}))
		return nil
	}
	o, found, err := tx.OfficerByPhone(phone)
	if err != nil {
		return err
	}
	if found {
		u.Phone, u.Role, u.ClubCode, u.Province, u.Active, u.LinkedAt, u.Name = phone, o.Role, "", o.Province, true, now, o.Name
		log.Info().Str("province", o.Province).Str("phone", club.MaskPhone(phone)).Msg("officer linked")
		prov := cv.Provinces.Name(o.Province)
		if o.Province == "" {
			prov = "toàn quốc"
		}
		out.text(cv.Messages.Render("linked_officer", map[string]string{"Name": o.Name, "Province": prov}))
		return nil
	}
	u.Phone = phone
	u.FailedLinks++
	log.Info().Str("phone", club.MaskPhone(phone)).Msg("phone not found")
	out.text(cv.Messages.Render("phone_not_found", map[string]string{"Phone": phone}))
	return nil
}

// message handles a user message: the conversation in progress first, then onboarding,
// then commands.
func (cv *Conversations) message(tx *store.Tx, u *club.User, ev Event, in flows.Input, out *outbuf, now time.Time, log zerolog.Logger) error {
	sess, active, err := tx.Session(u.ID)
	if err != nil {
		return err
	}
	if active && sess.Status == "active" {
		return cv.advance(tx, u, sess, in, out, now, log)
	}
	if !u.Linked() {
		if in.Text == "" {
			out.text(cv.Messages.Render("ask_phone", nil))
			return nil
		}
		if _, ok := club.NormalizePhone(in.Text); ok {
			return cv.link(tx, u, in.Text, out, now, log)
		}
		cv.greet(out)
		return nil
	}
	if in.Text == "" {
		out.text(cv.Messages.Render("not_understood", nil))
		return nil
	}
	cmd := command(in.Text)
	switch u.Role {
	case club.RoleChair:
		c, _, err := tx.Club(u.ClubCode)
		if err != nil {
			return err
		}
		switch cmd {
		case "report":
			f, rev, err := cv.Flows.Current(ReportFlow)
			if err != nil {
				return err
			}
			// Templates write "CLB {{.club}}"; registry names usually start with "CLB" already.
			short := strings.TrimSpace(strings.TrimPrefix(strings.TrimPrefix(c.Name, "CLB "), "Câu lạc bộ "))
			s, replies := flows.Start(f, rev, map[string]string{"club": short, "name": u.Name}, now)
			out.replies(replies, cv.Buttons)
			log.Info().Str("flow", ReportFlow).Int("rev", rev).Msg("conversation started")
			return tx.PutSession(u.ID, s)
		case "help":
			out.text(cv.Messages.Render("help_chair", nil))
		case "summary", "missing":
			out.text(cv.Messages.Render("officer_only", nil))
		default:
			if _, ok := club.NormalizePhone(in.Text); ok {
				return cv.link(tx, u, in.Text, out, now, log)
			}
			out.text(cv.Messages.Render("menu_chair", map[string]string{"Name": u.Name, "Club": c.Name}))
		}
	default: // officer or admin
		switch cmd {
		case "summary":
			return cv.summary(tx, u, out, now)
		case "missing":
			return cv.missing(tx, u, out, now)
		default:
			if _, ok := club.NormalizePhone(in.Text); ok {
				return cv.link(tx, u, in.Text, out, now, log)
			}
			prov := cv.Provinces.Name(u.Province)
			if u.Province == "" {
				prov = "toàn quốc"
			}
			out.text(cv.Messages.Render("menu_officer", map[string]string{"Name": u.Name, "Province": prov}))
		}
	}
	return nil
}

// command recognises the bot's top-level commands (CONTRACT.md) in folded text.
func command(text string) string {
	t := strings.Trim(flows.Fold(text), " .!?")
	switch t {
	case "bao cao", "bc", "#baocao", "baocao", "gui bao cao", "bao cao sinh hoat", "bao cao thang":
		return "report"
	case "giup", "huong dan", "help", "#giup", "tro giup":
		return "help"
	case "tong hop", "#tonghop", "tonghop":
		return "summary"
	case "chua bao cao", "#chuabaocao", "chuabaocao":
		return "missing"
	}
	return ""
}

// advance feeds input to the conversation in progress and applies its effects.
func (cv *Conversations) advance(tx *store.Tx, u *club.User, s flows.Session, in flows.Input, out *outbuf, now time.Time, log zerolog.Logger) error {
	f, err := cv.Flows.Revision(tx, s.FlowID, s.Revision)
	if err != nil {
		return err
	}
	ns, replies, effects := flows.Advance(f, s, in, now)
	out.replies(replies, cv.Buttons)
	for _, e := range effects {
		switch e.Kind {
		case "submit":
			id, date, err := cv.store(tx, u, f, ns, now)
			if err != nil {
				return err
			}
			cv.Metrics.Reports.Inc()
			log.Info().Uint64("report", id).Str("club", u.ClubCode).Int("rev", ns.Revision).Msg("report stored")
			c, _, _ := tx.Club(u.ClubCode)
			saved := cv.Messages.Render("report_saved", map[string]any{"ID": id, "Club": c.Name, "Date": date})
			// One message, not two thank-yous: the receipt goes under the flow's closing words.
			if n := len(out.msgs); n > 0 && out.msgs[n-1].InfoCard == nil && len(out.msgs[n-1].Buttons) == 0 {
				out.msgs[n-1].Text += "\n" + saved
			} else {
				out.text(saved)
			}
		case "cancel":
			log.Info().Str("flow", ns.FlowID).Msg("conversation cancelled")
		}
	}
	if ns.Status != "active" {
		return tx.DeleteSession(u.ID)
	}
	return tx.PutSession(u.ID, ns)
}

// store saves a confirmed report; it runs in the same transaction that ends the session,
// so a report is stored exactly once.
func (cv *Conversations) store(tx *store.Tx, u *club.User, f *flows.Flow, s flows.Session, now time.Time) (uint64, string, error) {
	c, _, err := tx.Club(u.ClubCode)
	if err != nil {
		return 0, "", err
	}
	r := club.Report{ClubCode: u.ClubCode, Province: c.Province, Commune: c.Commune, FlowID: s.FlowID,
		FlowRevision: s.Revision, Answers: s.Answers, ReporterID: u.ID, CreatedAt: now, Held: true}
	if a, ok := s.Answers["meeting_held"]; ok && a.Bool != nil {
		r.Held = *a.Bool
	}
	display := ""
	if a, ok := s.Answers["meeting_date"]; ok && a.Date != "" {
		r.MeetingDate = a.Date
		display = a.Display
	}
	if r.MeetingDate == "" {
		// no meeting held: the report counts for the month it was given in
		r.MeetingDate = now.Format("2006-01-02")
	}
	id, err := tx.AddReport(r)
	return id, display, err
}

// enqueue records the replies in the outbox, split at 2,000 characters on line boundaries.
func (cv *Conversations) enqueue(tx *store.Tx, out *outbuf, now time.Time) error {
	for _, m := range out.msgs {
		parts := []zalo.Message{m}
		if m.Text != "" && len([]rune(m.Text)) > zalo.MaxTextRunes {
			parts = nil
			chunks := zalo.SplitText(m.Text, zalo.MaxTextRunes)
			for i, t := range chunks {
				p := zalo.Message{Text: t}
				if i == len(chunks)-1 {
					p.Buttons = m.Buttons
				}
				parts = append(parts, p)
			}
		}
		for _, p := range parts {
			raw, err := json.Marshal(p)
			if err != nil {
				return fmt.Errorf("encode reply: %w", err)
			}
			if _, err := tx.Enqueue(store.OutboxItem{UserID: out.userID, Message: raw, Kind: "reply",
				Priority: store.PriorityReply, CreatedAt: now}); err != nil {
				return err
			}
			cv.Metrics.OutQueued.WithLabelValues("reply").Inc()
		}
	}
	return nil
}
