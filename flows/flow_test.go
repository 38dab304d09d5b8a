package flows

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestParseDefaultFlow(t *testing.T) {
	f := mustFlow(t, "meeting_report")
	if f.ID != "meeting_report" {
		t.Errorf("ID = %q, want meeting_report", f.ID)
	}
	// The stable names other packages (reports, digest, exports) read.
	for _, name := range []string{"meeting_held", "meeting_date", "attendance_total", "attendance_women",
		"attendance_older", "areas_active", "health_checks", "people_cared_for", "loans_new_count",
		"loans_new_amount", "members_joined", "notes", "confirm"} {
		if f.Step(name) == nil {
			t.Errorf("meeting_report has no step %q", name)
		}
	}
	if !strings.Contains(f.Steps[0].Prompt, "{{.club}}") {
		t.Errorf("first prompt %q does not use {{.club}}", f.Steps[0].Prompt)
	}
	// The areas are the 8 of activity-areas.csv, in VAE order, plus the none option.
	var codes []string
	for _, o := range f.Step("areas_active").Options {
		codes = append(codes, o.Code)
	}
	want := "income health home-care self-help rights learning culture resources none"
	if got := strings.Join(codes, " "); got != want {
		t.Errorf("area codes = %q, want %q", got, want)
	}
	if last := f.Steps[len(f.Steps)-1]; last.Type != TypeConfirm {
		t.Errorf("last step is %q, want a confirm step", last.Type)
	}
}

