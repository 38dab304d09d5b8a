package flows

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Transcript is a file of conversation tests for one flow: what the user says and what the
// bot's reply must contain. Admins run the same files against an edited template before
// publishing it (ARCHITECTURE.md, Testing). The format is described in docs/flows.md.
type Transcript struct {
	Flow  string            `yaml:"flow"`  // the flow id the cases are written for
	Now   string            `yaml:"now"`   // RFC 3339 time of every case, e.g. 2026-11-25T09:00:00+07:00
	Rev   int               `yaml:"rev"`   // revision passed to Start; 1 when absent
	Vars  map[string]string `yaml:"vars"`  // vars passed to Start
	Cases []Case            `yaml:"cases"` // the conversations
}

// Case is one conversation, from Start to the last turn.
type Case struct {
	Name    string              `yaml:"name"`
	Now     string              `yaml:"now"`  // overrides Transcript.Now
	Vars    map[string]string   `yaml:"vars"` // overrides Transcript.Vars
	Turns   []Turn              `yaml:"turns"`
	Status  string              `yaml:"status"`  // expected final status, if set
	Answers map[string]string   `yaml:"answers"` // expected Display of answers at the end; "-" means no answer
	Choices map[string][]string `yaml:"choices"` // expected option codes of choice and multi answers
}

// Turn is one user message and the expected reply. The first turn of a case may omit User:
// it then checks the reply of Start. A turn with Event "tick" runs the timer (Tick) instead
// of a message; "resume" is the user asking to start the flow while it is in progress
// (Offer). Wait moves the clock before the turn (default one minute).
type Turn struct {
	User     string   `yaml:"user"`
	Photos   []string `yaml:"photos"`
	Location string   `yaml:"location"` // a shared location, "lat,lng"
	Event    string   `yaml:"event"`    // "", "tick" or "resume"
	Wait     string   `yaml:"wait"`     // e.g. 31m, 2h, 1d: time since the previous turn
	Timeout  string   `yaml:"timeout"`  // tick: the expected outcome, "nudge", "expire" or "none"
	Bot      []string `yaml:"bot"`      // every string must occur in the reply text
	Not      []string `yaml:"not"`      // no string may occur in the reply text
	Buttons  []string `yaml:"buttons"`  // every title must be among the reply's buttons
	Effect   string   `yaml:"effect"`   // expected effect kind; "none" for no effect
	Step     string   `yaml:"step"`     // expected current step after the turn
}

// Failure is one mismatch between a transcript and the engine.
type Failure struct {
	Case    string `json:"case"`
	Turn    int    `json:"turn"` // 0 is Start, 1 the first user message
	Message string `json:"message"`
}

// String formats f as "case, turn N: message".
func (f Failure) String() string {
	return fmt.Sprintf("%s, turn %d: %s", f.Case, f.Turn, f.Message)
}

// ParseTranscript reads a transcript file; unknown keys are errors, so a typo in a test
// does not silently test nothing.
func ParseTranscript(src []byte) (*Transcript, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	var t Transcript
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("parse transcript: %w", err)
	}
	if len(t.Cases) == 0 {
		return nil, fmt.Errorf("parse transcript: no cases")
	}
	return &t, nil
}

// RunTranscript plays every case of the transcript src against flow f and returns the
// mismatches; none means the flow behaves as the transcript says.
func RunTranscript(f *Flow, src []byte) ([]Failure, error) {
	t, err := ParseTranscript(src)
	if err != nil {
		return nil, err
	}
	if t.Flow != "" && t.Flow != f.ID {
		return nil, fmt.Errorf("run transcript: written for flow %q, not %q", t.Flow, f.ID)
	}
	var out []Failure
	for _, c := range t.Cases {
		out = append(out, t.run(f, c)...)
	}
	return out, nil
}

