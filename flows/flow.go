// Package flows is the conversation engine of clubbot: the template format and its validation,
// Vietnamese input parsing, and the pure state machine that turns (flow, session, input, now)
// into (session, replies, effects). It does no I/O, reads no clock and starts no goroutine
// (ARCHITECTURE.md rule 3), so every conversation can be tested as a transcript.
package flows

import (
	"bytes"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Step types.
const (
	TypeText     = "text"
	TypeNumber   = "number"
	TypeMoney    = "money"
	TypeDate     = "date"
	TypeChoice   = "choice"
	TypeMulti    = "multi"
	TypeYesNo    = "yesno"
	TypeConfirm  = "confirm"
	TypePhoto    = "photo"    // one or several photos, until the user types "xong"
	TypeLocation = "location" // a shared location (or a place typed as text)
	TypeInfo     = "info"     // a message; no answer is asked for or stored
)

// Reserved answer names: photos and a shared location can arrive at any step, so they are
// kept under these keys of Session.Answers rather than as the answer to a question.
const (
	PhotosKey   = "photos"
	LocationKey = "location"
)

// Timeouts of an idle conversation when the template does not set them (ISSUE 4 §6): one
// nudge after half an hour, expiry after a day. Half an hour is long enough that someone
// looking for the attendance register is not hurried, short enough that they still remember
// the report; after a day the answers are likely stale.
const (
	DefaultNudgeAfter  = 30 * time.Minute
	DefaultExpireAfter = 24 * time.Hour
)

// Bounds on the timeouts a template may set. A nudge later than the 7-day interaction window
// could never be delivered (API.md §5.1); a conversation kept for more than 30 days would
// collect answers about last month's meeting.
const (
	minTimeout       = time.Minute
	maxNudgeAfter    = 7 * 24 * time.Hour
	maxExpireAfter   = 30 * 24 * time.Hour
	defaultMaxPhotos = 10
)

// Limits enforced by Parse. MaxLabel is Zalo's limit for a button title (API.md §4.3);
// MaxPrompt is Zalo's limit for one text message (API.md §4.1), so a prompt always fits.
const (
	MaxLabel  = 35
	MaxPrompt = 2000
)

// Flow is a parsed, validated conversation template. It is read-only after Parse and safe
// to share between goroutines.
type Flow struct {
	ID          string // template id, e.g. "meeting_report"
	Title       string
	Description string
	Address     string // how the bot addresses the user in its own messages; default "Bác"
	Intro       string // optional text sent before the first question
	Done        string // thank-you text after the user confirms
	Cancelled   string // text after the user cancels
	Nudge       string // text of the one reminder sent to an idle conversation; a default otherwise
	Expired     string // text for a user who writes after the conversation expired; a default otherwise
	// NudgeAfter is how long a conversation may sit idle before its one nudge (0: never);
	// ExpireAfter how long before it is closed. Parse fills in the defaults.
	NudgeAfter  time.Duration
	ExpireAfter time.Duration
	Steps       []Step

	index map[string]int // step name → position; nil for a Flow not built by Parse
}

// Step is one question of a flow. Name is the stable key of its answer: exports keep their
// columns across template revisions because names do not change (ARCHITECTURE.md rule 4).
type Step struct {
	Name       string
	Type       string // one of the Type* constants
	Prompt     string // text/template; {{.club}} and earlier answers by name are available
	Label      string // short label in the summary; defaults to the prompt
	Help       string // shown on "giúp"; a default per type is used when empty
	Example    string // one example answer, shown after a wrong answer; a default per type otherwise
	Unit       string // number and money: the unit echoed back, e.g. "người"
	Optional   bool   // the user may answer "bỏ qua"
	When       string // condition on earlier answers; the step is asked only when it holds
	Check      string // condition on this and earlier answers that a new answer must satisfy
	CheckError string // message when Check fails
	Min, Max   *int64 // number and money bounds; photo: how many photos (default 1 and 10)
	MinLen     int    // text: minimum length in characters
	MaxLen     int    // text: maximum length in characters; 0 means 1000
	MaxAgeDays int    // date: refuse dates older than this many days; 0 means no limit
	Options    []Option
	Line       int // line of the step in the template, for messages to admins

	prompt *template.Template
	when   expr
	check  expr
	match  *matcher
}

// Option is one answer of a choice or multi step. Code is what is stored; Label is shown
// (as a button title, so at most 35 characters) and Keywords are other words that pick it.
type Option struct {
	Code     string
	Label    string
	Keywords []string
	None     bool // multi only: "none of these"; typed as 0, exclusive of the other options
}

// ValidationError lists every problem found in a template, each with its 1-based line.
type ValidationError struct{ Errors []LineError }

// LineError is one problem in a template.
type LineError struct {
	Line    int    `json:"line"`
	Message string `json:"message"`
}

// Error returns the problems one per line, as "line N: message".
func (e *ValidationError) Error() string {
	var b strings.Builder
	for i, le := range e.Errors {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "line %d: %s", le.Line, le.Message)
	}
	return b.String()
}

