package flows

import (
	"fmt"
	"strings"
	"time"
)

// Timeouts Due and Tick report.
const (
	TimeoutNudge  = "nudge"  // the conversation is idle past NudgeAfter: one reminder
	TimeoutExpire = "expire" // idle past ExpireAfter: the conversation is closed
)

// Due reports what the clock owes session s at now: TimeoutExpire, TimeoutNudge or "".
// Idle time counts from the user's last turn (Session.UpdatedAt), so a nudge does not
// postpone the expiry; one nudge per idle spell (Session.NudgedAt).
func Due(f *Flow, s Session, now time.Time) string {
	if f == nil || s.Status != StatusActive || s.UpdatedAt.IsZero() {
		return ""
	}
	idle := now.Sub(s.UpdatedAt)
	switch {
	case f.ExpireAfter > 0 && idle >= f.ExpireAfter:
		return TimeoutExpire
	case f.NudgeAfter > 0 && idle >= f.NudgeAfter && s.NudgedAt.IsZero():
		return TimeoutNudge
	}
	return ""
}

// Tick applies the timeout rule to s at now, as the caller's timer sees it. On a nudge it
// returns the reminder to send (the offer to continue or start again; the session now
// waits for that answer) and records the nudge in the session, so the caller stores both in
// one transaction and the nudge is never sent twice. On expiry the session becomes
// StatusExpired and nothing is sent: the user hears about it when they next write (Advance
// answers an expired session with the flow's "expired" text). kind is "" when nothing is due.
func Tick(f *Flow, s Session, now time.Time) (ns Session, replies []Reply, kind string) {
	kind = Due(f, s, now)
	if kind == "" {
		return s, nil, ""
	}
	f = ready(f)
	ns = s.clone()
	switch kind {
	case TimeoutExpire:
		ns.Status, ns.Step = StatusExpired, ""
		ns.Editing, ns.Picking, ns.Offering, ns.Pending, ns.Wrong = false, false, false, nil, 0
		return ns, nil, kind
	default:
		ns.NudgedAt = now
		ns.Offering, ns.Wrong = true, 0
		lead := render(orDefault(f.Nudge, msgNudge), data(f, ns))
		return ns, []Reply{offerReply(f, ns, lead)}, kind
	}
}

// Offer answers a user who asks to start the conversation while it is in progress (types
// "báo cáo" again): where they are ("đã trả lời 3/8 câu") and the choice to continue, start
// again or stop. The session waits for that choice.
func Offer(f *Flow, s Session, now time.Time) (Session, []Reply) {
	if f == nil {
		return s, []Reply{{Text: msgNoFlow}}
	}
	f = ready(f)
	if s.Status != StatusActive {
		ns, replies, _ := Advance(f, s, Input{}, now)
		return ns, replies
	}
	ns := s.clone()
	ns.UpdatedAt, ns.NudgedAt = now, time.Time{}
	ns.Offering, ns.Wrong, ns.Picking = true, 0, false
	return ns, []Reply{offerReply(f, ns, msgUnfinished)}
}

// Progress counts the questions of s: answered ones, and all those the conversation will
// ask given the answers so far (a question whose condition depends on an unanswered one is
// not counted until it applies). Info and confirm steps are not questions.
func Progress(f *Flow, s Session) (answered, total int) {
	if f == nil {
		return 0, 0
	}
	f = ready(f)
	e := env(f, s.Answers)
	for i := range f.Steps {
		st := &f.Steps[i]
		if st.Type == TypeInfo || st.Type == TypeConfirm {
			continue
		}
		if _, ok := s.Answers[st.Name]; ok {
			answered++
			total++
		} else if st.when == nil || truth(st.when.eval(e)) {
			total++
		}
	}
	return answered, total
}

