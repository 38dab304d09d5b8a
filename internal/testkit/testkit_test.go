package testkit

import (
	"testing"
	"time"
)

func TestClockNeverMovesBack(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	c := NewClock(t0)
	c.Add(time.Hour)
	c.Set(t0) // earlier: ignored
	if got := c.Now(); !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("Now = %v, want %v", got, t0.Add(time.Hour))
	}
	var b Buffer
	b.Write([]byte("abcdef"))
	if b.String() != "abcdef" || b.Tail(2) != "…ef" || b.Tail(10) != "abcdef" {
		t.Errorf("buffer: %q %q", b.String(), b.Tail(2))
	}
}
