package flows

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Session statuses.
const (
	StatusActive    = "active"
	StatusDone      = "done"
	StatusCancelled = "cancelled"
	StatusExpired   = "expired" // idle past the flow's expire_after; see Tick
)

// Effect kinds.
const (
	EffectSubmit = "submit" // the user confirmed; store Session.Answers as the report
	EffectCancel = "cancel" // the user cancelled
)

// Button payloads. A tap on a Zalo quick reply sends its payload as ordinary text
// (API.md §2.7), so payloads are prefixed with # to never be mistaken for typed text, and
// the same text typed by hand works too.
const (
	payloadOpt    = "#opt:" // followed by an option code (or its number)
	payloadAll    = "#all"
	payloadEdit   = "#edit:" // followed by a summary number
	PayloadCancel = "#cmd:cancel"
	PayloadBack   = "#cmd:back"
	PayloadHelp   = "#cmd:help"
	PayloadSkip   = "#cmd:skip"
	// PayloadRestart starts the conversation again from the first question ("bắt đầu lại").
	PayloadRestart = "#cmd:restart"
	// PayloadContinue answers the offer to continue an unfinished conversation.
	PayloadContinue = "#cmd:continue"
	// PayloadDone ends a photo step ("xong").
	PayloadDone = "#cmd:done"
)

// maxWrong is how many wrong answers in a row the bot accepts before it offers help or to
// stop (ARCHITECTURE.md rule 6: never an endless loop).
const maxWrong = 3

// Session is the state of one conversation; the caller stores it as JSON between messages.
type Session struct {
	FlowID   string            `json:"flow_id"`
	Revision int               `json:"revision"`
	Step     string            `json:"step"`              // current step name; "" when finished
	Status   string            `json:"status"`            // "active", "done", "cancelled"
	Answers  map[string]Answer `json:"answers"`           // keyed by stable step name
	Vars     map[string]string `json:"vars,omitempty"`    // e.g. "club", usable in prompts as {{.club}}
	Trail    []string          `json:"trail,omitempty"`   // answered steps in order, for "quay lại"
	Wrong    int               `json:"wrong"`             // consecutive wrong answers at the current step
	Editing  bool              `json:"editing,omitempty"` // the step was reopened from the summary ("sửa 2")
	Picking  bool              `json:"picking,omitempty"` // at the confirm step, waiting for which answer to change
	Shown    []string          `json:"shown,omitempty"`   // info steps already shown
	Pending  []string          `json:"pending,omitempty"` // photos received so far at the current photo step
	Approx   *Answer           `json:"approx,omitempty"`  // an approximate number ("khoảng 40") waiting to be confirmed
	// Offering is set while the user is offered to continue where they were or start again
	// (after a nudge, or "báo cáo" typed during the conversation).
	Offering bool `json:"offering,omitempty"`
	// NudgedAt is when the one nudge of the current idle spell was due (set whether or not
	// the caller could deliver it); the user's next message clears it.
	NudgedAt  time.Time `json:"nudged_at,omitzero"`
	StartedAt time.Time `json:"started_at"`
	UpdatedAt time.Time `json:"updated_at"` // the user's last turn: idle time is counted from here
}

// Answer is one step's answer in typed form (for storage and export) plus its display text.
type Answer struct {
	Type    string   `json:"type"`              // the step type
	Text    string   `json:"text,omitempty"`    // text answers
	Number  *int64   `json:"number,omitempty"`  // number / money
	Date    string   `json:"date,omitempty"`    // YYYY-MM-DD
	Choices []string `json:"choices,omitempty"` // option codes (choice: one, multi: several, in option order; none: empty)
	Bool    *bool    `json:"bool,omitempty"`    // yes/no
	Photos  []string `json:"photos,omitempty"`
	Skipped bool     `json:"skipped,omitempty"`
	Display string   `json:"display"` // human-readable value for summaries and exports
}

// Input is one message from the user.
type Input struct {
	Text     string   // what the user typed (or a button payload, e.g. "#opt:yes")
	Photos   []string // image URLs the user sent
	Lat, Lng string   // shared location, if any
}

// Reply is one message to send. Text always contains the numbered choices, so it works
// where buttons cannot be sent (groups, or a platform refusal; API.md §4.3).
type Reply struct {
	Text    string
	Buttons []Button
}

// Button is a quick reply; Title is at most 35 characters (API.md §4.3).
type Button struct{ Title, Payload string }

// Effect is something the caller must do after a turn, in the same transaction as saving
// the session.
type Effect struct {
	Kind string // EffectSubmit or EffectCancel
}

// Start begins a conversation on flow f at revision rev. vars are available to prompts
// ({{.club}}); now is the current time in the calendar's zone.
func Start(f *Flow, rev int, vars map[string]string, now time.Time) (Session, []Reply) {
	return StartWith(f, rev, vars, nil, now)
}

// StartWith begins a conversation whose answers are partly or wholly known (a correction of
// a stored report): it goes straight to the first step still without an answer — for a
// complete report, the confirm summary, where "sửa N" changes one answer. Answers to steps
// the revision does not have are kept as they are. The flow's intro is shown only to a
// conversation that starts from nothing.
func StartWith(f *Flow, rev int, vars map[string]string, answers map[string]Answer, now time.Time) (Session, []Reply) {
	if f == nil {
		return Session{Revision: rev, Status: StatusCancelled, StartedAt: now, UpdatedAt: now}, []Reply{{Text: msgNoFlow}}
	}
	f = ready(f)
	s := Session{
		FlowID:    f.ID,
		Revision:  rev,
		Status:    StatusActive,
		Answers:   map[string]Answer{},
		Vars:      cloneVars(vars),
		StartedAt: now,
		UpdatedAt: now,
	}
	for k, a := range answers {
		s.Answers[k] = a
	}
	for _, st := range f.Steps {
		if _, ok := s.Answers[st.Name]; ok {
			s.Trail = append(s.Trail, st.Name)
		}
	}
	infos := settle(f, &s)
	if s.Step == "" {
		// Every step's condition is false or answered: nothing to ask.
		s.Status = StatusDone
		return s, []Reply{{Text: join(append(infos, f.say(orDefault(f.Done, msgDone)))...)}}
	}
	r := question(f, s, now)
	var lead []string
	if f.Intro != "" && len(answers) == 0 {
		lead = append(lead, render(f.Intro, data(f, s)))
	}
	r.Text = join(append(append(lead, infos...), r.Text)...)
	return s, []Reply{r}
}

