package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"clubbot/club"
	"clubbot/flows"
	"clubbot/store"
)

// Conversation timers (ISSUE 4 §6). A conversation idle for its flow's nudge_after (default
// 30 minutes) gets one nudge — the offer to continue where the user was, start again or
// stop — if the user is inside the 7-day interaction window (API.md §5.1); outside it
// nothing is sent (a held nudge delivered days later would be noise), and the user gets the
// same offer when they next write. At expire_after (default 24 hours) the conversation is
// closed without a message, at any hour: the user hears it was closed, and that nothing was
// sent, when they next write (flows.Tick, flows.Advance). Closed conversations are kept for
// expiredKeep so that answer can be given, then deleted.
//
// The rule itself is the engine's (flows.Due, flows.Tick: pure, tested as transcripts);
// this file only finds the sessions it applies to and stores the outcome.

// timerEvery is how often the timer looks: a nudge is at most this late.
const timerEvery = time.Minute

// expiredKeep is how long a closed conversation is kept after its last answer plus
// expire_after: the interaction window, the longest the user can still be answered.
const expiredKeep = Window

// timerChunk bounds how many sessions one write transaction changes, so the worker never
// waits long behind the timer.
const timerChunk = 200

// Timers applies the timeout rule to stored conversations once a minute.
type Timers struct {
	DB      *store.DB
	Flows   *FlowSet
	Conv    *Conversations // its Buttons setting shapes the nudge
	Now     func() time.Time
	Every   time.Duration // default timerEvery
	Log     zerolog.Logger
	Metrics *Metrics
	Wake    func() // wakes the sender after nudges were queued
}

// TimerCounts says what one pass did.
type TimerCounts struct {
	Nudged  int // nudges queued
	Quiet   int // nudges due but not sent: outside the interaction window, or unfollowed
	Expired int // conversations closed
	Deleted int // closed conversations removed after expiredKeep
}

// newTimers wires the conversation timer of b.
func (b *Bot) newTimers() *Timers {
	return &Timers{DB: b.o.DB, Flows: b.flows, Conv: b.conv, Now: b.o.Now, Log: b.o.Log, Metrics: b.m,
		Wake: func() { b.sender.Wake() }}
}