func (t *Transcript) run(f *Flow, c Case) []Failure {
	var out []Failure
	fail := func(turn int, format string, a ...any) {
		out = append(out, Failure{Case: c.Name, Turn: turn, Message: fmt.Sprintf(format, a...)})
	}
	nowText := c.Now
	if nowText == "" {
		nowText = t.Now
	}
	now, err := time.Parse(time.RFC3339, nowText)
	if err != nil {
		fail(0, "now: %v", err)
		return out
	}
	vars := c.Vars
	if vars == nil {
		vars = t.Vars
	}
	rev := t.Rev
	if rev == 0 {
		rev = 1
	}
	s, replies := Start(f, rev, vars, now)
	turns := c.Turns
	if len(turns) > 0 && turns[0].User == "" && len(turns[0].Photos) == 0 && turns[0].Location == "" && turns[0].Event == "" {
		checkTurn(fail, 0, turns[0], s, replies, nil, false)
		turns = turns[1:]
	} else if err := CheckReplies(replies); err != nil {
		fail(0, "%v", err)
	}
	for i, tu := range turns {
		step := time.Minute
		if tu.Wait != "" {
			d, err := parseWait(tu.Wait)
			if err != nil {
				fail(i+1, "wait: %v", err)
				return out
			}
			step = d
		}
		now = now.Add(step)
		var effects []Effect
		quiet := false
		switch tu.Event {
		case "":
			in := Input{Text: tu.User, Photos: tu.Photos}
			if tu.Location != "" {
				in.Lat, in.Lng, _ = strings.Cut(tu.Location, ",")
			}
			s, replies, effects = Advance(f, s, in, now)
		case "tick":
			var kind string
			s, replies, kind = Tick(f, s, now)
			if kind == "" {
				kind = "none"
			}
			if tu.Timeout != "" && kind != tu.Timeout {
				fail(i+1, "timeout is %q, want %q", kind, tu.Timeout)
			}
			quiet = true // expiry and "nothing due" send nothing
		case "resume":
			s, replies = Offer(f, s, now)
		default:
			fail(i+1, "unknown event %q (use tick or resume)", tu.Event)
			return out
		}
		checkTurn(fail, i+1, tu, s, replies, effects, quiet)
	}
	if c.Status != "" && s.Status != c.Status {
		fail(len(turns), "status is %q, want %q", s.Status, c.Status)
	}
	for name, want := range c.Answers {
		a, ok := s.Answers[name]
		switch {
		case want == "-" && ok:
			fail(len(turns), "answer %s is %q, want none", name, a.Display)
		case want != "-" && !ok:
			fail(len(turns), "answer %s is missing, want %q", name, want)
		case want != "-" && a.Display != want:
			fail(len(turns), "answer %s is %q, want %q", name, a.Display, want)
		}
	}
	for name, want := range c.Choices {
		if got := s.Answers[name].Choices; !slices.Equal(got, want) {
			fail(len(turns), "choices of %s are %q, want %q", name, got, want)
		}
	}
	return out
}

// parseWait reads a Wait: Go's duration syntax, or whole days ("1d", "2d3h").
func parseWait(v string) (time.Duration, error) {
	d, err := parseDuration(v)
	if err == nil && d < 0 {
		err = fmt.Errorf("negative wait %q", v)
	}
	return d, err
}

func checkTurn(fail func(int, string, ...any), n int, tu Turn, s Session, replies []Reply, effects []Effect, quiet bool) {
	if len(replies) > 0 || !quiet {
		if err := CheckReplies(replies); err != nil {
			fail(n, "%v", err)
		}
	}
	if err := CheckSession(s); err != nil {
		fail(n, "%v", err)
	}
	var texts []string
	var titles []string
	for _, r := range replies {
		texts = append(texts, r.Text)
		for _, b := range r.Buttons {
			titles = append(titles, b.Title)
		}
	}
	text := strings.Join(texts, "\n---\n")
	said := ""
	switch {
	case tu.Event != "":
		said = fmt.Sprintf(" (after %s)", tu.Event)
	case tu.User != "":
		said = fmt.Sprintf(" (after %q)", tu.User)
	}
	for _, want := range tu.Bot {
		if !strings.Contains(text, want) {
			fail(n, "reply%s does not contain %q; it is:\n%s", said, want, indent(text))
		}
	}
	for _, bad := range tu.Not {
		if strings.Contains(text, bad) {
			fail(n, "reply%s contains %q; it is:\n%s", said, bad, indent(text))
		}
	}
	for _, want := range tu.Buttons {
		if !slices.Contains(titles, want) {
			fail(n, "reply%s has no button %q; buttons: %q", said, want, titles)
		}
	}
	var kinds []string
	for _, e := range effects {
		kinds = append(kinds, e.Kind)
	}
	switch {
	case tu.Effect == "none" && len(kinds) > 0:
		fail(n, "effects%s are %q, want none", said, kinds)
	case tu.Effect != "" && tu.Effect != "none" && !slices.Contains(kinds, tu.Effect):
		fail(n, "effects%s are %q, want %q", said, kinds, tu.Effect)
	}
	if tu.Step != "" && s.Step != tu.Step {
		fail(n, "step%s is %q, want %q", said, s.Step, tu.Step)
	}
}

