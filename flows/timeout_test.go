package flows

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestParseTimeouts(t *testing.T) {
	const steps = "steps:\n  - {name: n, type: number, prompt: p}\n"
	tests := []struct {
		src           string
		nudge, expire time.Duration
		err           string // substring of the one error, with its line
		line          int
	}{
		{"id: x\n" + steps, DefaultNudgeAfter, DefaultExpireAfter, "", 0},
		{"id: x\nnudge_after: 45m\nexpire_after: 2d\n" + steps, 45 * time.Minute, 48 * time.Hour, "", 0},
		{"id: x\nnudge_after: 1h30m\nexpire_after: 1d12h\n" + steps, 90 * time.Minute, 36 * time.Hour, "", 0},
		{"id: x\nnudge_after: 0\n" + steps, 0, DefaultExpireAfter, "", 0},
		{"id: x\nnudge_after: soon\n" + steps, 0, 0, "nudge_after must be a duration", 2},
		{"id: x\nexpire_after: 0\n" + steps, 0, 0, "expire_after must be between", 2},
		{"id: x\nexpire_after: 40d\n" + steps, 0, 0, "expire_after must be between", 2},
		{"id: x\nnudge_after: 30s\n" + steps, 0, 0, "nudge_after must be between", 2},
		{"id: x\nnudge_after: 8d\nexpire_after: 9d\n" + steps, 0, 0, "nudge_after must be between", 2},
		{"id: x\nnudge_after: 2h\nexpire_after: 1h\n" + steps, 0, 0, "must be shorter than expire_after", 2},
		{"id: x\nnudge: 'Chào {{.club'\n" + steps, 0, 0, "nudge:", 2},
	}
	for _, tt := range tests {
		f, err := Parse([]byte(tt.src))
		if tt.err == "" {
			if err != nil {
				t.Errorf("%q: %v", tt.src, err)
				continue
			}
			if f.NudgeAfter != tt.nudge || f.ExpireAfter != tt.expire {
				t.Errorf("%q: nudge %s expire %s; want %s %s", tt.src, f.NudgeAfter, f.ExpireAfter, tt.nudge, tt.expire)
			}
			continue
		}
		var ve *ValidationError
		if !errors.As(err, &ve) || len(ve.Errors) != 1 || !strings.Contains(ve.Errors[0].Message, tt.err) || ve.Errors[0].Line != tt.line {
			t.Errorf("%q: error %v; want one at line %d containing %q", tt.src, err, tt.line, tt.err)
		}
	}
}

func TestParseNewStepTypes(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
		msg       string
	}{
		{"info cannot be optional", "id: x\nsteps:\n  - name: i\n    type: info\n    prompt: p\n    optional: true\n", 6, "info step has no answer"},
		{"info has no check", "id: x\nsteps:\n  - {name: n, type: number, prompt: p}\n  - name: i\n    type: info\n    prompt: p\n    check: n > 1\n", 7, "info step has no answer"},
		{"no condition on an info step", "id: x\nsteps:\n  - {name: i, type: info, prompt: p}\n  - name: n\n    type: text\n    prompt: p\n    when: i == 1\n", 7, "has no answer to test"},
		{"photo max 0", "id: x\nsteps:\n  - name: p\n    type: photo\n    prompt: p\n    max: 0\n", 6, "at least 1 photo"},
		{"photo max too big", "id: x\nsteps:\n  - name: p\n    type: photo\n    prompt: p\n    max: 500\n", 6, "from 0 to 50"},
		{"photo has no options", "id: x\nsteps:\n  - name: p\n    type: photo\n    prompt: p\n    options: []\n", 6, "unknown key \"options\""},
		{"location has no unit", "id: x\nsteps:\n  - name: p\n    type: location\n    prompt: p\n    unit: m\n", 6, "belongs to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src))
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) != 1 || ve.Errors[0].Line != tt.line || !strings.Contains(ve.Errors[0].Message, tt.msg) {
				t.Errorf("error %v; want one at line %d containing %q", err, tt.line, tt.msg)
			}
		})
	}
	if _, err := Parse([]byte("id: x\nsteps:\n  - {name: i, type: info, prompt: p, when: 'true'}\n  - {name: p, type: photo, prompt: p, min: 2, max: 4, optional: true}\n  - {name: l, type: location, prompt: p}\n")); err != nil {
		t.Errorf("a valid flow with info, photo and location steps: %v", err)
	}
}