// Run runs a pass at start (catching up on a stop) and then every Every, until ctx is done.
func (t *Timers) Run(ctx context.Context) {
	every := t.Every
	if every <= 0 {
		every = timerEvery
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if _, err := t.RunOnce(t.Now()); err != nil {
			t.Log.Error().Err(err).Msg("conversation timers")
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// RunOnce finds the conversations the timeout rule applies to at now and applies it. Each
// nudge is queued in the transaction that records it in the session, so a nudge is sent
// once, even across restarts.
func (t *Timers) RunOnce(now time.Time) (TimerCounts, error) {
	var counts TimerCounts
	var due []string
	err := t.DB.View(func(tx *store.Tx) error {
		return tx.ScanSessions(func(uid string, s flows.Session) bool {
			if t.action(tx, s, now) != "" {
				due = append(due, uid)
			}
			return true
		})
	})
	if err != nil {
		return counts, fmt.Errorf("scan sessions: %w", err)
	}
	for len(due) > 0 {
		chunk := due[:min(len(due), timerChunk)]
		due = due[len(chunk):]
		var c TimerCounts
		err := t.DB.Update(func(tx *store.Tx) error {
			c = TimerCounts{}
			for _, uid := range chunk {
				if err := t.apply(tx, uid, now, &c); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return counts, fmt.Errorf("conversation timers: %w", err)
		}
		counts.Nudged += c.Nudged
		counts.Quiet += c.Quiet
		counts.Expired += c.Expired
		counts.Deleted += c.Deleted
	}
	if counts != (TimerCounts{}) {
		t.Log.Info().Int("nudged", counts.Nudged).Int("not_nudged", counts.Quiet).Int("expired", counts.Expired).
			Int("deleted", counts.Deleted).Msg("conversation timers")
	}
	if counts.Nudged > 0 && t.Wake != nil {
		t.Wake()
	}
	return counts, nil
}

// action is what the timer owes s at now: a flows.Timeout* kind, "delete", or "".
func (t *Timers) action(tx *store.Tx, s flows.Session, now time.Time) string {
	f, err := t.Flows.Revision(tx, s.FlowID, s.Revision)
	if err != nil || f == nil {
		return "" // a session of a flow the store does not have: the worker reports it
	}
	if s.Status == flows.StatusExpired && now.Sub(s.UpdatedAt) >= f.ExpireAfter+expiredKeep {
		return "delete"
	}
	return flows.Due(f, s, now)
}

// apply re-reads one user's session inside the write transaction (the user may have written
// since the scan) and applies what is still due.
func (t *Timers) apply(tx *store.Tx, uid string, now time.Time, c *TimerCounts) error {
	s, ok, err := tx.Session(uid)
	if err != nil || !ok {
		return err
	}
	switch t.action(tx, s, now) {
	case "delete":
		c.Deleted++
		return tx.DeleteSession(uid)
	case flows.TimeoutExpire, flows.TimeoutNudge:
	default:
		return nil
	}
	f, err := t.Flows.Revision(tx, s.FlowID, s.Revision)
	if err != nil {
		return err
	}
	ns, replies, kind := flows.Tick(f, s, now)
	log := t.Log.With().Str("user", uid).Str("flow", s.FlowID).Int("rev", s.Revision).Str("step", s.Step).Logger()
	if kind == flows.TimeoutExpire {
		c.Expired++
		log.Info().Msg("conversation expired")
		return tx.PutSession(uid, ns)
	}
	u, _, err := tx.User(uid)
	if err != nil {
		return err
	}
	if !canNudge(u, now) {
		// Recorded as done for this idle spell all the same, so it is not looked at again
		// every minute; the user gets the offer when they come back (flows.Advance).
		ns.Offering = false
		c.Quiet++
		log.Info().Msg("nudge not sent: outside the interaction window")
		return tx.PutSession(uid, ns)
	}
	for _, r := range replies {
		m := textMessage(r, t.Conv != nil && t.Conv.Buttons)
		item := store.OutboxItem{UserID: uid, Kind: "nudge", Priority: store.PriorityReply, Proactive: true,
			CreatedAt: now, Ref: "nudge/" + s.FlowID}
		if _, err := EnqueueMessage(tx, item, m, t.Metrics); err != nil {
			return err
		}
	}
	c.Nudged++
	log.Info().Msg("conversation nudged")
	return tx.PutSession(uid, ns)
}

// canNudge reports whether a proactive message may be sent to u now: following the OA and
// inside the interaction window (API.md §5.1).
func canNudge(u club.User, now time.Time) bool {
	return u.Following && !u.LastInbound.IsZero() && now.Sub(u.LastInbound) <= Window
}

// textMessage is one engine reply as a Zalo message, with its buttons when they are on.
func textMessage(r flows.Reply, buttons bool) OutMessage {
	o := &outbuf{}
	o.replies([]flows.Reply{r}, buttons)
	return OutMessage{Message: o.msgs[0]}
}

// resume handles a message to a conversation that time or the user put aside, before the
// engine sees it: a conversation past its expiry (closed by the timer, or found so now, if
// the timer had not run yet) is closed with a short answer — or, if the message asks for
// a report, a new one starts; "báo cáo" typed during a conversation gets the offer to
// continue or start again (flows.Offer) instead of being taken as an answer. It returns the
// session as it now stands and whether the message was handled.
func (cv *Conversations) resume(tx *store.Tx, u *club.User, s flows.Session, in flows.Input, out *outbuf, now time.Time, log zerolog.Logger) (flows.Session, bool, error) {
	if s.Status != flows.StatusActive && s.Status != flows.StatusExpired {
		return s, false, nil
	}
	f, err := cv.Flows.Revision(tx, s.FlowID, s.Revision)
	if err != nil {
		return s, false, err
	}
	if flows.Due(f, s, now) == flows.TimeoutExpire {
		s, _, _ = flows.Tick(f, s, now)
	}
	cmd, _ := command(in.Text)
	switch s.Status {
	case flows.StatusExpired:
		if err := tx.DeleteSession(u.ID); err != nil {
			return s, true, err
		}
		log.Info().Str("flow", s.FlowID).Msg("expired conversation closed")
		if cmd == "report" {
			return s, false, nil // a new report starts below
		}
		_, replies, _ := flows.Advance(f, s, in, now)
		out.replies(replies, cv.Buttons)
		return s, true, nil
	case flows.StatusActive:
		if cmd == "report" && in.Text != "" {
			ns, replies := flows.Offer(f, s, now)
			out.replies(replies, cv.Buttons)
			return ns, true, tx.PutSession(u.ID, ns)
		}
	}
	return s, false, nil
}