var (
	nameRE     = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	codeRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	yamlLineRE = regexp.MustCompile(`line (\d+)`)
)

var stepTypes = []string{TypeText, TypeNumber, TypeMoney, TypeDate, TypeChoice, TypeMulti, TypeYesNo, TypePhoto,
	TypeLocation, TypeInfo, TypeConfirm}

// stepKeys are the keys every step accepts; typeKeys are the extra keys per type.
var (
	flowKeys = []string{"id", "title", "description", "address", "intro", "done", "cancelled", "nudge", "expired",
		"nudge_after", "expire_after", "steps"}
	stepKeys   = []string{"name", "type", "prompt", "label", "help", "example", "optional", "when", "check", "check_error"}
	optionKeys = []string{"code", "label", "keywords", "none"}
	typeKeys   = map[string][]string{
		TypeText:     {"min_len", "max_len"},
		TypeNumber:   {"min", "max", "unit"},
		TypeMoney:    {"min", "max", "unit"},
		TypeDate:     {"max_age_days"},
		TypeChoice:   {"options"},
		TypeMulti:    {"options"},
		TypeYesNo:    {},
		TypePhoto:    {"min", "max"},
		TypeLocation: {},
		TypeInfo:     {},
		TypeConfirm:  {},
	}
)

// Parse parses and validates a YAML template. On invalid input it returns *ValidationError
// listing every problem with its line, so an admin can fix them all in one go.
func Parse(src []byte) (*Flow, error) {
	p := &parser{}
	var doc yaml.Node
	if len(bytes.TrimSpace(src)) == 0 {
		return nil, &ValidationError{[]LineError{{1, "the template is empty"}}}
	}
	if err := yaml.Unmarshal(src, &doc); err != nil {
		line := 1
		if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = strings.TrimSpace(yamlLineRE.ReplaceAllString(msg, ""))
		msg = strings.TrimPrefix(msg, ": ")
		return nil, &ValidationError{[]LineError{{line, "YAML syntax: " + msg}}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	f := p.flow(root)
	if len(p.errs) > 0 {
		sort.SliceStable(p.errs, func(i, j int) bool { return p.errs[i].Line < p.errs[j].Line })
		return nil, &ValidationError{p.errs}
	}
	return f, nil
}

type parser struct{ errs []LineError }

func (p *parser) errf(line int, format string, a ...any) {
	p.errs = append(p.errs, LineError{line, fmt.Sprintf(format, a...)})
}

// fields returns the key/value pairs of a mapping node, reporting unknown and repeated keys.
func (p *parser) fields(n *yaml.Node, what string, allowed []string, other map[string][]string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		p.errf(n.Line, "%s must be a mapping of key: value", what)
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if _, dup := out[k.Value]; dup {
			p.errf(k.Line, "%s: key %q is repeated", what, k.Value)
			continue
		}
		if !slices.Contains(allowed, k.Value) {
			hint := ""
			var owners []string
			for t, keys := range other {
				if slices.Contains(keys, k.Value) {
					owners = append(owners, t)
				}
			}
			if len(owners) > 0 {
				sort.Strings(owners)
				hint = fmt.Sprintf(" (it belongs to %s steps)", strings.Join(owners, ", "))
			}
			if hint == "" {
				hint = " (allowed: " + strings.Join(allowed, ", ") + ")"
			}
			p.errf(k.Line, "%s: unknown key %q%s", what, k.Value, hint)
			continue
		}
		out[k.Value] = v
	}
	return out
}

func (p *parser) str(n *yaml.Node, key string) string {
	if n == nil {
		return ""
	}
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		if n.Tag != "!!null" {
			p.errf(n.Line, "%s must be text", key)
		}
		return ""
	}
	return n.Value
}