func TestDue(t *testing.T) {
	f := mustFlow(t, "meeting_report")
	s, _ := Start(f, 1, nil, wed)
	nudged := s
	nudged.NudgedAt = wed.Add(40 * time.Minute)
	done := s
	done.Status, done.Step = StatusDone, ""
	tests := []struct {
		name string
		s    Session
		at   time.Duration
		want string
	}{
		{"fresh", s, time.Minute, ""},
		{"just before the nudge", s, 30*time.Minute - time.Second, ""},
		{"at the nudge", s, 30 * time.Minute, TimeoutNudge},
		{"nudged already", nudged, 2 * time.Hour, ""},
		{"just before expiry", nudged, 24*time.Hour - time.Second, ""},
		{"expiry, nudged", nudged, 24 * time.Hour, TimeoutExpire},
		{"expiry, never nudged: expire, not nudge", s, 25 * time.Hour, TimeoutExpire},
		{"finished", done, 48 * time.Hour, ""},
	}
	for _, tt := range tests {
		if got := Due(f, tt.s, wed.Add(tt.at)); got != tt.want {
			t.Errorf("%s: Due = %q, want %q", tt.name, got, tt.want)
		}
	}
	off, err := Parse([]byte("id: x\nnudge_after: 0\nsteps:\n  - {name: n, type: number, prompt: p}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := Start(off, 1, nil, wed)
	if got := Due(off, s2, wed.Add(5*time.Hour)); got != "" {
		t.Errorf("nudge_after: 0 should never nudge, got %q", got)
	}
}

// TestTickPure checks that Tick returns a new session and leaves its input alone, and that
// the nudge it returns is recorded in the session it returns (one transaction, one nudge).
func TestTickPure(t *testing.T) {
	f := mustFlow(t, "meeting_report")
	s, _, _ := play(t, f, "có", "hôm qua")
	before, _ := json.Marshal(s)
	ns, replies, kind := Tick(f, s, wed.Add(31*time.Minute))
	if after, _ := json.Marshal(s); string(after) != string(before) {
		t.Fatalf("Tick changed its input:\n%s\n%s", before, after)
	}
	if kind != TimeoutNudge || len(replies) != 1 || !ns.Offering || !ns.NudgedAt.Equal(wed.Add(31*time.Minute)) {
		t.Fatalf("kind %q, replies %d, offering %v, nudged %v", kind, len(replies), ns.Offering, ns.NudgedAt)
	}
	if err := CheckSession(ns); err != nil {
		t.Fatal(err)
	}
	if _, r, k := Tick(f, ns, wed.Add(50*time.Minute)); k != "" || r != nil {
		t.Errorf("second tick: %q %v, want nothing", k, r)
	}
	ex, r, k := Tick(f, ns, wed.Add(25*time.Hour))
	if k != TimeoutExpire || r != nil || ex.Status != StatusExpired || ex.Step != "" || ex.Offering {
		t.Errorf("expiry: %q %v %+v", k, r, ex)
	}
	if err := CheckSession(ex); err != nil {
		t.Fatal(err)
	}
}

func TestProgress(t *testing.T) {
	f := mustFlow(t, "meeting_report")
	tests := []struct {
		inputs      []string
		done, total int
	}{
		{nil, 0, 3},                             // held, and (held unknown: "!held" holds) reason, notes
		{[]string{"không"}, 1, 3},               // held, reason, notes
		{[]string{"có", "hôm qua", "30"}, 3, 8}, // held, date, total, women, older, areas, joined, notes
		{[]string{"có", "hôm qua", "30", "bỏ qua", "bỏ qua", "1 2"}, 6, 10}, // + health checks, loans count (amount needs a count > 0)
	}
	for _, tt := range tests {
		s, _, _ := play(t, f, tt.inputs...)
		if d, n := Progress(f, s); d != tt.done || n != tt.total {
			t.Errorf("after %q: Progress = %d/%d, want %d/%d", tt.inputs, d, n, tt.done, tt.total)
		}
	}
}

// FuzzTimeouts drives the default flow with messages, pauses, timer ticks and "báo cáo"
// during the conversation: never a panic, a valid session after every step, a reply to every
// message, at most one nudge per pause, and nothing sent on expiry.
func FuzzTimeouts(f *testing.F) {
	flow := mustFlow(f, "meeting_report")
	for _, seed := range []string{
		"có\n@31\n@tick\n@tick\n1\nhôm qua\n@resume\n2\nkhong\n@1500\n@tick\nco",
		"@resume\nabc\nabc\nabc\n3",
		"co\n@200\nxyz\n@tick\nbat dau lai\n@tick\n@40\n@tick\nlam lai",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, script string) {
		s, _ := Start(flow, 1, map[string]string{"club": "Sen"}, wed)
		now := wed
		nudges := 0
		for _, line := range strings.Split(script, "\n") {
			now = now.Add(time.Minute)
			var replies []Reply
			switch {
			case line == "@tick":
				var kind string
				s, replies, kind = Tick(flow, s, now)
				if kind == TimeoutNudge {
					nudges++
					if nudges > 1 {
						t.Fatalf("a second nudge in one pause")
					}
				}
				if kind != TimeoutNudge && len(replies) > 0 {
					t.Fatalf("tick %q sent %v", kind, replies)
				}
				if kind == TimeoutNudge {
					if err := CheckReplies(replies); err != nil {
						t.Fatal(err)
					}
				}
			case line == "@resume":
				s, replies = Offer(flow, s, now)
				nudges = 0
				if err := CheckReplies(replies); err != nil {
					t.Fatal(err)
				}
			case strings.HasPrefix(line, "@"):
				var mins int
				for _, r := range line[1:] {
					if r >= '0' && r <= '9' && mins < 100000 {
						mins = mins*10 + int(r-'0')
					}
				}
				now = now.Add(time.Duration(mins) * time.Minute)
			default:
				s, replies, _ = Advance(flow, s, Input{Text: line}, now)
				nudges = 0
				if err := CheckReplies(replies); err != nil {
					t.Fatalf("after %q: %v", line, err)
				}
			}
			if err := CheckSession(s); err != nil {
				t.Fatalf("after %q: %v", line, err)
			}
			if s.Status == StatusActive && flow.Step(s.Step) == nil {
				t.Fatalf("after %q: at unknown step %q", line, s.Step)
			}
		}
	})
}

// FuzzEveryStepType drives the test flow that has every step type (photos, locations, info
// steps) with random messages: the same promises as FuzzAdvance.
func FuzzEveryStepType(f *testing.F) {
	src, err := os.ReadFile("testdata/flows/activity_log.yaml")
	if err != nil {
		f.Fatal(err)
	}
	flow, err := Parse(src)
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{
		"van nghe\nhom qua\n12\n500k\n1-2\nu\nloc 21,105\nphoto 1\nphoto 2\nxong\nvui ve lam\n1",
		"1\nhom nay\n3\nbo qua\n0\nkhong\nxong\nbat dau lai\nquay lai\nphoto x\nphoto y\nphoto z\nphoto w\nsua 2",
		"#cmd:done\n#cmd:restart\n#cmd:continue\nloc \nphoto",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, script string) {
		s, replies := Start(flow, 1, nil, wed)
		if err := CheckReplies(replies); err != nil {
			t.Fatal(err)
		}
		now := wed
		for _, line := range strings.Split(script, "\n") {
			now = now.Add(time.Minute)
			in := Input{Text: line}
			switch {
			case strings.HasPrefix(line, "photo"):
				in = Input{Photos: []string{line}}
			case strings.HasPrefix(line, "loc"):
				in = Input{Lat: strings.TrimPrefix(line, "loc"), Lng: "105.8"}
			}
			s, replies, _ = Advance(flow, s, in, now)
			if err := CheckReplies(replies); err != nil {
				t.Fatalf("after %q: %v", line, err)
			}
			if err := CheckSession(s); err != nil {
				t.Fatalf("after %q: %v", line, err)
			}
			if st := flow.Step(s.Step); s.Status == StatusActive && (st == nil || st.Type == TypeInfo) {
				t.Fatalf("after %q: resting at %q", line, s.Step)
			}
			if st := flow.Step(s.Step); len(s.Pending) > 0 && (st == nil || st.Type != TypePhoto) {
				t.Fatalf("after %q: pending photos at %q", line, s.Step)
			}
		}
	})
}