// join joins the non-empty parts with a blank line.
func join(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, "\n\n")
}

// settle moves s to the first step still to ask, marking the info steps on the way as
// shown; it returns their texts, to be sent before the question.
func settle(f *Flow, s *Session) []string {
	var infos []string
	for {
		s.Step = nextStep(f, *s)
		st := f.Step(s.Step)
		if st == nil || st.Type != TypeInfo {
			return infos
		}
		infos = append(infos, renderStep(st, data(f, *s)))
		s.Shown = append(s.Shown, st.Name)
	}
}

// Advance feeds one user input to an active session and returns the new session, the
// replies and the effects. It never panics and always returns at least one non-empty reply.
// A session that is not active is returned unchanged with a short reply.
func Advance(f *Flow, s Session, in Input, now time.Time) (Session, []Reply, []Effect) {
	if f == nil {
		return s, []Reply{{Text: msgNoFlow}}, nil
	}
	f = ready(f)
	switch s.Status {
	case StatusActive:
	case StatusDone:
		return s, []Reply{{Text: f.say(msgClosedDone)}}, nil
	case StatusExpired:
		return s, []Reply{{Text: expiredText(f, s)}}, nil
	default:
		return s, []Reply{{Text: f.say(msgClosedCancelled)}}, nil
	}
	idle := now.Sub(s.UpdatedAt)
	s = s.clone()
	s.UpdatedAt = now
	s.NudgedAt = time.Time{} // the user is back: a later idle spell gets its own nudge
	in = cleanInput(in)
	t := &turn{f: f, s: &s, now: now}
	if s.Offering || f.NudgeAfter > 0 && !t.s.StartedAt.IsZero() && idle >= f.NudgeAfter {
		// Back after a nudge, after "báo cáo", or after a long pause without a nudge (outside
		// the interaction window, or the timer had not run yet): the same offer.
		t.returning(in)
	} else {
		t.run(in)
	}
	if len(t.replies) == 0 || strings.TrimSpace(t.replies[0].Text) == "" {
		t.replies = []Reply{question(f, s, now)}
	}
	return s, t.replies, t.effects
}

// cleanInput drops invalid UTF-8 from what will be stored (photo URLs, coordinates), so a
// session always survives its JSON round trip; an empty photo URL is no photo.
func cleanInput(in Input) Input {
	var photos []string
	for _, p := range in.Photos {
		if p = strings.TrimSpace(strings.ToValidUTF8(p, "")); p != "" {
			photos = append(photos, p)
		}
	}
	in.Photos = photos
	in.Lat = strings.TrimSpace(strings.ToValidUTF8(in.Lat, ""))
	in.Lng = strings.TrimSpace(strings.ToValidUTF8(in.Lng, ""))
	return in
}

func (s Session) clone() Session {
	c := s
	c.Answers = maps.Clone(s.Answers)
	if c.Answers == nil {
		c.Answers = map[string]Answer{}
	}
	c.Vars = maps.Clone(s.Vars)
	c.Trail = slices.Clone(s.Trail)
	c.Shown = slices.Clone(s.Shown)
	c.Pending = slices.Clone(s.Pending)
	if s.Approx != nil {
		a := *s.Approx
		c.Approx = &a
	}
	if c.Wrong < 0 {
		c.Wrong = 0
	}
	return c
}

// turn is the work of one Advance call.
type turn struct {
	f       *Flow
	s       *Session
	now     time.Time
	replies []Reply
	effects []Effect
	ack     string // echo of what was understood, put before the next question
}

func (t *turn) run(in Input) {
	f, s := t.f, t.s
	// An approximate number waits for one answer only: whatever comes next settles it.
	approx := s.Approx
	s.Approx = nil
	st := f.Step(s.Step)
	if st == nil {
		// The session points at a step the flow does not have (a bad record): carry on at
		// the first question still unanswered rather than fail.
		s.Step, s.Editing, s.Picking, s.Wrong = nextStep(f, *s), false, false, 0
		t.next(msgResume)
		return
	}
	if st.Type == TypeInfo {
		// Only a record written by other code rests at an info step: show it and go on.
		s.Shown = append(s.Shown, st.Name)
		t.next(renderStep(st, data(f, *s)))
		return
	}
	// Invalid UTF-8 is dropped so that quoting the input back can never produce an
	// invalid message.
	text := strings.TrimSpace(strings.ToValidUTF8(in.Text, ""))
	if st.Type == TypePhoto && len(in.Photos) > 0 {
		s.Pending = append(s.Pending, in.Photos...)
		if len(s.Pending) >= photoMax(st) {
			t.answer(st, photoAnswer(s.Pending))
			return
		}
		t.reask(fmt.Sprintf(msgPhotoGot, len(s.Pending)))
		return
	}
	if st.Type == TypeLocation && (in.Lat != "" || in.Lng != "") {
		loc := in.Lat + "," + in.Lng
		t.answer(st, Answer{Type: TypeLocation, Text: loc, Display: "Vị trí " + loc})
		return
	}
	var extra []string
	if len(in.Photos) > 0 {
		a := s.Answers[PhotosKey]
		a.Type = PhotosKey
		a.Photos = append(slices.Clone(a.Photos), in.Photos...)
		a.Display = fmt.Sprintf("%d ảnh", len(a.Photos))
		s.Answers[PhotosKey] = a
		extra = append(extra, fmt.Sprintf(msgPhotos, len(in.Photos)))
	}
	if in.Lat != "" || in.Lng != "" {
		loc := in.Lat + "," + in.Lng
		s.Answers[LocationKey] = Answer{Type: LocationKey, Text: loc, Display: loc}
		extra = append(extra, msgLocation)
	}
	if text == "" {
		msg := msgTypeAnswer
		if len(extra) > 0 {
			msg = strings.Join(extra, " ")
		}
		t.reask(msg)
		return
	}
	if st.Type != TypeText && utf8.RuneCountInString(text) > MaxPrompt {
		// Zalo messages stop at 2,000 characters; anything longer is not an answer, and
		// refusing it early keeps the matchers' work small.
		t.wrong(st, "Tin nhắn dài quá ạ.")
		return
	}
	if st.Type == TypeConfirm {
		t.confirm(st, text)
		return
	}
	if cmd := command(text, true); cmd != "" && (st.Type != TypeText || exactCommand(text)) {
		t.command(st, cmd)
		return
	}
	if approx != nil && t.settleApprox(st, *approx, text) {
		return
	}
	a, problem := t.parse(st, text)
	if problem == "" && st.Type == TypeNumber && approximate(text) {
		s.Approx = &a
		t.replies = append(t.replies, Reply{
			Text:    f.say(fmt.Sprintf(msgApprox, a.Display, a.Display)),
			Buttons: []Button{{truncate("Đúng, "+a.Display, MaxLabel), payloadOpt + "yes"}},
		})
		return
	}
	if problem == "" {
		t.answer(st, a)
		return
	}
	if st.Type != TypeText {
		if cmd := command(text, false); cmd != "" {
			t.command(st, cmd)
			return
		}
	}
	t.wrong(st, problem)
}