func (p *parser) num(n *yaml.Node, key string) *int64 {
	if n == nil {
		return nil
	}
	v, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 10, 64)
	if n.Kind != yaml.ScalarNode || err != nil {
		p.errf(n.Line, "%s must be a whole number, not %q", key, n.Value)
		return nil
	}
	return &v
}

func (p *parser) boolean(n *yaml.Node, key string) bool {
	if n == nil {
		return false
	}
	switch n.Value {
	case "true":
		return true
	case "false":
		return false
	}
	p.errf(n.Line, "%s must be true or false, not %q", key, n.Value)
	return false
}

var daysRE = regexp.MustCompile(`^(\d+)d(.*)$`)

// duration reads a timeout (see parseDuration). Absent, it is def; 0 means "never" only
// where off is allowed.
func (p *parser) duration(n *yaml.Node, key string, def time.Duration, off bool, max time.Duration) time.Duration {
	if n == nil {
		return def
	}
	d, err := parseDuration(n.Value)
	switch {
	case n.Kind != yaml.ScalarNode || err != nil:
		p.errf(n.Line, "%s must be a duration like 30m, 2h or 1d, not %q", key, n.Value)
		return def
	case d == 0 && off:
		return 0
	case d < minTimeout || d > max:
		p.errf(n.Line, "%s must be between %s and %s, not %s", key, minTimeout, max, n.Value)
		return def
	}
	return d
}

// parseDuration reads Go's duration syntax (30m, 1h30m, 24h) plus whole days (2d, 1d12h)
// and a bare 0.
func parseDuration(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "0" {
		return 0, nil
	}
	m := daysRE.FindStringSubmatch(v)
	if m == nil {
		return time.ParseDuration(v)
	}
	days, err := strconv.Atoi(m[1])
	if err != nil || days > 3650 {
		return 0, fmt.Errorf("bad number of days %q", m[1])
	}
	d := time.Duration(days) * 24 * time.Hour
	if m[2] != "" {
		rest, err := time.ParseDuration(m[2])
		if err != nil {
			return 0, err
		}
		d += rest
	}
	return d, nil
}

