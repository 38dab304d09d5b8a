package flows

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestZZPlay(t *testing.T) {
	src, _ := os.ReadFile(os.Getenv("PLAYFLOW"))
	f, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.FixedZone("ICT", 7*3600))
	s, r := Start(f, 1, map[string]string{"club": "Hoa Sen"}, now)
	fmt.Printf("START -> %s\n", show(r))
	for _, line := range strings.Split(os.Getenv("PLAYIN"), "|") {
		now = now.Add(time.Minute)
		var eff []Effect
		switch {
		case strings.HasPrefix(line, "@wait "):
			d, _ := parseDuration(line[6:])
			now = now.Add(d)
			continue
		case line == "@tick":
			var k string
			s, r, k = Tick(f, s, now)
			fmt.Printf("TICK(%s) -> %s\n", k, show(r))
			continue
		case line == "@resume":
			s, r = Offer(f, s, now)
		case strings.HasPrefix(line, "@photo "):
			s, r, eff = Advance(f, s, Input{Photos: []string{line[7:]}}, now)
		case strings.HasPrefix(line, "@loc "):
			a, b, _ := strings.Cut(line[5:], ",")
			s, r, eff = Advance(f, s, Input{Lat: a, Lng: b}, now)
		default:
			s, r, eff = Advance(f, s, Input{Text: line}, now)
		}
		fmt.Printf("USER %q [%s/%s %v] -> %s\n", line, s.Step, s.Status, eff, show(r))
	}
}

func show(r []Reply) string {
	var b strings.Builder
	for _, x := range r {
		b.WriteString(strings.ReplaceAll(x.Text, "\n", "\n   "))
		for _, bt := range x.Buttons {
			fmt.Fprintf(&b, " [%s]", bt.Title)
		}
	}
	return b.String()
}