// parse reads text as the answer to st; problem is non-empty when it cannot.
func (t *turn) parse(st *Step, text string) (Answer, string) {
	a := Answer{Type: st.Type}
	if st.Type == TypePhoto {
		return t.parsePhotoText(st, text)
	}
	if strings.HasPrefix(text, "#") && st.Type != TypeChoice && st.Type != TypeMulti && st.Type != TypeYesNo {
		return a, msgStaleButton
	}
	switch st.Type {
	case TypeLocation:
		// Sharing a location is not easy for everyone: the name of the place is an answer too.
		if utf8.RuneCountInString(text) < 2 {
			return a, msgLocationHow
		}
		a.Text, a.Display = text, text
	case TypeText:
		n := len([]rune(text))
		maxLen := st.MaxLen
		if maxLen == 0 {
			maxLen = 1000
		}
		if n < st.MinLen {
			return a, fmt.Sprintf("Bác viết thêm một chút ạ (ít nhất %d chữ cái).", st.MinLen)
		}
		if n > maxLen {
			return a, fmt.Sprintf("Bác viết ngắn lại giúp ạ (tối đa %d chữ cái).", maxLen)
		}
		if st.Optional && zeroWords[strings.Join(trimParticles(words(text)), " ")] {
			// "không" to "any difficulties?" is no note, not a note saying "không".
			return Answer{Type: st.Type, Skipped: true, Display: "(không có)"}, ""
		}
		a.Text, a.Display = text, text
	case TypeNumber, TypeMoney:
		n, unit, problem := parseAmount(text, st.Type == TypeMoney)
		if problem != "" {
			return a, problem
		}
		if st.Type == TypeMoney && !unit && n > 0 && n < 1000 {
			return a, fmt.Sprintf("“%s” là %s nghìn hay %s triệu? Bác ghi rõ đơn vị.", clip(text), FormatInt(n), FormatInt(n))
		}
		if st.Min != nil && n < *st.Min {
			return a, fmt.Sprintf("Số %s nhỏ quá, %s.", FormatInt(n), bounds(st))
		}
		if st.Max != nil && n > *st.Max {
			return a, fmt.Sprintf("Số %s lớn quá, %s.", FormatInt(n), bounds(st))
		}
		a.Number = &n
		a.Display = numberDisplay(st, n)
	case TypeDate:
		d, problem := parseDate(text, t.now, st.MaxAgeDays)
		if problem != "" {
			return a, problem
		}
		a.Date = d.Format("2006-01-02")
		a.Display = d.Format("02/01/2006")
		t.ack = "Dạ, " + dateDisplay(d) + "."
	case TypeYesNo:
		yes, ok := false, false
		switch strings.ToLower(text) {
		case payloadOpt + "yes":
			yes, ok = true, true
		case payloadOpt + "no":
			yes, ok = false, true
		default:
			yes, ok = parseYesNo(text)
		}
		if !ok {
			return a, "Bác trả lời “có” hoặc “không” giúp ạ (gõ 1 hoặc 2)."
		}
		a.Bool = &yes
		a.Display = map[bool]string{true: "Có", false: "Không"}[yes]
	case TypeChoice, TypeMulti:
		return t.parseOptions(st, text)
	}
	return a, ""
}

func (t *turn) parseOptions(st *Step, text string) (Answer, string) {
	a := Answer{Type: st.Type}
	multi := st.Type == TypeMulti
	var r matchResult
	low := strings.ToLower(strings.TrimSpace(text))
	switch {
	case strings.HasPrefix(low, payloadOpt):
		code := strings.TrimPrefix(low, payloadOpt)
		i := slices.IndexFunc(st.Options, func(o Option) bool { return o.Code == code })
		if n, err := strconv.Atoi(code); i < 0 && err == nil {
			i = st.match.byNumber(n)
		}
		if i < 0 {
			return a, msgStaleButton
		}
		r.opts = []int{i}
	case low == payloadAll && multi:
		r = st.match.match(st.Options, "tất cả", true)
	case strings.HasPrefix(low, "#"):
		return a, msgStaleButton
	default:
		r = st.match.match(st.Options, text, multi)
	}
	if len(r.ambiguous) > 0 {
		var names []string
		for _, i := range r.ambiguous {
			names = append(names, fmt.Sprintf("%d. %s", st.match.number(i), st.Options[i].Label))
		}
		return a, fmt.Sprintf("“%s” có thể là: %s. Bác gõ số cho rõ giúp ạ.", r.word, strings.Join(names, "; "))
	}
	switch r.problem {
	case "number":
		hi := len(st.match.numbers) - 1
		lo := 1
		if st.match.numbers[0] >= 0 {
			lo = 0
		}
		return a, fmt.Sprintf("Không có số %s. Bác gõ số từ %d đến %d.", r.word, lo, hi)
	case "unknown":
		return a, fmt.Sprintf("Chưa hiểu “%s”.", clip(r.word))
	}
	if !multi && len(r.opts) > 1 {
		return a, "Câu này Bác chỉ chọn một thôi ạ."
	}
	var labels []string
	for _, i := range r.opts {
		o := st.Options[i]
		if o.None {
			if len(r.opts) > 1 {
				return a, fmt.Sprintf("“%s” không đi cùng các mục khác được.", o.Label)
			}
			a.Display = o.Label
			return a, ""
		}
		a.Choices = append(a.Choices, o.Code)
		labels = append(labels, o.Label)
	}
	a.Display = strings.Join(labels, ", ")
	return a, ""
}

