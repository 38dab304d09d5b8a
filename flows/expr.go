package flows

import (
	"fmt"
	"strconv"
	"strings"
)

// The condition language of `when:` and `check:` is deliberately small and safe: it has no
// function calls but contains(), no loops and no access to anything but earlier answers.
//
//	expr  = or
//	or    = and { "||" and }
//	and   = unary { "&&" unary }
//	unary = "!" unary | cmp
//	cmp   = prim [ ("=="|"!="|"<"|"<="|">"|">=") prim ]
//	prim  = number | string | true | false | ident | contains(ident, string) | "(" expr ")"
//
// Identifiers are step names. An unanswered or skipped step has no value: every comparison
// with it is false except != , which is true, so `attendance_total > 0` is false when the
// question was skipped or never asked.

// kind is the static type of a value in a condition.
type kind int

const (
	kNone kind = iota
	kBool
	kNum
	kStr
	kList
)

// String names the kind in messages to admins.
func (k kind) String() string {
	return [...]string{"nothing", "yes/no", "number", "text", "list"}[k]
}

// value is the runtime value of an expression. ok is false for a missing answer.
type value struct {
	k    kind
	ok   bool
	b    bool
	n    float64
	s    string
	list []string
}

// expr is a parsed condition.
type expr interface {
	eval(env func(name string) value) value
}

type (
	litExpr   struct{ v value }
	identExpr struct{ name string }
	notExpr   struct{ x expr }
	logicExpr struct {
		and  bool
		l, r expr
	}
	cmpExpr struct {
		op   string
		l, r expr
	}
	containsExpr struct {
		list string
		code string
	}
)

func (e litExpr) eval(func(string) value) value       { return e.v }
func (e identExpr) eval(env func(string) value) value { return env(e.name) }

func (e notExpr) eval(env func(string) value) value {
	return value{k: kBool, ok: true, b: !truth(e.x.eval(env))}
}

func (e logicExpr) eval(env func(string) value) value {
	l := truth(e.l.eval(env))
	if e.and && !l {
		return value{k: kBool, ok: true, b: false}
	}
	if !e.and && l {
		return value{k: kBool, ok: true, b: true}
	}
	return value{k: kBool, ok: true, b: truth(e.r.eval(env))}
}

func (e cmpExpr) eval(env func(string) value) value {
	l, r := e.l.eval(env), e.r.eval(env)
	res := func(b bool) value { return value{k: kBool, ok: true, b: b} }
	if !l.ok || !r.ok || l.k != r.k {
		return res(e.op == "!=")
	}
	var c int
	switch l.k {
	case kBool:
		if l.b != r.b {
			c = 1
		}
		if e.op != "==" && e.op != "!=" {
			return res(false)
		}
	case kNum:
		switch {
		case l.n < r.n:
			c = -1
		case l.n > r.n:
			c = 1
		}
	case kStr:
		c = strings.Compare(l.s, r.s)
	default:
		return res(e.op == "!=")
	}
	switch e.op {
	case "==":
		return res(c == 0)
	case "!=":
		return res(c != 0)
	case "<":
		return res(c < 0)
	case "<=":
		return res(c <= 0)
	case ">":
		return res(c > 0)
	default: // ">="
		return res(c >= 0)
	}
}

func (e containsExpr) eval(env func(string) value) value {
	v := env(e.list)
	for _, c := range v.list {
		if c == e.code {
			return value{k: kBool, ok: true, b: true}
		}
	}
	return value{k: kBool, ok: true, b: false}
}

// truth is the truth of a value used as a condition: a true yes/no, a non-zero number,
// a non-empty text or list. Missing answers are false.
func truth(v value) bool {
	if !v.ok {
		return false
	}
	switch v.k {
	case kBool:
		return v.b
	case kNum:
		return v.n != 0
	case kStr:
		return v.s != ""
	case kList:
		return len(v.list) > 0
	}
	return false
}

// exprScope tells the parser which names exist and what kind they are; it returns
// ok=false for an unknown name or a reason when the name cannot be used here.
type exprScope func(name string) (k kind, codes []string, problem string)

// token of the condition language.
type token struct {
	t   string // "id", "num", "str", "op", "eof"
	s   string
	pos int
}