func indent(s string) string {
	return "    | " + strings.ReplaceAll(s, "\n", "\n    | ")
}

// CheckReplies reports the first way replies break the engine's promises: at least one
// reply, none empty, button titles within Zalo's 35 characters.
func CheckReplies(replies []Reply) error {
	if len(replies) == 0 {
		return fmt.Errorf("no reply")
	}
	for _, r := range replies {
		if strings.TrimSpace(r.Text) == "" {
			return fmt.Errorf("empty reply")
		}
		if !utf8.ValidString(r.Text) {
			return fmt.Errorf("reply is not valid UTF-8")
		}
		for _, b := range r.Buttons {
			if b.Title == "" || utf8.RuneCountInString(b.Title) > MaxLabel {
				return fmt.Errorf("button title %q is empty or over %d characters", b.Title, MaxLabel)
			}
		}
	}
	return nil
}

// CheckSession reports the first way s is not a valid session: an unknown status, a
// finished session with a step, an active one without, or a value that does not survive
// the JSON round trip the caller's store puts it through.
func CheckSession(s Session) error {
	switch s.Status {
	case StatusActive:
		if s.Step == "" {
			return fmt.Errorf("active session without a step")
		}
	case StatusDone, StatusCancelled, StatusExpired:
		if s.Step != "" {
			return fmt.Errorf("%s session still at step %q", s.Status, s.Step)
		}
	default:
		return fmt.Errorf("unknown status %q", s.Status)
	}
	if s.Wrong < 0 {
		return fmt.Errorf("negative wrong count")
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("session does not marshal: %w", err)
	}
	var back Session
	if err := json.Unmarshal(b, &back); err != nil {
		return fmt.Errorf("session does not unmarshal: %w", err)
	}
	if !back.StartedAt.Equal(s.StartedAt) || !back.UpdatedAt.Equal(s.UpdatedAt) || !back.NudgedAt.Equal(s.NudgedAt) {
		return fmt.Errorf("session times change in JSON")
	}
	back.StartedAt, back.UpdatedAt, back.NudgedAt = s.StartedAt, s.UpdatedAt, s.NudgedAt
	if !reflect.DeepEqual(normal(back), normal(s)) {
		return fmt.Errorf("session changes in JSON: %+v became %+v", s, back)
	}
	return nil
}

// normal makes empty maps and slices nil, as JSON's omitempty does.
func normal(s Session) Session {
	if len(s.Answers) == 0 {
		s.Answers = nil
	} else {
		as := make(map[string]Answer, len(s.Answers))
		for k, a := range s.Answers {
			if len(a.Choices) == 0 {
				a.Choices = nil
			}
			if len(a.Photos) == 0 {
				a.Photos = nil
			}
			as[k] = a
		}
		s.Answers = as
	}
	if len(s.Vars) == 0 {
		s.Vars = nil
	}
	if len(s.Trail) == 0 {
		s.Trail = nil
	}
	if len(s.Shown) == 0 {
		s.Shown = nil
	}
	if len(s.Pending) == 0 {
		s.Pending = nil
	}
	return s
}