// TestParseErrors checks that every kind of problem is reported, with its line, all at once.
func TestParseErrors(t *testing.T) {
	long := strings.Repeat("a", MaxPrompt+1)
	tests := []struct {
		name string
		src  string
		want []LineError // Message is a substring
	}{
		{"empty", "", []LineError{{1, "empty"}}},
		{"yaml syntax", "id: x\nsteps:\n  - name: a\n    type: text\n    prompt: a: b\n", []LineError{{5, "YAML syntax: mapping values"}}},
		{"tab indent", "id: x\nsteps:\n\t- name: a\n", []LineError{{3, "YAML syntax"}}},
		{"not a mapping", "- a\n- b\n", []LineError{{1, "must be a mapping"}}},
		{"missing id and steps", "title: x\n", []LineError{{1, "id is missing"}, {1, "steps is missing"}}},
		{"bad id", "id: Meeting Report\nsteps:\n  - {name: a, type: text, prompt: p}\n", []LineError{{1, "lowercase"}}},
		{"empty steps", "id: x\nsteps: []\n", []LineError{{2, "non-empty list"}}},
		{"unknown top key", "id: x\ntitel: y\nsteps:\n  - {name: a, type: text, prompt: p}\n", []LineError{{2, `unknown key "titel"`}}},
		{"unknown step key", "id: x\nsteps:\n  - name: a\n    type: text\n    prompt: p\n    colour: red\n", []LineError{{6, `unknown key "colour"`}}},
		{"key of another type", "id: x\nsteps:\n  - name: a\n    type: text\n    prompt: p\n    min: 1\n", []LineError{{6, "belongs to"}}},
		{"repeated key", "id: x\nsteps:\n  - name: a\n    type: text\n    prompt: p\n    prompt: q\n", []LineError{{6, "repeated"}}},
		{"unknown type", "id: x\nsteps:\n  - name: a\n    type: video\n    prompt: p\n", []LineError{{4, `unknown type "video"`}}},
		{"missing type", "id: x\nsteps:\n  - name: a\n    prompt: p\n", []LineError{{3, "has no type"}}},
		{"missing name", "id: x\nsteps:\n  - type: text\n    prompt: p\n", []LineError{{3, "no name"}}},
		{"bad name", "id: x\nsteps:\n  - name: Số người\n    type: text\n    prompt: p\n", []LineError{{3, "lowercase"}}},
		{"reserved name", "id: x\nsteps:\n  - name: photos\n    type: text\n    prompt: p\n", []LineError{{3, "reserved"}}},
		{"missing prompt", "id: x\nsteps:\n  - name: a\n    type: text\n", []LineError{{3, "no prompt"}}},
		{"long prompt", "id: x\nsteps:\n  - name: a\n    type: text\n    prompt: " + long + "\n", []LineError{{5, "the limit is 2000"}}},
		{"bad prompt template", "id: x\nsteps:\n  - name: a\n    type: text\n    prompt: 'Chào {{.club'\n", []LineError{{5, "prompt"}}},
		{"duplicate names", "id: x\nsteps:\n  - {name: a, type: text, prompt: p}\n  - {name: a, type: text, prompt: q}\n",
			[]LineError{{4, `"a" is already used at line 3`}}},
		{"empty choice list", "id: x\nsteps:\n  - name: a\n    type: choice\n    prompt: p\n    options: []\n", []LineError{{6, "non-empty list of options"}}},
		{"no options", "id: x\nsteps:\n  - name: a\n    type: multi\n    prompt: p\n", []LineError{{3, "non-empty list of options"}}},
		{"long label", "id: x\nsteps:\n  - name: a\n    type: choice\n    prompt: p\n    options:\n      - code: c\n        label: Chăm sóc tại nhà dựa vào tình nguyện viên\n",
			[]LineError{{8, "Zalo buttons allow 35"}}},
		{"option problems", "id: x\nsteps:\n  - name: a\n    type: choice\n    prompt: p\n    options:\n      - {code: c, label: C}\n      - {code: c, label: D}\n      - {label: E}\n      - {code: f}\n      - {code: g, label: G, none: true}\n",
			[]LineError{{8, "already used at line 7"}, {9, "no code"}, {10, "no label"}, {11, "only for multi"}}},
		{"bad when", "id: x\nsteps:\n  - {name: a, type: yesno, prompt: p}\n  - name: b\n    type: text\n    prompt: q\n    when: a = true\n", []LineError{{7, "use =="}}},
		{"when on unknown step", "id: x\nsteps:\n  - name: b\n    type: text\n    prompt: q\n    when: nobody > 1\n", []LineError{{6, `unknown step "nobody"`}}},
		{"when on later step", "id: x\nsteps:\n  - name: b\n    type: text\n    prompt: q\n    when: c == true\n  - {name: c, type: yesno, prompt: p}\n", []LineError{{6, "comes later"}}},
		{"bad check", "id: x\nsteps:\n  - name: n\n    type: number\n    prompt: q\n    check: n <= m\n", []LineError{{6, `unknown step "m"`}}},
		{"confirm not last", "id: x\nsteps:\n  - {name: ok, type: confirm, prompt: p}\n  - {name: b, type: text, prompt: q}\n", []LineError{{3, "must be the last step"}}},
		{"min above max", "id: x\nsteps:\n  - name: n\n    type: number\n    prompt: q\n    min: 10\n    max: 1\n", []LineError{{6, "greater than max"}}},
		{"bad number", "id: x\nsteps:\n  - name: n\n    type: number\n    prompt: q\n    max: many\n", []LineError{{6, "whole number"}}},
		{"bad bool", "id: x\nsteps:\n  - name: n\n    type: number\n    prompt: q\n    optional: maybe\n", []LineError{{6, "true or false"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.src))
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("Parse error = %v, want *ValidationError", err)
			}
			if len(ve.Errors) != len(tt.want) {
				t.Errorf("got %d errors, want %d:\n%v", len(ve.Errors), len(tt.want), ve)
			}
			for _, w := range tt.want {
				found := false
				for _, g := range ve.Errors {
					if g.Line == w.Line && strings.Contains(g.Message, w.Message) {
						found = true
					}
				}
				if !found {
					t.Errorf("no error at line %d containing %q; got:\n%v", w.Line, w.Message, ve)
				}
			}
		})
	}
}

// TestParseReportsAll checks that one template with several problems gets them all, in
// line order, and that the error serialises as the admin API's 422 body expects.
func TestParseReportsAll(t *testing.T) {
	src := `id: x
steps:
  - name: a
    type: choice
    prompt: p
    options: []
  - name: a
    type: texte
    prompt: q
  - name: c
    type: text
    when: zz == 1
    prompt: r
`
	_, err := Parse([]byte(src))
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Parse error = %v, want *ValidationError", err)
	}
	var lines []int
	for _, e := range ve.Errors {
		lines = append(lines, e.Line)
	}
	if got, want := fmt.Sprint(lines), "[6 7 8 12]"; got != want {
		t.Errorf("error lines = %s, want %s:\n%v", got, want, ve)
	}
	b, _ := json.Marshal(ve.Errors[0])
	if got, want := string(b), `{"line":6,"message":"step \"a\": a choice step needs a non-empty list of options"}`; got != want {
		t.Errorf("JSON = %s, want %s", got, want)
	}
	if got := ve.Error(); !strings.HasPrefix(got, "line 6: ") || strings.Count(got, "\n") != 3 {
		t.Errorf("Error() = %q, want one \"line N: ...\" per problem", got)
	}
}
