package flows

import (
	"strings"
	"testing"
)

// condFlow has one step of every answer kind, for condition tests.
const condFlow = `
id: cond
steps:
  - {name: held, type: yesno, prompt: "Họp?"}
  - {name: attendance, type: number, prompt: "Bao nhiêu?"}
  - {name: note, type: text, prompt: "Ghi chú"}
  - {name: day, type: date, prompt: "Ngày?"}
  - name: kind
    type: choice
    prompt: "Loại?"
    options: [{code: regular, label: Thường kỳ}, {code: extra, label: Bất thường}]
  - name: areas
    type: multi
    prompt: "Mảng?"
    options: [{code: health, label: Sức khỏe}, {code: income, label: Thu nhập}]
  - {name: last, type: text, prompt: "Cuối"}
`

func num(n int64) *int64 { return &n }
func boolp(b bool) *bool { return &b }

func TestConditions(t *testing.T) {
	f, err := Parse([]byte(condFlow))
	if err != nil {
		t.Fatal(err)
	}
	answers := map[string]Answer{
		"held":       {Type: TypeYesNo, Bool: boolp(true)},
		"attendance": {Type: TypeNumber, Number: num(30)},
		"note":       {Type: TypeText, Text: "mưa"},
		"day":        {Type: TypeDate, Date: "2026-11-20"},
		"kind":       {Type: TypeChoice, Choices: []string{"extra"}},
		"areas":      {Type: TypeMulti, Choices: []string{"health"}},
	}
	skipped := map[string]Answer{"attendance": {Type: TypeNumber, Skipped: true}}
	tests := []struct {
		src     string
		answers map[string]Answer
		want    bool
	}{
		{"held == true", answers, true},
		{"held", answers, true},
		{"!held", answers, false},
		{"held != true", answers, false},
		{"attendance > 0", answers, true},
		{"attendance >= 30 && attendance <= 30", answers, true},
		{"attendance < 30", answers, false},
		{"attendance == 30.0", answers, true},
		{"attendance > 0", skipped, false},   // a skipped answer has no value
		{"attendance != 5", skipped, true},   // ... and is different from anything
		{"!(attendance > 0)", skipped, true}, // ... so "not more than 0" holds
		{"note == 'mưa'", answers, true},
		{`note == "nắng"`, answers, false},
		{`day >= "2026-11-01" && day < "2026-12-01"`, answers, true},
		{`kind == "extra"`, answers, true},
		{`kind != "extra" || attendance > 100`, answers, false},
		{`contains(areas, "health")`, answers, true},
		{`contains(areas, "income")`, answers, false},
		{`contains(areas, "health")`, map[string]Answer{}, false},
		{`!contains(areas, "income") && (held == false || attendance > 10)`, answers, true},
		{`held == true && attendance > 0 || note == "x"`, answers, true},
		{`false || (true && !false)`, nil, true},
		{`attendance > -1`, skipped, false},
	}
	last := len(f.Steps) - 1
	for _, tt := range tests {
		e, err := parseExpr(tt.src, f.scope(last, false))
		if err != nil {
			t.Errorf("parseExpr(%q): %v", tt.src, err)
			continue
		}
		if got := truth(e.eval(env(f, tt.answers))); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.src, got, tt.want)
		}
	}
}

func TestConditionErrors(t *testing.T) {
	f, err := Parse([]byte(condFlow))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		src, want string
	}{
		{"", "empty condition"},
		{"held = true", "use =="},
		{"held ==", "ends too early"},
		{"(held == true", "missing )"},
		{"held == true)", `unexpected ")"`},
		{"nobody > 1", `unknown step "nobody"`},
		{"last == 'x'", "cannot depend on its own answer"},
		{"held == 1", "cannot compare a yes/no with a number"},
		{"held > false", "only with == or !="},
		{"attendance", "must be a comparison"},
		{"areas == 'health'", "contains"},
		{`contains(held, "x")`, "only on a multi step"},
		{`contains(areas, "helth")`, `"helth" is not an option code of areas`},
		{`kind == "other"`, `"other" is not an option code of kind`},
		{`contains(areas)`, "contains(step"},
		{"attendance > 1 && note", "&& needs"},
		{"!attendance", "! needs"},
		{"held == true; x", "unexpected character"},
		{`note == "open`, "unterminated string"},
	}
	last := len(f.Steps) - 1
	for _, tt := range tests {
		_, err := parseExpr(tt.src, f.scope(last, false))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseExpr(%q) error = %v, want it to contain %q", tt.src, err, tt.want)
		}
	}
	// A later step is named as such, not as unknown.
	if _, err := parseExpr("last == 'x'", f.scope(0, false)); err == nil || !strings.Contains(err.Error(), "comes later") {
		t.Errorf("reference to a later step: error = %v, want \"comes later\"", err)
	}
}