func (p *parser) flow(root *yaml.Node) *Flow {
	kv := p.fields(root, "template", flowKeys, nil)
	if root.Kind != yaml.MappingNode {
		return nil
	}
	f := &Flow{
		ID:          p.str(kv["id"], "id"),
		Title:       p.str(kv["title"], "title"),
		Description: p.str(kv["description"], "description"),
		Address:     p.str(kv["address"], "address"),
		Intro:       p.str(kv["intro"], "intro"),
		Done:        p.str(kv["done"], "done"),
		Cancelled:   p.str(kv["cancelled"], "cancelled"),
		Nudge:       p.str(kv["nudge"], "nudge"),
		Expired:     p.str(kv["expired"], "expired"),
		NudgeAfter:  p.duration(kv["nudge_after"], "nudge_after", DefaultNudgeAfter, true, maxNudgeAfter),
		ExpireAfter: p.duration(kv["expire_after"], "expire_after", DefaultExpireAfter, false, maxExpireAfter),
		index:       map[string]int{},
	}
	if f.NudgeAfter > 0 && f.ExpireAfter > 0 && f.NudgeAfter >= f.ExpireAfter {
		p.errf(lineOr(kv["nudge_after"], root), "nudge_after (%s) must be shorter than expire_after (%s)", f.NudgeAfter, f.ExpireAfter)
	}
	if f.ID == "" {
		p.errf(root.Line, "id is missing")
	} else if !nameRE.MatchString(f.ID) {
		p.errf(kv["id"].Line, "id %q must be lowercase letters, digits and _ (e.g. meeting_report)", f.ID)
	}
	for _, k := range []string{"intro", "done", "cancelled", "nudge", "expired"} {
		n := kv[k]
		if n == nil {
			continue
		}
		if utf8.RuneCountInString(n.Value) > MaxPrompt {
			p.errf(n.Line, "%s is %d characters; the limit is %d", k, utf8.RuneCountInString(n.Value), MaxPrompt)
		}
		if _, err := newTemplate(k, n.Value); err != nil {
			p.errf(n.Line, "%s: %v", k, err)
		}
	}
	steps := kv["steps"]
	if steps == nil {
		p.errf(root.Line, "steps is missing")
		return f
	}
	if steps.Kind != yaml.SequenceNode || len(steps.Content) == 0 {
		p.errf(steps.Line, "steps must be a non-empty list")
		return f
	}
	nodes := map[string]*yaml.Node{} // step name → node, for condition checks
	for _, sn := range steps.Content {
		st, kvs := p.step(sn)
		if st.Name != "" {
			if prev, dup := f.index[st.Name]; dup {
				p.errf(kvs["name"].Line, "step name %q is already used at line %d", st.Name, f.Steps[prev].Line)
				st.Name = ""
			} else {
				f.index[st.Name] = len(f.Steps)
			}
		}
		nodes[st.Name] = sn
		f.Steps = append(f.Steps, st)
	}
	for i := range f.Steps {
		st := &f.Steps[i]
		if st.Type == TypeConfirm && i != len(f.Steps)-1 {
			p.errf(st.Line, "the confirm step %q must be the last step", st.Name)
		}
	}
	// Conditions are checked once every step is known, so a reference to a later step is
	// reported as such rather than as an unknown name.
	for i := range f.Steps {
		st := &f.Steps[i]
		kvs := p.fieldsQuiet(nodes[st.Name])
		if st.When != "" {
			e, err := parseExpr(st.When, f.scope(i, false))
			if err != nil {
				p.errf(kvs["when"].Line, "when: %v", err)
			}
			st.when = e
		}
		if st.Check != "" {
			e, err := parseExpr(st.Check, f.scope(i, true))
			if err != nil {
				p.errf(kvs["check"].Line, "check: %v", err)
			}
			st.check = e
		}
	}
	return f
}

// fieldsQuiet maps keys to value nodes without reporting anything (already reported).
func (p *parser) fieldsQuiet(n *yaml.Node) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n == nil || n.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		out[n.Content[i].Value] = n.Content[i+1]
	}
	return out
}