// parsePhotoText reads a text message at a photo step: "xong" ends it, anything else is a
// reminder of how to send photos.
func (t *turn) parsePhotoText(st *Step, text string) (Answer, string) {
	a := Answer{Type: st.Type}
	joined := strings.Join(trimParticles(words(text)), " ")
	done := strings.EqualFold(text, PayloadDone) || doneWords[joined] || near(joined, "xong roi", 5)
	if !done && st.Optional && zeroWords[joined] {
		return Answer{Type: st.Type, Skipped: true, Display: "(không có)"}, ""
	}
	if !done {
		return a, msgSendPhoto
	}
	n := len(t.s.Pending)
	switch {
	case n == 0 && st.Optional:
		return Answer{Type: st.Type, Skipped: true, Display: "(không có)"}, ""
	case n == 0:
		return a, "Bác chưa gửi ảnh nào ạ."
	case n < photoMin(st):
		return a, fmt.Sprintf("Bác mới gửi %d ảnh, cần ít nhất %d ảnh ạ.", n, photoMin(st))
	}
	return photoAnswer(t.s.Pending), ""
}

// doneWords end a photo step.
var doneWords = map[string]bool{"xong": true, "xong roi": true, "het": true, "het roi": true, "du roi": true,
	"da xong": true, "gui xong": true, "done": true}

func photoAnswer(urls []string) Answer {
	return Answer{Type: TypePhoto, Photos: slices.Clone(urls), Display: fmt.Sprintf("%d ảnh", len(urls))}
}

func photoMin(st *Step) int {
	if st.Min != nil {
		return int(*st.Min)
	}
	return 1
}

func photoMax(st *Step) int {
	if st.Max != nil && *st.Max > 0 {
		return int(*st.Max)
	}
	return defaultMaxPhotos
}

// settleApprox reads the answer to "Mình ghi là 40 người nhé?": yes stores the estimate, no
// asks for the exact number; digits or anything else are read as a new answer (false).
func (t *turn) settleApprox(st *Step, approx Answer, text string) bool {
	if strings.EqualFold(text, payloadOpt+"yes") {
		t.answer(st, approx)
		return true
	}
	if strings.Trim(text, "0123456789 ") == "" {
		return false // "2" is two people here, not "no"
	}
	yes, ok := parseYesNo(text)
	switch {
	case !ok:
		return false
	case yes:
		t.answer(st, approx)
	default:
		t.reask(msgExactNumber)
	}
	return true
}

// approxWords open an approximate number: "khoảng 40", "gần 50 người", "hơn 30".
var approxWords = map[string]bool{"khoang": true, "chung": true, "gan": true, "hon": true, "tren": true,
	"duoi": true, "uoc": true, "xap": true}

// approximate reports whether a number answer was given as an estimate, to be confirmed
// before it is stored (ISSUE 4: "khoảng 40" → ask to confirm). "tầm" and "độ" count only
// before digits: they also fold to "tam" (eight) and "do".
func approximate(text string) bool {
	ws := trimParticles(words(text))
	if len(ws) < 2 {
		return false
	}
	if approxWords[ws[0]] {
		return true
	}
	return (ws[0] == "tam" || ws[0] == "do") && ws[1][0] >= '0' && ws[1][0] <= '9'
}

// answer records a and moves to the next question.
func (t *turn) answer(st *Step, a Answer) {
	s := t.s
	if st.check != nil && !a.Skipped {
		trial := maps.Clone(s.Answers)
		trial[st.Name] = a
		if !truth(st.check.eval(env(t.f, trial))) {
			msg := orDefault(render(st.CheckError, data(t.f, *s)), msgCheck)
			t.wrong(st, msg)
			return
		}
	}
	s.Answers[st.Name] = a
	s.Trail = append(slices.DeleteFunc(s.Trail, func(n string) bool { return n == st.Name }), st.Name)
	prune(t.f, s)
	if t.ack == "" {
		t.ack = ackFor(st, a)
	}
	s.Editing = false
	t.next(t.ack)
}

// next moves to the first applicable unanswered step and asks it, after the line before.
func (t *turn) next(before string) {
	f, s := t.f, t.s
	s.Wrong, s.Picking, s.Pending = 0, false, nil
	infos := settle(f, s)
	if s.Step == "" {
		t.submit(join(append([]string{before}, infos...)...))
		return
	}
	r := question(f, *s, t.now)
	r.Text = join(append(append([]string{f.say(before)}, infos...), r.Text)...)
	t.replies = append(t.replies, r)
}

// restart clears the answers and asks the first question again, on the same revision: it
// is the same conversation begun anew ("bắt đầu lại").
func (t *turn) restart() {
	s := t.s
	s.Answers, s.Trail, s.Shown, s.Pending = map[string]Answer{}, nil, nil, nil
	s.Editing, s.Picking, s.Offering, s.Wrong = false, false, false, 0
	s.StartedAt = t.now
	t.next(msgRestart)
}

func (t *turn) submit(before string) {
	s := t.s
	s.Status, s.Step, s.Editing, s.Picking, s.Wrong = StatusDone, "", false, false, 0
	msg := render(orDefault(t.f.Done, msgDone), data(t.f, *s))
	if before != "" {
		msg = before + "\n\n" + msg
	}
	t.replies = append(t.replies, Reply{Text: t.f.say(msg)})
	t.effects = append(t.effects, Effect{Kind: EffectSubmit})
}

func (t *turn) cancel() {
	s := t.s
	s.Status, s.Step, s.Editing, s.Picking, s.Wrong = StatusCancelled, "", false, false, 0
	t.replies = append(t.replies, Reply{Text: t.f.say(render(orDefault(t.f.Cancelled, msgCancelled), data(t.f, *s)))})
	t.effects = append(t.effects, Effect{Kind: EffectCancel})
}

