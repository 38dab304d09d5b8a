package bot

import (
	"math"
	"time"
)

// tokenBucket is a token bucket on an injected clock: rate tokens a second, at most burst
// saved up. It is used by one goroutine (the sender's dispatcher) and needs no lock.
type tokenBucket struct {
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newTokenBucket(rate float64, burst int, now time.Time) *tokenBucket {
	b := float64(max(burst, 1))
	return &tokenBucket{rate: rate, burst: b, tokens: b, last: now}
}

func (b *tokenBucket) refill(now time.Time) {
	if d := now.Sub(b.last); d > 0 {
		b.tokens = math.Min(b.burst, b.tokens+d.Seconds()*b.rate)
		b.last = now
	}
}

// ready reports whether a token is available at now and, if not, when one will be.
func (b *tokenBucket) ready(now time.Time) (bool, time.Time) {
	b.refill(now)
	if b.tokens >= 1 {
		return true, now
	}
	wait := time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
	return false, now.Add(max(wait, time.Millisecond))
}

func (b *tokenBucket) take(now time.Time) {
	b.refill(now)
	b.tokens--
}

// sendLimiter paces calls to the OA API (API.md §9): every call takes a token from the
// OA-wide bucket, and bulk sends (digests, reminders) also from a slower bucket of their
// own. Replies are therefore limited only by the OA-wide rate, and bulk sends can never
// use more than their share of it: a digest run does not starve the conversations.
type sendLimiter struct {
	all, bulk *tokenBucket
}

// ready reports whether an item of the given priority may be sent at now; if not, when
// to look again.
func (l *sendLimiter) ready(bulk bool, now time.Time) (bool, time.Time) {
	ok, at := l.all.ready(now)
	if !ok || !bulk {
		return ok, at
	}
	return l.bulk.ready(now)
}

func (l *sendLimiter) take(bulk bool, now time.Time) {
	l.all.take(now)
	if bulk {
		l.bulk.take(now)
	}
}
