package club

import "strings"

// NormalizePhone turns a Vietnamese phone number as people type or Zalo shares it
// ("+84 912.345.678", "84912345678", "0912 345 678") into the national form "0912345678".
// ok is false when what remains is not a 10- or 11-digit number starting with 0.
func NormalizePhone(s string) (phone string, ok bool) {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && b.Len() == 0: // the country prefix, possibly written "(+84)"
		case r == ' ' || r == '.' || r == '-' || r == '(' || r == ')' || r == '\u00a0':
		default:
			return "", false
		}
	}
	d := b.String()
	if strings.HasPrefix(d, "84") && (len(d) == 11 || len(d) == 12) {
		d = "0" + d[2:]
	}
	if len(d) < 10 || len(d) > 11 || d[0] != '0' {
		return "", false
	}
	return d, true
}

// MaskPhone hides the middle of a phone number for logs ("0912***678").
func MaskPhone(p string) string {
	if len(p) < 7 {
		return "***"
	}
	return p[:4] + "***" + p[len(p)-3:]
}