// reask repeats the current question after msg, without counting a wrong answer.
func (t *turn) reask(msg string) {
	r := question(t.f, *t.s, t.now)
	if msg != "" {
		r.Text = t.f.say(msg) + "\n\n" + r.Text
	}
	t.replies = append(t.replies, r)
}

// wrong answers problem, one example and the question in one message; from the third wrong
// answer in a row it also offers help or to stop.
func (t *turn) wrong(st *Step, problem string) {
	s := t.s
	s.Wrong++
	msg := problem + "\n" + "Ví dụ: " + example(st, t.now) + "."
	r := question(t.f, *s, t.now)
	if st.Type == TypeConfirm {
		r = confirmChoices(t.f) // the summary was just shown; repeat only the choices
	}
	if s.Wrong >= maxWrong {
		msg += "\n" + msgOffer
		r.Buttons = append(r.Buttons, Button{"Hướng dẫn", PayloadHelp}, Button{"Dừng báo cáo", PayloadCancel})
	}
	r.Text = t.f.say(msg) + "\n\n" + r.Text
	t.replies = append(t.replies, r)
}

func (t *turn) command(st *Step, cmd string) {
	s := t.s
	switch cmd {
	case "cancel":
		t.cancel()
	case "restart":
		t.restart()
	case "help":
		s.Wrong = 0
		if st.Type == TypeConfirm {
			r := confirmChoices(t.f)
			r.Text = t.f.say(helpText(st, t.now)) + "\n\n" + r.Text
			t.replies = append(t.replies, r)
			return
		}
		t.reask(render(helpText(st, t.now), data(t.f, *s)))
	case "skip":
		if !st.Optional {
			t.wrong(st, msgRequired)
			return
		}
		t.ack = "Dạ, bỏ qua câu này."
		display := "(bỏ qua)"
		if st.Type == TypeText {
			display = "(không có)"
		}
		t.answer(st, Answer{Type: st.Type, Skipped: true, Display: display})
	case "back":
		if s.Editing {
			// Back from an answer reopened from the summary returns to the summary.
			s.Editing = false
			t.next("")
			return
		}
		if s.Picking {
			s.Picking = false
			t.reask("")
			return
		}
		if len(s.Trail) == 0 {
			t.reask(msgFirst)
			return
		}
		prev := s.Trail[len(s.Trail)-1]
		s.Trail = s.Trail[:len(s.Trail)-1]
		s.Pending = nil
		old := s.Answers[prev]
		delete(s.Answers, prev)
		prune(t.f, s)
		s.Step, s.Wrong = prev, 0
		msg := "Dạ, quay lại câu trước."
		if old.Display != "" {
			msg += " (Lần trước Bác trả lời: " + old.Display + ")"
		}
		t.reask(msg)
	}
}

// confirm handles the last step: send, change an answer, or cancel.
func (t *turn) confirm(st *Step, text string) {
	s := t.s
	ws := trimParticles(words(text))
	joined := strings.Join(ws, " ")
	low := strings.ToLower(text)
	if strings.HasPrefix(low, payloadEdit) {
		n, _ := strconv.Atoi(strings.TrimPrefix(low, payloadEdit))
		t.edit(st, n)
		return
	}
	// "sửa 2", "sửa câu 2", "sua so 2", and a bare number once the user chose to change.
	if n, ok := editNumber(ws); ok {
		t.edit(st, n)
		return
	}
	if s.Picking && len(ws) == 1 {
		if n, err := strconv.Atoi(ws[0]); err == nil {
			t.edit(st, n)
			return
		}
	}
	switch {
	case low == payloadOpt+"yes" || joined == "1" || joined == "gui" || joined == "gui di" || joined == "xac nhan" || joined == "dong y gui":
		t.submit("")
		return
	case low == payloadOpt+"edit" || joined == "2" || joined == "sua" || joined == "sua lai" || joined == "chinh sua" || joined == "thay doi" || near(joined, "sua lai", 5):
		s.Picking = true
		t.replies = append(t.replies, pickReply(t.f, *s))
		return
	case low == PayloadCancel || joined == "3":
		t.cancel()
		return
	}
	if cmd := command(text, true); cmd != "" {
		t.command(st, cmd)
		return
	}
	if yes, ok := parseYesNo(text); ok {
		if yes {
			t.submit("")
		} else {
			s.Picking = true
			t.replies = append(t.replies, pickReply(t.f, *s))
		}
		return
	}
	if cmd := command(text, false); cmd != "" && cmd != "skip" {
		t.command(st, cmd)
		return
	}
	t.wrong(st, fmt.Sprintf("Chưa hiểu “%s”.", clip(text)))
}

func editNumber(ws []string) (int, bool) {
	if len(ws) == 1 && strings.HasPrefix(ws[0], "sua") { // "sửa2"
		ws = []string{"sua", strings.TrimPrefix(ws[0], "sua")}
	}
	if len(ws) < 2 || !(ws[0] == "sua" || near(ws[0], "sua", 3) && ws[0] != "sau") {
		return 0, false
	}
	rest := ws[1:]
	if len(rest) > 1 && (rest[0] == "cau" || rest[0] == "so" || rest[0] == "muc" || rest[0] == "lai") {
		rest = rest[1:]
	}
	if len(rest) != 1 {
		return 0, false
	}
	n, err := strconv.Atoi(rest[0])
	return n, err == nil
}

// edit reopens summary item n.
func (t *turn) edit(st *Step, n int) {
	s := t.s
	items := summaryItems(t.f, *s)
	if n < 1 || n > len(items) {
		s.Picking = true
		t.wrong(st, fmt.Sprintf("Không có câu số %d. Bác gõ số từ 1 đến %d.", n, len(items)))
		return
	}
	target := t.f.Step(items[n-1])
	s.Step, s.Editing, s.Picking, s.Wrong, s.Pending = target.Name, true, false, 0, nil
	msg := fmt.Sprintf("Dạ, Bác sửa câu %d.", n)
	if a, ok := s.Answers[target.Name]; ok && a.Display != "" {
		msg += " (Hiện tại: " + a.Display + ")"
	}
	t.reask(msg)
}