// offerReply says where the conversation stands and offers to continue, start again or stop.
func offerReply(f *Flow, s Session, lead string) Reply {
	done, total := Progress(f, s)
	where := ""
	if st := f.Step(s.Step); st != nil {
		if st.Type == TypeConfirm {
			where = ", chỉ còn xem lại và gửi"
		} else {
			where = fmt.Sprintf(", đến câu “%s”", label(st))
		}
	}
	progress := fmt.Sprintf("Bác đã trả lời %d/%d câu%s.", done, total, where)
	if done == 0 {
		// Before the first answer the number of questions is not known yet (it depends on it).
		progress = "Bác chưa trả lời câu nào."
	}
	text := lead + "\n" + progress + "\nBác chọn:\n1. Tiếp tục\n2. Làm lại từ đầu\n3. Hủy báo cáo"
	return Reply{Text: f.say(text), Buttons: []Button{{"Tiếp tục", PayloadContinue}, {"Làm lại từ đầu", PayloadRestart},
		{"Hủy báo cáo", PayloadCancel}}}
}

// offerChoice reads an answer to the offer: "continue", "restart", "cancel" or "".
func offerChoice(text string) string {
	switch strings.ToLower(text) {
	case PayloadContinue:
		return "continue"
	case PayloadRestart:
		return "restart"
	case PayloadCancel:
		return "cancel"
	}
	joined := strings.Join(trimParticles(words(text)), " ")
	switch joined {
	case "1", "tiep", "tiep tuc", "lam tiep", "tiep di", "tiep tuc di", "bao cao tiep", "lam tiep di":
		return "continue"
	case "2", "tu dau", "lam lai tu dau", "bao cao lai":
		return "restart"
	case "3":
		return "cancel"
	}
	if near(joined, "tiep tuc", 5) {
		return "continue"
	}
	switch command(text, false) {
	case "restart":
		return "restart"
	case "cancel":
		return "cancel"
	}
	return ""
}

// returning handles the first message of a user who comes back: after a nudge, after
// "báo cáo" during the conversation, or after a pause longer than NudgeAfter. The offer's
// choices come first; a command does what it always does; a message that answers the
// current question is taken as the answer (the user simply carried on); anything else gets
// the offer, with where they stand.
func (t *turn) returning(in Input) {
	s := t.s
	if t.f.Step(s.Step) == nil {
		s.Offering = false
		t.run(in) // a bad record: run recovers it
		return
	}
	text := strings.TrimSpace(strings.ToValidUTF8(in.Text, ""))
	switch offerChoice(text) {
	case "continue":
		s.Offering, s.Wrong = false, 0
		t.reask(msgContinue)
		return
	case "restart":
		t.restart()
		return
	case "cancel":
		t.cancel()
		return
	}
	offering := s.Offering
	s.Offering = false
	if len(in.Photos) > 0 || in.Lat != "" || in.Lng != "" || command(text, false) != "" {
		t.run(in)
		return
	}
	if text != "" {
		trial := s.clone()
		tt := &turn{f: t.f, s: &trial, now: t.now}
		tt.run(in)
		if trial.Step != s.Step || trial.Status != s.Status {
			*s, t.replies, t.effects = trial, tt.replies, tt.effects
			return
		}
		if yes, ok := parseYesNo(text); ok && yes {
			s.Wrong = 0
			t.reask(msgContinue)
			return
		}
	}
	s.Offering = true
	lead := msgUnfinished
	if offering && text != "" {
		s.Wrong++
		lead = fmt.Sprintf("Chưa hiểu “%s”. Bác gõ 1, 2 hoặc 3 ạ.", clip(text))
	}
	t.replies = append(t.replies, offerReply(t.f, *s, lead))
}

// expiredText is the answer to a message on an expired conversation.
func expiredText(f *Flow, s Session) string {
	return f.say(render(orDefault(f.Expired, msgExpired), data(f, s)))
}

const (
	msgNudge      = "Bác ơi, báo cáo{{if .club}} của CLB {{.club}}{{end}} còn dở ạ."
	msgUnfinished = "Bác đang làm dở báo cáo."
	msgContinue   = "Dạ, mình làm tiếp nhé."
	msgExpired    = "Dạ, báo cáo Bác làm dở đã để quá lâu nên đã đóng lại, các câu trả lời chưa được gửi. Bác nhắn “báo cáo” để làm lại ạ."
)