func lex(src string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '\'':
			j := i + 1
			for j < len(src) && src[j] != c {
				j++
			}
			if j >= len(src) {
				return nil, fmt.Errorf("unterminated string at column %d", i+1)
			}
			toks = append(toks, token{"str", src[i+1 : j], i})
			i = j + 1
		case c >= '0' && c <= '9' || c == '-' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9' && !lastIsOperand(toks):
			j := i + 1
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.') {
				j++
			}
			toks = append(toks, token{"num", src[i:j], i})
			i = j
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i + 1
			for j < len(src) && (src[j] == '_' || src[j] >= 'a' && src[j] <= 'z' || src[j] >= 'A' && src[j] <= 'Z' || src[j] >= '0' && src[j] <= '9') {
				j++
			}
			toks = append(toks, token{"id", src[i:j], i})
			i = j
		default:
			two := ""
			if i+1 < len(src) {
				two = src[i : i+2]
			}
			switch two {
			case "==", "!=", "<=", ">=", "&&", "||":
				toks = append(toks, token{"op", two, i})
				i += 2
				continue
			}
			switch c {
			case '<', '>', '!', '(', ')', ',':
				toks = append(toks, token{"op", string(c), i})
				i++
			case '=':
				return nil, fmt.Errorf("use == to compare, not = (column %d)", i+1)
			default:
				return nil, fmt.Errorf("unexpected character %q at column %d", c, i+1)
			}
		}
	}
	return append(toks, token{"eof", "", len(src)}), nil
}

func lastIsOperand(toks []token) bool {
	if len(toks) == 0 {
		return false
	}
	t := toks[len(toks)-1]
	return t.t == "id" || t.t == "num" || t.t == "str" || t.t == "op" && t.s == ")"
}

type exprParser struct {
	toks  []token
	i     int
	scope exprScope
}

// parseExpr parses a condition and checks every name and type against scope.
func parseExpr(src string, scope exprScope) (expr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("empty condition")
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &exprParser{toks: toks, scope: scope}
	e, k, err := p.or()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.t != "eof" {
		return nil, fmt.Errorf("unexpected %q at column %d", t.s, t.pos+1)
	}
	if k != kBool {
		// A bare number or text as a condition is almost always a mistake (`attendance_total`
		// instead of `attendance_total > 0`); require an explicit comparison.
		return nil, fmt.Errorf("a condition must be a comparison (true/false), not a %s", k)
	}
	return e, nil
}

func (p *exprParser) peek() token { return p.toks[p.i] }
func (p *exprParser) next() token {
	t := p.toks[p.i]
	if p.i < len(p.toks)-1 {
		p.i++
	}
	return t
}

func (p *exprParser) or() (expr, kind, error) {
	l, k, err := p.and()
	if err != nil {
		return nil, 0, err
	}
	for p.peek().t == "op" && p.peek().s == "||" {
		p.next()
		r, k2, err := p.and()
		if err != nil {
			return nil, 0, err
		}
		if k != kBool || k2 != kBool {
			return nil, 0, fmt.Errorf("|| needs true/false conditions on both sides")
		}
		l = logicExpr{and: false, l: l, r: r}
	}
	return l, k, nil
}

func (p *exprParser) and() (expr, kind, error) {
	l, k, err := p.unary()
	if err != nil {
		return nil, 0, err
	}
	for p.peek().t == "op" && p.peek().s == "&&" {
		p.next()
		r, k2, err := p.unary()
		if err != nil {
			return nil, 0, err
		}
		if k != kBool || k2 != kBool {
			return nil, 0, fmt.Errorf("&& needs true/false conditions on both sides")
		}
		l = logicExpr{and: true, l: l, r: r}
	}
	return l, k, nil
}

func (p *exprParser) unary() (expr, kind, error) {
	if t := p.peek(); t.t == "op" && t.s == "!" {
		p.next()
		x, k, err := p.unary()
		if err != nil {
			return nil, 0, err
		}
		if k != kBool {
			return nil, 0, fmt.Errorf("! needs a true/false condition (column %d)", t.pos+1)
		}
		return notExpr{x}, kBool, nil
	}
	return p.cmp()
}