func pickReply(f *Flow, s Session) Reply {
	items := summaryItems(f, s)
	r := Reply{Text: f.say(fmt.Sprintf("Bác muốn sửa câu số mấy? Bác gõ số câu (từ 1 đến %d), ví dụ: 2.\n\n", len(items)) + Summary(f, s))}
	for i, name := range items {
		title := fmt.Sprintf("%d. %s", i+1, label(f.Step(name)))
		r.Buttons = append(r.Buttons, Button{truncate(title, MaxLabel), payloadEdit + strconv.Itoa(i+1)})
	}
	return r
}

// nextStep is the first step, in flow order, whose condition holds and that has no answer;
// "" when there is none. Asking "the first unanswered" rather than "the one after" makes
// going back, editing from the summary and conditions that change all work the same way.
func nextStep(f *Flow, s Session) string {
	e := env(f, s.Answers)
	for i := range f.Steps {
		st := &f.Steps[i]
		if _, done := s.Answers[st.Name]; done {
			continue
		}
		if st.Type == TypeInfo && slices.Contains(s.Shown, st.Name) {
			continue
		}
		if st.when != nil && !truth(st.when.eval(e)) {
			continue
		}
		return st.Name
	}
	return ""
}

// prune removes answers that no longer stand after an answer changed: answers to steps
// whose condition is now false (they were about a meeting that, it turns out, was not held),
// and answers that now fail their check (more women than people present).
func prune(f *Flow, s *Session) {
	for i := range f.Steps {
		st := &f.Steps[i]
		a, ok := s.Answers[st.Name]
		if !ok {
			continue
		}
		e := env(f, s.Answers)
		drop := st.when != nil && !truth(st.when.eval(e))
		if !drop && st.check != nil && !a.Skipped {
			drop = !truth(st.check.eval(e))
		}
		if drop {
			delete(s.Answers, st.Name)
			s.Trail = slices.DeleteFunc(s.Trail, func(n string) bool { return n == st.Name })
		}
	}
}

// env resolves step names to answer values for conditions.
func env(f *Flow, answers map[string]Answer) func(string) value {
	return func(name string) value {
		a, ok := answers[name]
		st := f.Step(name)
		if !ok || a.Skipped || st == nil {
			return value{k: kindOf(typeOf(st)), list: nil}
		}
		switch st.Type {
		case TypeYesNo:
			if a.Bool != nil {
				return value{k: kBool, ok: true, b: *a.Bool}
			}
		case TypeNumber, TypeMoney:
			if a.Number != nil {
				return value{k: kNum, ok: true, n: float64(*a.Number)}
			}
		case TypeText:
			return value{k: kStr, ok: true, s: a.Text}
		case TypeDate:
			return value{k: kStr, ok: true, s: a.Date}
		case TypeChoice:
			if len(a.Choices) > 0 {
				return value{k: kStr, ok: true, s: a.Choices[0]}
			}
		case TypeMulti:
			return value{k: kList, ok: true, list: a.Choices}
		}
		return value{}
	}
}

func typeOf(st *Step) string {
	if st == nil {
		return ""
	}
	return st.Type
}

// summaryItems are the steps shown in the summary, in flow order: the numbers of "sửa N".
func summaryItems(f *Flow, s Session) []string {
	var out []string
	for _, st := range f.Steps {
		if _, ok := s.Answers[st.Name]; ok && st.Type != TypeConfirm {
			out = append(out, st.Name)
		}
	}
	return out
}

// Summary renders the numbered summary of a session's answers, in flow order; the numbers
// are the ones "sửa N" uses.
func Summary(f *Flow, s Session) string {
	if f == nil {
		return ""
	}
	f = ready(f)
	var b strings.Builder
	for i, name := range summaryItems(f, s) {
		st := f.Step(name)
		fmt.Fprintf(&b, "%d. %s: %s\n", i+1, label(st), s.Answers[name].Display)
	}
	if a, ok := s.Answers[PhotosKey]; ok && len(a.Photos) > 0 {
		fmt.Fprintf(&b, "Ảnh gửi kèm: %d ảnh\n", len(a.Photos))
	}
	return strings.TrimRight(b.String(), "\n")
}

