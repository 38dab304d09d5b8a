package bot

import (
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
	sessions  sessionCache // conversations kept decoded between turns (session_cache.go)
}

// outbuf collects the replies of one event; they are queued in the same transaction.
type outbuf struct {
	userID string
	seq    uint64 // the inbox event answered, for the logs
	msgID  string // its Zalo msg_id
	quote  string // quote this user message in the first plain-text reply
	msgs   []zalo.Message
}

// lateReply is how old a user's message may be before its answer quotes it: after an
// outage or a backlog, a quote shows which message a late answer belongs to.
const lateReply = time.Minute

func (o *outbuf) text(s string) { o.msgs = append(o.msgs, zalo.Message{Text: s}) }

// note adds s under the last plain message (one message, not two thank-yous, when a report
// is stored), or as a message of its own.
func (o *outbuf) note(s string) {
	if n := len(o.msgs); n > 0 && o.msgs[n-1].InfoCard == nil && len(o.msgs[n-1].Buttons) == 0 && o.msgs[n-1].Text != "" {
		o.msgs[n-1].Text += "\n" + s
		return
	}
	o.text(s)
}

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
	ev, ok := eventOf(rec)
	if !ok {
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
	out := &outbuf{userID: uid, seq: rec.Seq, msgID: ev.Message.MsgID}
	lc := cv.Log.With().Str("user", uid).Str("event", ev.EventName).Uint64("seq", rec.Seq)
	if ev.Message.MsgID != "" {
		lc = lc.Str("msg_id", ev.Message.MsgID)
	}
	log := lc.Logger()
	if ev.IsInteraction() {
		u.LastInbound = now
		// The window is open again: messages held for this user go out now (API.md §5.2).
		n, err := tx.ReleaseHeld(uid, now)
		if err != nil {
			return err
		}
		if n > 0 {
			log.Info().Int("released", n).Msg("held messages released: the user wrote")
		}
	}

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
	case "user_received_message", "user_seen_message":
		// Receipts name the message_id the send returned (API.md §2.6).
		ids := ev.Message.MsgIDs
		if ev.Message.MsgID != "" {
			ids = append(ids, ev.Message.MsgID)
		}
		for _, zid := range ids {
			it, ok, err := tx.MarkReceipt(zid, ev.EventName == "user_seen_message", now)
			if err != nil {
				return err
			}
			if ok {
				log.Debug().Uint64("out_id", it.ID).Str("zalo_msg_id", zid).Msg("receipt")
			}
		}
	case "user_reacted_message":
		// recorded only
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
		// Quote the user's message when a plain answer could be ambiguous: it was not text
		// (which photo was received?) or it waited long for its answer.
		if ev.Message.MsgID != "" && (ev.EventName != "user_send_text" || now.Sub(rec.ReceivedAt) > lateReply) {
			out.quote = ev.Message.MsgID
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
	if u.CanReport() {
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
		role, key := club.RoleChair, "linked_chair"
		if phone != c.ChairPhone {
			role, key = club.RoleBoard, "linked_board"
		}
		u.Phone, u.Role, u.ClubCode, u.Province, u.Active, u.LinkedAt = phone, role, c.Code, c.Province, true, now
		u.AwaitProvince, u.PendingProvince = false, ""
		if role == club.RoleChair {
			u.Name = c.ChairName // a board member keeps the name Zalo shared, if any
		}
		log.Info().Str("club", c.Code).Str("role", role).Str("phone", club.MaskPhone(phone)).Msg("reporter linked")
		out.text(cv.Messages.Render(key, map[string]string{"Name": orBac(u.Name), "Club": c.Name,
			"Commune": c.Commune, "Province": cv.Provinces.Name(c.Province)}))
		return nil
	}
	o, found, err := tx.OfficerByPhone(phone)
	if err != nil {
		return err
	}
	if found {
		u.Phone, u.Role, u.ClubCode, u.Province, u.Active, u.LinkedAt, u.Name = phone, o.Role, "", o.Province, true, now, o.Name
		u.AwaitProvince, u.PendingProvince = false, ""
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
	if u.PendingSince.IsZero() {
		u.PendingSince = now
	}
	log.Info().Str("phone", club.MaskPhone(phone)).Msg("phone not found; person pending")
	out.text(cv.Messages.Render("phone_not_found", map[string]string{"Phone": phone}))
	if u.PendingProvince == "" {
		u.AwaitProvince = true
		out.text(cv.Messages.Render("ask_province", nil))
	}
	return nil
}

// message handles a user message: the conversation in progress first, then onboarding,
// then commands.
func (cv *Conversations) message(tx *store.Tx, u *club.User, ev Event, in flows.Input, out *outbuf, now time.Time, log zerolog.Logger) error {
	sess, active, err := cv.sessions.session(tx, u.ID)
	if err != nil {
		return err
	}
	if active {
		// Expired conversations, and "báo cáo" during one (timers.go).
		var handled bool
		if sess, handled, err = cv.resume(tx, u, sess, in, out, now, log); handled || err != nil {
			return err
		}
	}
	if active && sess.Status == flows.StatusActive {
		// Keep a copy of photos sent in a conversation: Zalo's links do not last. The
		// download happens outside this transaction (MediaFetcher).
		for _, p := range in.Photos {
			if len(p) > store.MaxMediaURL {
				continue
			}
			if _, err := tx.QueueMedia(store.Media{URL: p, UserID: u.ID, SourceSeq: out.seq, CreatedAt: now}); err != nil {
				return err
			}
		}
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
		if u.AwaitProvince {
			if p, ok := cv.Provinces.Lookup(strings.TrimPrefix(flows.Fold(in.Text), "tinh ")); ok {
				u.AwaitProvince, u.PendingProvince = false, p.Code
				log.Info().Str("province", p.Code).Msg("pending person named their province")
				out.text(cv.Messages.Render("pending_recorded", map[string]string{"Province": p.Name}))
				return nil
			}
			out.text(cv.Messages.Render("ask_province", nil))
			return nil
		}
		cv.greet(out)
		return nil
	}
	if in.Text == "" {
		out.text(cv.Messages.Render("not_understood", nil))
		return nil
	}
	cmd, arg := command(in.Text)
	switch u.Role {
	case club.RoleChair, club.RoleBoard:
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
			s, replies := flows.Start(f, rev, map[string]string{"club": shortClubName(c.Name), "name": u.Name}, now)
			out.replies(replies, cv.Buttons)
			log.Info().Str("flow", ReportFlow).Int("rev", rev).Msg("conversation started")
			return tx.PutSession(u.ID, s)
		case "help":
			out.text(cv.Messages.Render("help_chair", nil))
		case "correct":
			return cv.startCorrection(tx, u, c, out, now)
		case "view":
			return cv.viewReports(tx, c, out, now)
		case "summary", "missing", "club", "pending":
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
		case "club":
			return cv.viewClub(tx, u, arg, out)
		case "pending":
			return cv.pending(tx, u, out)
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

// command recognises the bot's top-level commands (CONTRACT.md) in folded text, and the
// argument of "clb <mã>".
func command(text string) (string, string) {
	t := strings.Trim(flows.Fold(text), " .!?")
	switch t {
	case "bao cao", "bc", "#baocao", "baocao", "gui bao cao", "bao cao sinh hoat", "bao cao thang":
		return "report", ""
	case "giup", "huong dan", "help", "#giup", "tro giup":
		return "help", ""
	case "tong hop", "#tonghop", "tonghop":
		return "summary", ""
	case "chua bao cao", "#chuabaocao", "chuabaocao":
		return "missing", ""
	case "cho duyet", "#choduyet", "danh sach cho", "nguoi cho":
		return "pending", ""
	case "sua bao cao", "#suabaocao", "sua bc":
		return "correct", ""
	case "xem bao cao", "#xembaocao", "xem bc":
		return "view", ""
	}
	if code, ok := strings.CutPrefix(t, "clb "); ok && !strings.Contains(strings.TrimSpace(code), " ") {
		return "club", strings.TrimSpace(code)
	}
	return "", ""
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
			if ns.Vars[varCorrect] != "" {
				r, err := cv.reviseReport(tx, u, ns, now)
				if err != nil {
					return err
				}
				log.Info().Uint64("report", r.ID).Int("revision", r.Revision).Msg("report corrected")
				out.note(cv.Messages.Render("report_corrected", map[string]any{"ID": r.ID, "Revision": r.Revision - 1}))
				continue
			}
			id, date, err := cv.store(tx, u, ns, now)
			if err != nil {
				return err
			}
			tx.OnCommit(cv.Metrics.Reports.Inc)
			log.Info().Uint64("report", id).Str("club", u.ClubCode).Int("rev", ns.Revision).Msg("report stored")
			c, _, _ := tx.Club(u.ClubCode)
			out.note(cv.Messages.Render("report_saved", map[string]any{"ID": id, "Club": c.Name, "Date": date}))
		case "cancel":
			log.Info().Str("flow", ns.FlowID).Msg("conversation cancelled")
		}
	}
	if ns.Status != flows.StatusActive {
		return tx.DeleteSession(u.ID)
	}
	return cv.sessions.putSession(tx, u.ID, ns)
}

// store saves a confirmed report; it runs in the same transaction that ends the session,
// so a report is stored exactly once.
func (cv *Conversations) store(tx *store.Tx, u *club.User, s flows.Session, now time.Time) (uint64, string, error) {
	c, _, err := tx.Club(u.ClubCode)
	if err != nil {
		return 0, "", err
	}
	r := reportFrom(club.Report{ClubCode: u.ClubCode, Province: c.Province, Commune: c.Commune,
		ReporterID: u.ID, CreatedAt: now}, s)
	display := ""
	if r.MeetingDate != "" {
		display = displayDate(r.MeetingDate)
	} else {
		// no meeting held: the report counts for the month it was given in
		r.MeetingDate = now.Format("2006-01-02")
	}
	id, err := tx.AddReport(r)
	return id, display, err
}

// enqueue records the replies in the outbox (split at 2,000 characters on line
// boundaries by EnqueueMessage). The first plain-text reply quotes the user's message when
// out.quote is set; Zalo quotes only in text messages, and the sender drops a quote Zalo
// refuses (API.md §4.2).
func (cv *Conversations) enqueue(tx *store.Tx, out *outbuf, now time.Time) error {
	quote := out.quote
	for _, m := range out.msgs {
		om := OutMessage{Message: m}
		if quote != "" && om.InfoCard == nil && len(om.Buttons) == 0 && om.ImageURL == "" && om.AttachmentID == "" {
			om.QuoteMsgID, quote = quote, ""
		}
		item := store.OutboxItem{UserID: out.userID, Kind: "reply", Priority: store.PriorityReply, CreatedAt: now,
			SourceSeq: out.seq, SourceMsgID: out.msgID}
		ids, err := EnqueueMessage(tx, item, om, cv.Metrics)
		if err != nil {
			return err
		}
		if e := cv.Log.Debug(); e.Enabled() {
			e.Str("user", out.userID).Uint64("seq", out.seq).Str("msg_id", out.msgID).Uints64("out_ids", ids).Msg("reply queued")
		}
	}
	return nil
}

// orBac names a person we know nothing of politely ("bác").
func orBac(name string) string {
	if name == "" {
		return "bác"
	}
	return name
}

// eventOf returns the decoded event: the ingest's own decoding when the worker was handed
// the event in memory, else a decoding of the stored body (events pending at start-up).
func eventOf(rec store.InboxEvent) (Event, bool) {
	if ev, ok := rec.Parsed.(*Event); ok && ev != nil {
		return *ev, true
	}
	ev, err := ParseEvent(rec.Raw)
	return ev, err == nil
}