func (p *parser) step(n *yaml.Node) (Step, map[string]*yaml.Node) {
	st := Step{Line: n.Line}
	// The type decides which keys are allowed, so read it first.
	typ := ""
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "type" {
				typ = n.Content[i+1].Value
			}
		}
	}
	allowed := slices.Clone(stepKeys)
	allowed = append(allowed, typeKeys[typ]...)
	kv := p.fields(n, "step", allowed, typeKeys)
	st.Name = p.str(kv["name"], "name")
	st.Type = p.str(kv["type"], "type")
	st.Prompt = p.str(kv["prompt"], "prompt")
	st.Label = p.str(kv["label"], "label")
	st.Help = p.str(kv["help"], "help")
	st.Example = p.str(kv["example"], "example")
	st.Unit = p.str(kv["unit"], "unit")
	st.Optional = p.boolean(kv["optional"], "optional")
	st.When = p.str(kv["when"], "when")
	st.Check = p.str(kv["check"], "check")
	st.CheckError = p.str(kv["check_error"], "check_error")
	st.Min = p.num(kv["min"], "min")
	st.Max = p.num(kv["max"], "max")
	if v := p.num(kv["min_len"], "min_len"); v != nil {
		st.MinLen = int(*v)
	}
	if v := p.num(kv["max_len"], "max_len"); v != nil {
		st.MaxLen = int(*v)
	}
	if v := p.num(kv["max_age_days"], "max_age_days"); v != nil {
		st.MaxAgeDays = int(*v)
		if *v < 0 {
			p.errf(kv["max_age_days"].Line, "max_age_days must not be negative")
		}
	}
	where := fmt.Sprintf("step %q", st.Name)
	switch {
	case kv["name"] == nil:
		p.errf(n.Line, "step has no name")
		where = "step"
	case !nameRE.MatchString(st.Name):
		p.errf(kv["name"].Line, "step name %q must be lowercase letters, digits and _ (e.g. attendance_total)", st.Name)
		st.Name = ""
	case st.Name == PhotosKey || st.Name == LocationKey || st.Name == "true" || st.Name == "false" || st.Name == "contains":
		p.errf(kv["name"].Line, "step name %q is reserved", st.Name)
		st.Name = ""
	}
	switch {
	case kv["type"] == nil:
		p.errf(n.Line, "%s has no type (one of %s)", where, strings.Join(stepTypes, ", "))
	case !slices.Contains(stepTypes, st.Type):
		p.errf(kv["type"].Line, "%s: unknown type %q (one of %s)", where, st.Type, strings.Join(stepTypes, ", "))
	}
	switch {
	case strings.TrimSpace(st.Prompt) == "":
		p.errf(lineOr(kv["prompt"], n), "%s has no prompt", where)
	case utf8.RuneCountInString(st.Prompt) > MaxPrompt:
		p.errf(kv["prompt"].Line, "%s: prompt is %d characters; the limit is %d", where, utf8.RuneCountInString(st.Prompt), MaxPrompt)
	default:
		t, err := newTemplate(st.Name, st.Prompt)
		if err != nil {
			p.errf(kv["prompt"].Line, "%s: prompt: %v", where, err)
		}
		st.prompt = t
	}
	if st.Label != "" && utf8.RuneCountInString(st.Label) > 60 {
		p.errf(kv["label"].Line, "%s: label is longer than 60 characters", where)
	}
	if st.Min != nil && st.Max != nil && *st.Min > *st.Max {
		p.errf(kv["min"].Line, "%s: min %d is greater than max %d", where, *st.Min, *st.Max)
	}
	if st.MinLen < 0 || st.MaxLen < 0 || st.MaxLen > 0 && st.MinLen > st.MaxLen {
		p.errf(n.Line, "%s: min_len and max_len must be positive, min_len ≤ max_len", where)
	}
	if st.Type == TypeConfirm && st.Optional {
		p.errf(kv["optional"].Line, "%s: a confirm step cannot be optional", where)
	}
	if st.Type == TypeInfo {
		// An info step is a message with no answer: nothing to skip or to check.
		for _, k := range []string{"optional", "check", "example"} {
			if kv[k] != nil {
				p.errf(kv[k].Line, "%s: an info step has no answer, so it takes no %s", where, k)
			}
		}
	}
	if st.Type == TypePhoto {
		for k, v := range map[string]*int64{"min": st.Min, "max": st.Max} {
			if v != nil && (*v < 0 || *v > 50) {
				p.errf(kv[k].Line, "%s: %s is a number of photos, from 0 to 50", where, k)
			}
		}
		if st.Max != nil && *st.Max == 0 {
			p.errf(kv["max"].Line, "%s: max must be at least 1 photo", where)
		}
	}
	if st.CheckError != "" && st.Check == "" {
		p.errf(kv["check_error"].Line, "%s: check_error without check", where)
	}
	for _, k := range []string{"help", "check_error"} {
		if n := kv[k]; n != nil {
			if _, err := newTemplate(k, n.Value); err != nil {
				p.errf(n.Line, "%s: %s: %v", where, k, err)
			}
		}
	}
	if st.Type == TypeChoice || st.Type == TypeMulti {
		p.options(&st, kv["options"], n, where)
		st.match = newMatcher(st.Options)
	}
	return st, kv
}

func lineOr(n, parent *yaml.Node) int {
	if n != nil {
		return n.Line
	}
	return parent.Line
}