// label is the short name of a step in summaries: its label, or its prompt's first line.
func label(st *Step) string {
	if st.Label != "" {
		return st.Label
	}
	line, _, _ := strings.Cut(strings.TrimSpace(st.Prompt), "\n")
	return truncate(line, 60)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// question renders the current step: prompt, numbered choices, and buttons.
func question(f *Flow, s Session, now time.Time) Reply {
	st := f.Step(s.Step)
	if st == nil {
		return Reply{Text: f.say(msgResume)}
	}
	var b strings.Builder
	if st.Type == TypeConfirm {
		b.WriteString(orDefault(renderStep(st, data(f, s)), f.say("Bác xem lại báo cáo:")))
		b.WriteString("\n")
		b.WriteString(Summary(f, s))
		r := confirmChoices(f)
		r.Text = b.String() + "\n\n" + r.Text
		return r
	}
	b.WriteString(renderStep(st, data(f, s)))
	var buttons []Button
	switch st.Type {
	case TypeYesNo:
		b.WriteString("\n1. Có\n2. Không")
		buttons = []Button{{"Có", payloadOpt + "yes"}, {"Không", payloadOpt + "no"}}
	case TypeChoice, TypeMulti:
		var none *Option
		for i, o := range st.Options {
			if o.None {
				none = &st.Options[i]
				continue
			}
			fmt.Fprintf(&b, "\n%d. %s", st.match.number(i), o.Label)
			if st.Type == TypeChoice {
				buttons = append(buttons, Button{o.Label, payloadOpt + o.Code})
			}
		}
		if none != nil {
			fmt.Fprintf(&b, "\n0. %s", none.Label)
		}
		if st.Type == TypeMulti {
			b.WriteString("\n" + f.say("Bác gõ các số, ví dụ: "+example(st, now)+". Làm đủ thì gõ: tất cả."))
			buttons = append(buttons, Button{"Tất cả", payloadAll})
			if none != nil {
				buttons = append(buttons, Button{none.Label, payloadOpt + none.Code})
			}
		}
	}
	switch st.Type {
	case TypePhoto:
		if n := len(s.Pending); n > 0 {
			b.WriteString("\n" + f.say(fmt.Sprintf("(Đã nhận %d ảnh.) Gửi thêm, hoặc gõ: xong.", n)))
		} else {
			b.WriteString("\n" + f.say("Bác gửi ảnh; gửi xong thì gõ: xong."))
		}
		buttons = append(buttons, Button{"Xong", PayloadDone})
	case TypeLocation:
		b.WriteString("\n" + f.say(msgLocationHow))
	}
	switch {
	case st.Optional && (st.Type == TypeText || st.Type == TypePhoto):
		b.WriteString("\n" + f.say("Không có thì Bác gõ: không."))
		buttons = append(buttons, Button{"Không có", PayloadSkip})
	case st.Optional:
		b.WriteString("\n" + f.say("Không có số liệu thì Bác gõ: bỏ qua."))
		buttons = append(buttons, Button{"Bỏ qua", PayloadSkip})
	}
	return Reply{Text: b.String(), Buttons: buttons}
}

// confirmChoices are the three answers to the confirm step.
func confirmChoices(f *Flow) Reply {
	return Reply{
		Text:    f.say("Bác chọn:\n1. Đồng ý gửi\n2. Sửa một câu (ví dụ gõ: sửa 2)\n3. Hủy báo cáo"),
		Buttons: []Button{{"Đồng ý gửi", payloadOpt + "yes"}, {"Sửa một câu", payloadOpt + "edit"}, {"Hủy báo cáo", PayloadCancel}},
	}
}

// data is what prompts can use: earlier answers (display text) by step name, then vars.
func data(f *Flow, s Session) map[string]string {
	d := make(map[string]string, len(s.Answers)+len(s.Vars))
	for k, a := range s.Answers {
		d[k] = a.Display
	}
	for k, v := range s.Vars {
		d[k] = v
	}
	return d
}

// renderStep renders st's prompt with its template compiled by Parse.
func renderStep(st *Step, d map[string]string) string {
	if st.prompt == nil || !strings.Contains(st.Prompt, "{{") {
		return render(st.Prompt, d)
	}
	var b strings.Builder
	if err := st.prompt.Execute(&b, d); err != nil {
		return st.Prompt
	}
	return b.String()
}

// render executes a template; a template that fails (only possible for a Flow
// built in code) is shown as written rather than lost.
func render(src string, d map[string]string) string {
	if !strings.Contains(src, "{{") {
		return src
	}
	t, err := newTemplate("p", src)
	if err != nil {
		return src
	}
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return src
	}
	return b.String()
}

func numberDisplay(st *Step, n int64) string {
	unit := st.Unit
	if st.Type == TypeMoney && unit == "" {
		unit = "đồng"
	}
	if unit == "" {
		return FormatInt(n)
	}
	return FormatInt(n) + " " + unit
}

func bounds(st *Step) string {
	switch {
	case st.Min != nil && st.Max != nil:
		return fmt.Sprintf("Bác gõ số từ %s đến %s", FormatInt(*st.Min), FormatInt(*st.Max))
	case st.Min != nil:
		return fmt.Sprintf("Bác gõ số từ %s trở lên", FormatInt(*st.Min))
	case st.Max != nil:
		return fmt.Sprintf("Bác gõ số không quá %s", FormatInt(*st.Max))
	}
	return ""
}

func ackFor(st *Step, a Answer) string {
	switch {
	case a.Skipped:
		return "Dạ."
	}
	switch st.Type {
	case TypeText:
		return "Dạ, đã ghi lại."
	case TypeYesNo:
		return "Dạ, " + strings.ToLower(a.Display) + "."
	case TypePhoto:
		return "Dạ, đã nhận " + a.Display + ", cảm ơn Bác."
	case TypeLocation:
		return "Dạ, đã ghi: " + a.Display + "."
	}
	return "Dạ, " + a.Display + "."
}

// example is one valid answer to st, shown after a wrong answer.
func example(st *Step, now time.Time) string {
	if st.Example != "" {
		return st.Example
	}
	switch st.Type {
	case TypeNumber:
		n := int64(25)
		if st.Max != nil && n > *st.Max {
			n = *st.Max
		}
		if st.Min != nil && n < *st.Min {
			n = *st.Min
		}
		return FormatInt(n)
	case TypeMoney:
		return "5 triệu"
	case TypeDate:
		y := now.AddDate(0, 0, -1)
		return fmt.Sprintf("%d/%d hoặc hôm qua", y.Day(), int(y.Month()))
	case TypeYesNo:
		return "có"
	case TypeChoice:
		return "1"
	case TypeMulti:
		n := 0
		if st.match != nil {
			n = len(st.match.numbers) - 1
		}
		switch {
		case n >= 5:
			return "1 3 5"
		case n >= 2:
			return "1 2"
		}
		return "1"
	case TypeConfirm:
		return "1 để gửi, hoặc sửa 2"
	case TypePhoto:
		return "gửi 1 ảnh sổ điểm danh, rồi gõ: xong"
	case TypeLocation:
		return "Nhà văn hóa thôn Đông"
	}
	return "Tháng này CLB thăm 3 người ốm"
}

