package bot

import (
	"context"
	"time"

	"clubbot/digest"
	"clubbot/store"
)

// Timing rules of the digest schedule.
const (
	// digestMaxSleep: the scheduler looks at the clock at least this often, so a clock
	// set forward or a machine that slept is noticed within the hour, not next week.
	digestMaxSleep = time.Hour
	// digestRetry: after a failed run (the store failed), try again this much later.
	digestRetry = 5 * time.Minute
	// digestLateAfter: a digest that goes out this long after its slot is late (the
	// server was down or stopped at the time).
	digestLateAfter = 15 * time.Minute
	// Late digests wait for the day: the readers are older people, and API.md §5.2 asks
	// for proactive messages between 07:00 and 20:00 (digest.timezone). An on-time digest
	// goes out when the schedule says, whatever the hour: that is the admin's choice.
	digestDayStart = 7
	digestDayEnd   = 20
)

// Run sends each week's digests at the scheduled time (digest.schedule in
// digest.timezone) until ctx is done. A digest missed while the server was down goes out
// late, once, when it comes back (in daytime); only the latest week is sent, not every
// missed one. The delivery log makes it once across restarts.
func (d *Digester) Run(ctx context.Context) {
	d.log.Info().Str("schedule", d.sched.Spec).Str("timezone", d.loc.String()).Msg("digest scheduler started")
	for {
		wait := d.tick(ctx)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// tick delivers the due week's digests that have not gone out, and returns how long to
// sleep before looking again.
func (d *Digester) tick(ctx context.Context) time.Duration {
	now := d.now()
	week, slot := d.sched.Due(now)
	pending, err := d.pending(week)
	if err != nil {
		d.log.Error().Err(err).Str("week", week.String()).Msg("digest schedule: read the delivery log")
		return digestRetry
	}
	if len(pending) > 0 {
		late := now.Sub(slot) > digestLateAfter
		if h := now.In(d.loc).Hour(); late && (h < digestDayStart || h >= digestDayEnd) {
			return min(untilMorning(now.In(d.loc)), digestMaxSleep)
		}
		trigger := "schedule"
		if late {
			trigger = "late"
			d.log.Warn().Str("week", week.String()).Time("slot", slot).Msg("digest missed its slot; sending it now")
		}
		if _, err := d.Deliver(ctx, week, pending, false, trigger); err != nil {
			if ctx.Err() == nil {
				d.log.Error().Err(err).Str("week", week.String()).Msg("digest run failed")
			}
			return digestRetry
		}
	}
	next := d.sched.Slot(week.Next())
	return max(0, min(next.Sub(d.now()), digestMaxSleep))
}

// pending returns the scopes whose digest of week w is not in the delivery log.
func (d *Digester) pending(w digest.Week) ([]string, error) {
	var out []string
	err := d.db.View(func(tx *store.Tx) error {
		for _, s := range allScopes(d.provinces) {
			_, done, err := tx.DigestDelivery(scopeKey(s), w.String())
			if err != nil {
				return err
			}
			if !done {
				out = append(out, s)
			}
		}
		return nil
	})
	return out, err
}

// untilMorning is the time from t to the next digestDayStart o'clock in t's zone.
func untilMorning(t time.Time) time.Duration {
	y, m, dd := t.Date()
	next := time.Date(y, m, dd, digestDayStart, 0, 0, 0, t.Location())
	if !next.After(t) {
		next = time.Date(y, m, dd+1, digestDayStart, 0, 0, 0, t.Location())
	}
	return next.Sub(t)
}
