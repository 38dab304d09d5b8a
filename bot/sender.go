package bot

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"clubbot/bot/zalo"
	"clubbot/store"
)

// Window is Zalo's interaction window: consultation messages reach only users who
// interacted in the last 7 days (API.md §5.1).
const Window = 7 * 24 * time.Hour

// maxAttempts bounds retries of a retryable failure before it is recorded as failed; with
// the backoff below the last try comes about an hour after the first, past a Zalo outage
// of a few minutes but not forever.
const maxAttempts = 12

// Sender sends the outbox: replies before bulk sends, one user's messages in order.
type Sender struct {
	db     *store.DB
	client *zalo.Client
	log    zerolog.Logger
	m      *Metrics
	now    func() time.Time
	wake   chan struct{}
}

// NewSender builds the sender.
func NewSender(db *store.DB, client *zalo.Client, log zerolog.Logger, m *Metrics, now func() time.Time) *Sender {
	return &Sender{db: db, client: client, log: log, m: m, now: now, wake: make(chan struct{}, 1)}
}

// Wake tells the sender that new items are queued.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run sends until ctx is done; the send in hand is finished (its outcome recorded) first.
func (s *Sender) Run(ctx context.Context) {
	for {
		next, err := s.pass(ctx)
		if err != nil {
			s.log.Error().Err(err).Msg("outbox pass failed")
			next = s.now().Add(time.Second)
		}
		wait := time.Until(next)
		if next.IsZero() || wait > time.Second {
			wait = time.Second // re-check periodically for held items released by new messages
		}
		if wait < 0 {
			wait = 0
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// pass sends what is due and returns when the next deferred item falls due (zero if none).
func (s *Sender) pass(ctx context.Context) (time.Time, error) {
	items, err := s.db.Queued(200)
	if err != nil {
		return time.Time{}, err
	}
	var next time.Time
	blocked := map[string]bool{} // a user whose earlier message waits keeps the later ones waiting
	for _, it := range items {
		if ctx.Err() != nil {
			return next, nil
		}
		dest := it.UserID + "|" + it.GroupID
		if blocked[dest] {
			continue
		}
		now := s.now()
		if it.NextAttempt.After(now) {
			blocked[dest] = true
			if next.IsZero() || it.NextAttempt.Before(next) {
				next = it.NextAttempt
			}
			continue
		}
		if err := s.send(context.WithoutCancel(ctx), it); err != nil {
			return next, err
		}
		it2, err := s.item(it.ID)
		if err == nil && it2.Status == store.OutQueued {
			blocked[dest] = true
			if next.IsZero() || it2.NextAttempt.Before(next) {
				next = it2.NextAttempt
			}
		}
	}
	return next, nil
}

func (s *Sender) item(id uint64) (it store.OutboxItem, err error) {
	err = s.db.View(func(tx *store.Tx) error {
		it, err = tx.OutboxItem(id)
		return err
	})
	return it, err
}

// send makes one attempt and records its outcome.
func (s *Sender) send(ctx context.Context, it store.OutboxItem) error {
	var msg zalo.Message
	if err := json.Unmarshal(it.Message, &msg); err != nil {
		return s.db.UpdateOutbox(it.ID, func(o *store.OutboxItem) { o.Status, o.LastError = store.OutFailed, "bad message: "+err.Error() })
	}
	log := s.log.With().Uint64("out_id", it.ID).Str("user", it.UserID).Str("kind", it.Kind).Logger()
	if it.Proactive && it.UserID != "" {
		// Check the window from the bot's own record before spending a call (API.md §5.2).
		var last time.Time
		_ = s.db.View(func(tx *store.Tx) error {
			u, _, err := tx.User(it.UserID)
			last = u.LastInbound
			return err
		})
		if s.now().Sub(last) > Window {
			s.m.OutHeld.Inc()
			log.Info().Msg("held: outside the interaction window")
			return s.db.UpdateOutbox(it.ID, func(o *store.OutboxItem) { o.Status, o.LastCode = store.OutHeld, -230 })
		}
	}
	var res zalo.Result
	var err error
	if it.GroupID != "" {
		res, err = s.client.SendGroup(ctx, it.GroupID, msg)
	} else {
		res, err = s.client.SendCS(ctx, it.UserID, msg)
	}
	now := s.now()
	if err == nil {
		s.m.OutSent.WithLabelValues(it.Kind).Inc()
		log.Debug().Str("zalo_msg_id", res.MessageID).Msg("sent")
		return s.db.UpdateOutbox(it.ID, func(o *store.OutboxItem) {
			o.Status, o.ZaloMsgID, o.SentAt, o.Attempts = store.OutSent, res.MessageID, now, o.Attempts+1
		})
	}
	ze, ok := zalo.AsError(err)
	class, code := zalo.Retry, 0
	if ok {
		class, code = ze.Class, ze.Code
	} else if errors.Is(err, zalo.ErrInvalidMessage) || errors.Is(err, zalo.ErrTextTooLong) {
		class = zalo.Alert
	}
	codeLabel := strconv.Itoa(code)
	return s.db.UpdateOutbox(it.ID, func(o *store.OutboxItem) {
		o.Attempts++
		o.LastCode, o.LastError = code, err.Error()
		switch {
		case class == zalo.WindowClosed:
			s.m.OutHeld.Inc()
			o.Status = store.OutHeld
			log.Info().Int("code", code).Msg("held: recipient outside the window")
		case class == zalo.Fallback && (len(msg.Buttons) > 0 || msg.QuoteMsgID != ""):
			// Resend as plain text: the numbered choices are already in the text.
			msg.Buttons, msg.QuoteMsgID = nil, ""
			o.Message, _ = json.Marshal(msg)
			o.NextAttempt = now
			s.m.OutRetried.WithLabelValues(codeLabel).Inc()
			log.Info().Int("code", code).Msg("falling back to plain text")
		case (class == zalo.Retry || class == zalo.RefreshToken) && o.Attempts < maxAttempts:
			o.NextAttempt = now.Add(backoff(o.Attempts))
			s.m.OutRetried.WithLabelValues(codeLabel).Inc()
			log.Warn().Err(err).Int("attempt", o.Attempts).Msg("send failed; will retry")
		default:
			o.Status = store.OutFailed
			s.m.OutFailed.WithLabelValues(codeLabel).Inc()
			log.Error().Err(err).Int("code", code).Msg("send failed for good")
		}
	})
}

// backoff is the wait before attempt n+1: 1 s doubling to at most 10 minutes.
func backoff(attempts int) time.Duration {
	d := time.Second << min(attempts-1, 10)
	return min(d, 10*time.Minute)
}