// helpText explains st: the template's help, or a default per type.
func helpText(st *Step, now time.Time) string {
	h := st.Help
	if h == "" {
		switch st.Type {
		case TypeNumber:
			h = "Bác gõ một con số, ví dụ: " + example(st, now) + ". Gõ chữ cũng được, ví dụ: hai mươi lăm."
		case TypeMoney:
			h = "Bác gõ số tiền, ví dụ: 5 triệu, 500 nghìn hoặc 5.000.000."
		case TypeDate:
			h = "Bác gõ ngày/tháng, ví dụ: " + example(st, now) + ". Gõ “hôm nay” cũng được."
		case TypeYesNo:
			h = "Bác gõ 1 nếu có, 2 nếu không. Gõ chữ “có” hoặc “không” cũng được."
		case TypeChoice:
			h = "Bác gõ số của một lựa chọn, ví dụ: 1."
		case TypeMulti:
			h = "Bác gõ số của các mục, cách nhau bằng dấu cách, ví dụ: " + example(st, now) + ". Làm đủ cả thì gõ: tất cả."
			if st.match != nil && st.match.numbers[0] >= 0 {
				h += " Không có mục nào thì gõ: 0."
			}
		case TypeText:
			h = "Bác gõ vài dòng ngắn, ví dụ: " + example(st, now) + "."
		case TypeConfirm:
			h = "Bác gõ 1 để gửi báo cáo. Muốn sửa câu nào thì gõ “sửa” và số câu, ví dụ: sửa 2."
		case TypePhoto:
			h = "Bác bấm vào biểu tượng ảnh ở ô nhắn tin của Zalo, chọn ảnh rồi gửi. Gửi được nhiều ảnh. Gửi xong thì gõ “xong”."
		case TypeLocation:
			h = "Bác bấm dấu “…” ở ô nhắn tin, chọn “Vị trí” rồi gửi. Hoặc gõ tên địa điểm, ví dụ: " + example(st, now) + "."
		}
	}
	if st.Optional {
		h += " Không có số liệu thì gõ: bỏ qua."
	}
	return h + "\nBác gõ “quay lại” để về câu trước, “hủy” để dừng."
}

// command words, compared after folding. Typos are tolerated in words of 4+ letters
// ("qay lai"), never in short ones, where one slip makes another word.
var commands = []struct{ cmd, word string }{
	{"cancel", "huy"}, {"cancel", "huy bo"}, {"cancel", "thoat"}, {"cancel", "huy bao cao"}, {"cancel", "dung bao cao"},
	{"cancel", "ket thuc"},
	{"back", "quay lai"}, {"back", "tro lai"}, {"back", "lui"}, {"back", "lui lai"}, {"back", "quay ve"}, {"back", "cau truoc"},
	{"help", "giup"}, {"help", "huong dan"}, {"help", "tro giup"}, {"help", "help"}, {"help", "giup voi"}, {"help", "giup toi"},
	{"help", "khong hieu"}, {"help", "chua hieu"},
	{"restart", "bat dau lai"}, {"restart", "lam lai"}, {"restart", "lam lai tu dau"}, {"restart", "bat dau lai tu dau"},
	{"skip", "bo qua"}, {"skip", "bo"}, {"skip", "skip"}, {"skip", "qua cau nay"}, {"skip", "khong tra loi"}, {"skip", "khong ro"},
	{"skip", "khong nho"}, {"skip", "khong biet"},
}

// command is the global command text means: exactly, or (exact=false) with one typo.
func command(text string, exact bool) string {
	switch strings.ToLower(strings.TrimSpace(text)) {
	case PayloadCancel:
		return "cancel"
	case PayloadBack:
		return "back"
	case PayloadHelp, "?":
		return "help"
	case PayloadSkip:
		return "skip"
	case PayloadRestart:
		return "restart"
	}
	joined := strings.Join(trimParticles(words(text)), " ")
	if joined == "" {
		return ""
	}
	for _, c := range commands {
		if joined == c.word {
			return c.cmd
		}
	}
	if exact {
		return ""
	}
	for _, c := range commands {
		if near(joined, c.word, 4) {
			return c.cmd
		}
	}
	return ""
}

// exactCommand is true when text is a command and nothing else (after folding and
// punctuation), the only way a command interrupts a free-text answer: "huy động nguồn
// lực" is a note, "Hủy." is a cancel.
func exactCommand(text string) bool {
	switch strings.ToLower(strings.TrimSpace(text)) {
	case PayloadCancel, PayloadBack, PayloadHelp, PayloadSkip, PayloadRestart, "?":
		return true
	}
	return command(strings.Join(words(text), " "), true) != ""
}

func orDefault(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// say adapts the engine's own messages to the flow's form of address (ISHC.md §9.2 asks for
// it to be a template setting); the messages are written with "Bác".
func (f *Flow) say(s string) string {
	if f.Address == "" || f.Address == "Bác" {
		return s
	}
	s = strings.ReplaceAll(s, "Bác", f.Address)
	return strings.ReplaceAll(s, "bác", strings.ToLower(f.Address))
}

// Engine messages.
const (
	msgDone            = "Cảm ơn Bác! Báo cáo đã được gửi."
	msgCancelled       = "Dạ, đã hủy báo cáo. Khi nào cần, Bác nhắn lại cho Hội nhé."
	msgClosedDone      = "Báo cáo này đã gửi xong rồi ạ. Cảm ơn Bác!"
	msgClosedCancelled = "Báo cáo này đã hủy rồi ạ."
	msgResume          = "Dạ, mình tiếp tục báo cáo nhé."
	msgTypeAnswer      = "Bác gõ câu trả lời bằng chữ giúp ạ."
	msgPhotos          = "Dạ, đã nhận %d ảnh, cảm ơn Bác."
	msgLocation        = "Dạ, đã nhận vị trí."
	msgStaleButton     = "Nút này thuộc câu hỏi khác ạ."
	msgRequired        = "Câu này cần Bác trả lời ạ."
	msgCheck           = "Câu trả lời chưa khớp với các câu trước."
	msgFirst           = "Đây là câu hỏi đầu tiên rồi ạ."
	msgNoFlow          = "Xin lỗi Bác, phần báo cáo đang tạm dừng. Bác nhắn lại sau ạ."
	msgOffer           = "Bác gõ “giúp” để xem hướng dẫn, hoặc “hủy” để dừng báo cáo."
	msgRestart         = "Dạ, mình làm lại từ đầu nhé."
	msgApprox          = "Dạ, khoảng %s. Mình ghi là %s nhé?\nĐúng thì Bác gõ “có”; chưa đúng thì Bác gõ số chính xác."
	msgExactNumber     = "Dạ, Bác gõ số chính xác giúp ạ."
	msgPhotoGot        = "Dạ, đã nhận %d ảnh."
	msgSendPhoto       = "Câu này Bác gửi ảnh ạ (bấm vào biểu tượng ảnh trong Zalo). Gửi xong thì gõ “xong”."
	msgLocationHow     = "Bác gửi vị trí (bấm “…” rồi chọn Vị trí), hoặc gõ tên địa điểm."
)

func cloneVars(v map[string]string) map[string]string {
	if len(v) == 0 {
		return nil
	}
	return maps.Clone(v)
}