func (p *exprParser) cmp() (expr, kind, error) {
	l, lk, lcodes, err := p.prim()
	if err != nil {
		return nil, 0, err
	}
	t := p.peek()
	if t.t != "op" {
		return l, lk, nil
	}
	switch t.s {
	case "==", "!=", "<", "<=", ">", ">=":
	default:
		return l, lk, nil
	}
	p.next()
	r, rk, rcodes, err := p.prim()
	if err != nil {
		return nil, 0, err
	}
	if lk == kList || rk == kList {
		return nil, 0, fmt.Errorf("use contains(step, \"code\") for a multi answer, not %s", t.s)
	}
	if lk != rk {
		return nil, 0, fmt.Errorf("cannot compare a %s with a %s (column %d)", lk, rk, t.pos+1)
	}
	if lk == kBool && t.s != "==" && t.s != "!=" {
		return nil, 0, fmt.Errorf("yes/no answers compare only with == or != (column %d)", t.pos+1)
	}
	// A choice answer compared with a literal must name one of its option codes.
	if err := checkCode(l, lcodes, r); err != nil {
		return nil, 0, err
	}
	if err := checkCode(r, rcodes, l); err != nil {
		return nil, 0, err
	}
	return cmpExpr{op: t.s, l: l, r: r}, kBool, nil
}

func checkCode(side expr, codes []string, other expr) error {
	lit, ok := other.(litExpr)
	if codes == nil || !ok || lit.v.k != kStr {
		return nil
	}
	for _, c := range codes {
		if c == lit.v.s {
			return nil
		}
	}
	return fmt.Errorf("%q is not an option code of %s (codes: %s)", lit.v.s, side.(identExpr).name, strings.Join(codes, ", "))
}

func (p *exprParser) prim() (expr, kind, []string, error) {
	t := p.next()
	switch t.t {
	case "num":
		n, err := strconv.ParseFloat(t.s, 64)
		if err != nil {
			return nil, 0, nil, fmt.Errorf("bad number %q", t.s)
		}
		return litExpr{value{k: kNum, ok: true, n: n}}, kNum, nil, nil
	case "str":
		return litExpr{value{k: kStr, ok: true, s: t.s}}, kStr, nil, nil
	case "id":
		switch t.s {
		case "true", "false":
			return litExpr{value{k: kBool, ok: true, b: t.s == "true"}}, kBool, nil, nil
		case "contains":
			return p.contains(t)
		}
		k, codes, problem := p.scope(t.s)
		if problem != "" {
			return nil, 0, nil, fmt.Errorf("%s", problem)
		}
		return identExpr{t.s}, k, codes, nil
	case "op":
		if t.s == "(" {
			e, k, err := p.or()
			if err != nil {
				return nil, 0, nil, err
			}
			if c := p.next(); c.s != ")" || c.t != "op" {
				return nil, 0, nil, fmt.Errorf("missing ) (column %d)", c.pos+1)
			}
			return e, k, nil, nil
		}
	case "eof":
		return nil, 0, nil, fmt.Errorf("condition ends too early")
	}
	return nil, 0, nil, fmt.Errorf("unexpected %q at column %d", t.s, t.pos+1)
}

func (p *exprParser) contains(at token) (expr, kind, []string, error) {
	bad := fmt.Errorf(`write contains(step, "code") (column %d)`, at.pos+1)
	if t := p.next(); t.t != "op" || t.s != "(" {
		return nil, 0, nil, bad
	}
	id := p.next()
	if id.t != "id" {
		return nil, 0, nil, bad
	}
	if t := p.next(); t.t != "op" || t.s != "," {
		return nil, 0, nil, bad
	}
	code := p.next()
	if code.t != "str" {
		return nil, 0, nil, bad
	}
	if t := p.next(); t.t != "op" || t.s != ")" {
		return nil, 0, nil, bad
	}
	k, codes, problem := p.scope(id.s)
	if problem != "" {
		return nil, 0, nil, fmt.Errorf("%s", problem)
	}
	if k != kList {
		return nil, 0, nil, fmt.Errorf("contains works only on a multi step; %s is a %s", id.s, k)
	}
	if err := checkCode(identExpr{id.s}, codes, litExpr{value{k: kStr, ok: true, s: code.s}}); err != nil {
		return nil, 0, nil, err
	}
	return containsExpr{list: id.s, code: code.s}, kBool, nil, nil
}