func (p *parser) options(st *Step, n, stepNode *yaml.Node, where string) {
	if n == nil || n.Kind != yaml.SequenceNode || len(n.Content) == 0 {
		p.errf(lineOr(n, stepNode), "%s: a %s step needs a non-empty list of options", where, st.Type)
		return
	}
	codes := map[string]int{}
	nones := 0
	for _, on := range n.Content {
		kv := p.fields(on, "option", optionKeys, nil)
		o := Option{
			Code:  p.str(kv["code"], "code"),
			Label: p.str(kv["label"], "label"),
			None:  p.boolean(kv["none"], "none"),
		}
		if kw := kv["keywords"]; kw != nil {
			if kw.Kind != yaml.SequenceNode {
				p.errf(kw.Line, "keywords must be a list")
			}
			for _, k := range kw.Content {
				if s := p.str(k, "keyword"); key(s) != "" {
					o.Keywords = append(o.Keywords, s)
				} else {
					p.errf(k.Line, "empty keyword")
				}
			}
		}
		switch {
		case o.Code == "":
			p.errf(on.Line, "%s: option has no code", where)
		case !codeRE.MatchString(o.Code):
			p.errf(kv["code"].Line, "%s: option code %q must be lowercase letters, digits, - and _", where, o.Code)
		case codes[o.Code] != 0:
			p.errf(kv["code"].Line, "%s: option code %q is already used at line %d", where, o.Code, codes[o.Code])
		default:
			codes[o.Code] = kv["code"].Line
		}
		switch {
		case strings.TrimSpace(o.Label) == "":
			p.errf(on.Line, "%s: option %q has no label", where, o.Code)
		case utf8.RuneCountInString(o.Label) > MaxLabel:
			p.errf(kv["label"].Line, "%s: option label %q is %d characters; Zalo buttons allow %d", where, o.Label, utf8.RuneCountInString(o.Label), MaxLabel)
		}
		if o.None {
			nones++
			if st.Type != TypeMulti {
				p.errf(kv["none"].Line, "%s: none: true is only for multi steps", where)
			} else if nones > 1 {
				p.errf(kv["none"].Line, "%s: only one option can be none: true", where)
			}
		}
		st.Options = append(st.Options, o)
	}
}

// newTemplate compiles a prompt. A missing name renders as nothing rather than "<no value>".
func newTemplate(name, src string) (*template.Template, error) {
	return template.New(name).Option("missingkey=zero").Parse(src)
}

// kindOf is the value kind of a step's answer in conditions.
func kindOf(typ string) kind {
	switch typ {
	case TypeYesNo:
		return kBool
	case TypeNumber, TypeMoney:
		return kNum
	case TypeText, TypeDate, TypeChoice:
		return kStr
	case TypeMulti:
		return kList
	}
	return kNone
}

// scope returns the names a condition of step i may use: earlier steps, and step i itself
// for a check.
func (f *Flow) scope(i int, self bool) exprScope {
	return func(name string) (kind, []string, string) {
		j, ok := f.index[name]
		switch {
		case !ok:
			return 0, nil, fmt.Sprintf("unknown step %q", name)
		case j == i && !self:
			return 0, nil, fmt.Sprintf("step %q cannot depend on its own answer", name)
		case j > i:
			return 0, nil, fmt.Sprintf("step %q comes later, so it has no answer yet", name)
		}
		st := &f.Steps[j]
		k := kindOf(st.Type)
		if k == kNone {
			return 0, nil, fmt.Sprintf("step %q (%s) has no answer to test", name, st.Type)
		}
		var codes []string
		if st.Type == TypeChoice || st.Type == TypeMulti {
			codes = []string{}
			for _, o := range st.Options {
				codes = append(codes, o.Code)
			}
		}
		return k, codes, ""
	}
}

// Step returns the step with the given name, or nil.
func (f *Flow) Step(name string) *Step {
	if f.index != nil {
		if i, ok := f.index[name]; ok {
			return &f.Steps[i]
		}
		return nil
	}
	for i := range f.Steps {
		if f.Steps[i].Name == name {
			return &f.Steps[i]
		}
	}
	return nil
}

// ready returns f itself when it was built by Parse, or a compiled copy of a Flow built in
// code, so the engine never mutates a Flow that others may share.
func ready(f *Flow) *Flow {
	if f.index != nil {
		return f
	}
	g := *f
	g.index = map[string]int{}
	g.Steps = slices.Clone(f.Steps)
	for i := range g.Steps {
		g.index[g.Steps[i].Name] = i
	}
	for i := range g.Steps {
		st := &g.Steps[i]
		if st.prompt == nil {
			st.prompt, _ = newTemplate(st.Name, st.Prompt)
		}
		if st.When != "" && st.when == nil {
			st.when, _ = parseExpr(st.When, g.scope(i, false))
		}
		if st.Check != "" && st.check == nil {
			st.check, _ = parseExpr(st.Check, g.scope(i, true))
		}
		if st.match == nil {
			st.match = newMatcher(st.Options)
		}
	}
	return &g
}
