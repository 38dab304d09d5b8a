package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"clubbot/bot/zalo"
	"clubbot/store"
)

// Window is Zalo's interaction window: consultation messages reach only users who
// interacted in the last 7 days (API.md §5.1).
const Window = 7 * 24 * time.Hour

// windowCode is the code recorded on an item held by the bot's own window check: the code
// Zalo would have answered (API.md §10, -230).
const windowCode = -230

// SenderConfig tunes the sender. Zero values get the defaults named on each field.
type SenderConfig struct {
	// Workers is how many sends may be in flight at once (default 4). One destination
	// (user or group) never has more than one, so its messages keep their order.
	Workers int
	// Rate and Burst pace every call to the OA API, replies included (default 40/s, burst
	// 20). API.md §9 reports 4,000 calls a minute per app; this stays well below it.
	Rate  float64
	Burst int
	// BulkRate and BulkBurst pace bulk sends (digests, reminders) on top of Rate (default
	// 10/s, burst 5, API.md §9), so a digest run leaves room for conversations.
	BulkRate  float64
	BulkBurst int
	// BackoffBase and BackoffMax shape the wait before a retry: BackoffBase doubling per
	// consecutive failure, at most BackoffMax (defaults 1 s and 5 min).
	BackoffBase, BackoffMax time.Duration
	// RetryFor is how long after its first attempt a retryable failure is still retried
	// (default 1 h): past a Zalo outage of minutes, not forever. Sends that wait for an
	// admin to re-authorise the app are not limited by it.
	RetryFor time.Duration
	// Poll is the longest the sender sleeps without looking at the queue (default 1 s).
	// Wake-ups normally come from the worker; the poll covers an injected clock that moves
	// on its own and items released by another transaction.
	Poll time.Duration
	// ScanLimit bounds how many queue entries one pass examines (default 20,000).
	ScanLimit int
	// Loc is the time zone of the "not at night" rule (-234 is retried after 06:00 there).
	Loc *time.Location
}

func (c *SenderConfig) defaults() {
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.Rate <= 0 {
		c.Rate = 40
	}
	if c.Burst <= 0 {
		c.Burst = 20
	}
	if c.BulkRate <= 0 {
		c.BulkRate = 10
	}
	if c.BulkBurst <= 0 {
		c.BulkBurst = 5
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = 5 * time.Minute
	}
	if c.RetryFor <= 0 {
		c.RetryFor = time.Hour
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.ScanLimit <= 0 {
		c.ScanLimit = 20000
	}
	if c.Loc == nil {
		c.Loc = time.UTC
	}
}

// Sender sends the outbox through the Zalo OA API following API.md §5 and §10: a rate
// limit, backoff retries, a plain-text fallback for refused templates, held messages for
// recipients outside the interaction window, and a final failure recorded with its code.
// Replies go ahead of bulk sends; one destination's messages keep their order.
//
// Exactly-once: an item is marked in flight (a committed transaction) before its call and
// its outcome is recorded after it; a sent item leaves the queue in that record and is
// never picked again. If the process dies between Zalo's answer and the record, the item
// is still queued and in flight at the next start and is sent again: that resend is the
// only way a user can get a message twice. It is logged and counted
// (clubbot_outbox_resent_after_crash_total).
type Sender struct {
	db     *store.DB
	client *zalo.Client
	log    zerolog.Logger
	m      *Metrics
	now    func() time.Time
	cfg    SenderConfig
	lim    sendLimiter
	wake   chan struct{}

	// busy maps a destination to the item in flight for it; dispatcher goroutine only.
	busy map[string]uint64
}

// NewSender builds the sender.
func NewSender(db *store.DB, client *zalo.Client, log zerolog.Logger, m *Metrics, now func() time.Time, cfg SenderConfig) *Sender {
	cfg.defaults()
	t := now()
	return &Sender{db: db, client: client, log: log.With().Str("component", "sender").Logger(), m: m, now: now, cfg: cfg,
		lim:  sendLimiter{all: newTokenBucket(cfg.Rate, cfg.Burst, t), bulk: newTokenBucket(cfg.BulkRate, cfg.BulkBurst, t)},
		wake: make(chan struct{}, 1), busy: map[string]uint64{}}
}

// Wake tells the sender that items were queued or released.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// sendJob is one attempt handed to a send goroutine.
type sendJob struct {
	item      store.OutboxItem
	msg       OutMessage
	noButtons bool // send without buttons: a group, or Zalo refused them before
}

// sendResult is the outcome of one attempt.
type sendResult struct {
	job      sendJob
	msg      OutMessage // the message with any new attachment id
	uploaded bool
	res      zalo.Result
	err      error
}

// Run sends until ctx is done. Sends in flight are finished and their outcomes recorded
// before it returns (each call is bounded by the HTTP client's timeout).
func (s *Sender) Run(ctx context.Context) {
	if err := s.recoverInFlight(); err != nil {
		s.log.Error().Err(err).Msg("outbox: checking items in flight at the last stop failed")
	}
	jobs := make(chan sendJob)
	// Buffered for every worker: a finished send never waits for the dispatcher.
	results := make(chan sendResult, s.cfg.Workers)
	sendCtx := context.WithoutCancel(ctx)
	var wg sync.WaitGroup
	for range s.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				results <- s.attempt(sendCtx, j)
			}
		}()
	}
	defer func() {
		close(jobs)
		wg.Wait()
	}()

	var done []sendResult
	timer := time.NewTimer(0)
	defer timer.Stop()
	storeErrors := 0
	for {
	collect:
		for {
			select {
			case r := <-results:
				done = append(done, r)
			default:
				break collect
			}
		}
		stopping := ctx.Err() != nil
		picks, next, err := s.step(done, !stopping)
		if err != nil {
			storeErrors++
			s.log.Error().Err(err).Int("outcomes", len(done)).Msg("outbox: store transaction failed; will retry")
			if stopping && storeErrors > 20 {
				// Give up on recording: the items stay in flight and are sent again at the
				// next start (the documented duplicate case).
				return
			}
			next = s.now().Add(min(time.Duration(storeErrors)*100*time.Millisecond, 5*time.Second))
		} else {
			storeErrors = 0
			done = nil
			for _, j := range picks {
				jobs <- j // a worker is free for each pick: picks ≤ Workers − busy
			}
		}
		if stopping && len(s.busy) == 0 && len(done) == 0 {
			return
		}
		wait := s.cfg.Poll
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(s.now()), time.Millisecond))
		}
		timer.Reset(wait)
		var ctxDone <-chan struct{}
		if !stopping {
			ctxDone = ctx.Done()
		}
		select {
		case <-ctxDone:
		case r := <-results:
			done = append(done, r)
		case <-s.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// step records finished attempts and, if dispatch, picks the next items to send, in one
// transaction (one commit for the whole group). It returns the picks and when the next
// deferred item (or rate-limit token) falls due.
func (s *Sender) step(done []sendResult, dispatch bool) ([]sendJob, time.Time, error) {
	now := s.now()
	busy := make(map[string]bool, len(s.busy))
	for d := range s.busy {
		busy[d] = true
	}
	for _, r := range done {
		delete(busy, r.job.item.Dest())
	}
	free := s.cfg.Workers - len(busy)
	if len(done) == 0 {
		if !dispatch || free <= 0 {
			return nil, time.Time{}, nil
		}
		// Look before writing: an idle pass must not cost a commit.
		var due bool
		var next time.Time
		if err := s.db.View(func(tx *store.Tx) error {
			var err error
			due, next, err = s.anyDue(tx, now, busy)
			return err
		}); err != nil || !due {
			return nil, next, err
		}
	}
	var picks []sendJob
	var next time.Time
	var after []func() // logs and metrics, once the transaction is committed
	err := s.db.Update(func(tx *store.Tx) error {
		picks, next, after = nil, time.Time{}, nil
		for _, r := range done {
			fx, err := s.record(tx, r, now)
			if err != nil {
				return err
			}
			after = append(after, fx...)
		}
		if dispatch && free > 0 {
			var fx []func()
			var err error
			picks, next, fx, err = s.plan(tx, now, busy, free)
			if err != nil {
				return err
			}
			after = append(after, fx...)
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	for _, f := range after {
		f()
	}
	for _, r := range done {
		delete(s.busy, r.job.item.Dest())
	}
	for _, j := range picks {
		s.busy[j.item.Dest()] = j.item.ID
	}
	return picks, next, nil
}

// queueKey identifies one destination's items of one priority: the unit kept in order.
type queueKey struct {
	dest string
	prio int
}

// anyDue reports whether some queued item could be sent now, and otherwise when the next
// one falls due.
func (s *Sender) anyDue(tx *store.Tx, now time.Time, busy map[string]bool) (due bool, next time.Time, err error) {
	// While the OA-wide bucket is empty nothing can go: no need to read the queue. This
	// keeps wake-ups cheap while a backlog drains at the rate limit.
	if ok, at := s.lim.all.ready(now); !ok {
		return false, at, nil
	}
	seen := map[queueKey]bool{}
	n := 0
	err = tx.ScanQueue(func(e store.QueueEntry) bool {
		n++
		if n > s.cfg.ScanLimit {
			return false
		}
		k := queueKey{e.Dest, e.Priority}
		if busy[e.Dest] || seen[k] {
			return true
		}
		seen[k] = true
		if e.NextAttempt.After(now) {
			next = earliest(next, e.NextAttempt)
			return true
		}
		ok, at := s.lim.ready(e.Priority != store.PriorityReply, now)
		if !ok {
			next = earliest(next, at)
			return true
		}
		due = true
		return false
	})
	return due, next, err
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

// plan picks up to free items to send now, in queue order (replies first, then by id):
// the first item of each destination and priority that is due, whose destination has
// nothing in flight, within the rate limit. A proactive item whose recipient is outside
// the interaction window by the bot's own record is held without a call (API.md §5.2).
// Each pick is marked in flight in tx.
func (s *Sender) plan(tx *store.Tx, now time.Time, busy map[string]bool, free int) ([]sendJob, time.Time, []func(), error) {
	var next time.Time
	if ok, at := s.lim.all.ready(now); !ok {
		return nil, at, nil, nil
	}
	var cands []store.QueueEntry
	seen := map[queueKey]bool{}
	n := 0
	// Candidates first: the queue must not change under its own cursor. Enough of them
	// for the free workers, with room for some to be held or limited; a deeper backlog
	// waits for the next pass.
	enough := 4*free + 16
	err := tx.ScanQueue(func(e store.QueueEntry) bool {
		n++
		if n > s.cfg.ScanLimit || len(cands) >= enough {
			return false
		}
		k := queueKey{e.Dest, e.Priority}
		if busy[e.Dest] || seen[k] {
			return true // one item of a destination at a time, in order
		}
		seen[k] = true
		if e.NextAttempt.After(now) {
			next = earliest(next, e.NextAttempt)
			return true
		}
		cands = append(cands, e)
		return true
	})
	if err != nil {
		return nil, next, nil, err
	}
	_, buttonsOff := tx.ButtonsUnavailable()
	var picks []sendJob
	var after []func()
	picked := map[string]bool{}
	stopBulk := false
	for _, e := range cands {
		if len(picks) >= free {
			break
		}
		bulk := e.Priority != store.PriorityReply
		if picked[e.Dest] || (bulk && stopBulk) {
			continue
		}
		it, err := tx.OutboxItem(e.ID)
		if err != nil {
			return nil, next, nil, fmt.Errorf("read outbox item %d: %w", e.ID, err)
		}
		if it.Status != store.OutQueued {
			continue
		}
		if it.Proactive && it.GroupID == "" {
			u, known, err := tx.User(it.UserID)
			if err != nil {
				return nil, next, nil, err
			}
			if !known || !u.Following || now.Sub(u.LastInbound) > Window {
				it.Status, it.HeldAt, it.LastCode = store.OutHeld, now, windowCode
				it.LastError = "held before sending: no interaction in the last 7 days"
				if err := tx.PutOutboxItem(it); err != nil {
					return nil, next, nil, err
				}
				last := u.LastInbound
				after = append(after, func() {
					s.m.OutHeld.Inc()
					s.itemLog(it).Info().Time("last_inbound", last).
						Msg("outbox held: recipient outside the interaction window; sent when they next write")
				})
				continue
			}
		}
		ok, at := s.lim.ready(bulk, now)
		if !ok {
			next = earliest(next, at)
			if bulk {
				stopBulk = true
				continue
			}
			break
		}
		var m OutMessage
		if err := json.Unmarshal(it.Message, &m); err != nil {
			it.Status, it.LastError = store.OutFailed, "bad message: "+err.Error()
			if err := tx.PutOutboxItem(it); err != nil {
				return nil, next, nil, err
			}
			after = append(after, func() {
				s.m.OutFailed.WithLabelValues("local").Inc()
				s.itemLog(it).Error().Str("error", it.LastError).Msg("outbox failed for good")
			})
			continue
		}
		s.lim.take(bulk, now)
		it.InFlight = true
		it.Attempts++
		it.LastAttempt = now
		if it.FirstAttempt.IsZero() {
			it.FirstAttempt = now
		}
		if err := tx.PutOutboxItem(it); err != nil {
			return nil, next, nil, err
		}
		picks = append(picks, sendJob{item: it, msg: m, noButtons: buttonsOff || it.GroupID != ""})
		picked[e.Dest] = true
	}
	return picks, next, after, nil
}

// attempt makes one send: upload the image if needed, then the call. It runs on a send
// goroutine and touches no store.
func (s *Sender) attempt(ctx context.Context, j sendJob) sendResult {
	r := sendResult{job: j, msg: j.msg}
	m := j.msg
	if j.noButtons {
		// The numbered choices are always in the text (flows.Reply); groups never get
		// buttons (API.md §6.1), and neither does anyone once Zalo refused them (§4.3).
		m.Buttons = nil
	}
	if m.ImageFile != "" && (m.AttachmentID == "" || s.now().Sub(m.UploadedAt) > attachmentReuse) {
		data, err := os.ReadFile(m.ImageFile)
		if err != nil {
			r.err = fmt.Errorf("read image to upload: %w", err)
			return r
		}
		id, err := s.client.UploadImage(ctx, filepath.Base(m.ImageFile), data)
		if err != nil {
			r.err = err
			return r
		}
		m.AttachmentID, m.ImageURL, m.UploadedAt = id, "", s.now()
		r.msg.AttachmentID, r.msg.ImageURL, r.msg.UploadedAt = m.AttachmentID, "", m.UploadedAt
		r.uploaded = true
	}
	if j.item.GroupID != "" {
		r.res, r.err = s.client.SendGroup(ctx, j.item.GroupID, m.Message)
	} else {
		r.res, r.err = s.client.SendCS(ctx, j.item.UserID, m.Message)
	}
	return r
}

// failure is a classified send error (API.md §10).
type failure struct {
	code    int
	class   zalo.Class
	label   string // metrics label: the code, or reauth / http_5xx / transport / local
	reauth  bool   // the app must be authorised again: wait, do not give up
	invalid bool   // the message cannot be sent as it is: a bug, not a platform state
}

func classify(err error) failure {
	f := failure{class: zalo.Alert, label: "local"}
	ze, ok := zalo.AsError(err)
	if ok {
		f.code, f.class = ze.Code, ze.Class
	}
	switch {
	case errors.Is(err, zalo.ErrNeedsReauth), errors.Is(err, zalo.ErrNoTokens):
		f.reauth, f.label = true, "reauth"
	case f.code != 0:
		f.label = strconv.Itoa(f.code)
	case ok && ze.HTTPStatus >= 500:
		f.label = "http_5xx"
	case ok && f.class == zalo.Retry:
		f.label = "transport"
	}
	if f.code == 0 && (errors.Is(err, zalo.ErrInvalidMessage) || errors.Is(err, zalo.ErrTextTooLong)) {
		f.invalid = true
	}
	return f
}

// record applies one attempt's outcome to its item in tx and returns what to log and
// count once committed.
func (s *Sender) record(tx *store.Tx, r sendResult, now time.Time) ([]func(), error) {
	it, err := tx.OutboxItem(r.job.item.ID)
	if err != nil {
		return nil, fmt.Errorf("read outbox item %d: %w", r.job.item.ID, err)
	}
	it.InFlight = false
	msg := r.job.msg
	if r.uploaded {
		msg = r.msg // keep the attachment id for retries
		if it.Message, err = json.Marshal(msg); err != nil {
			return nil, err
		}
	}
	log := s.itemLog(it)
	if r.err == nil {
		it.Status, it.ZaloMsgID, it.SentAt, it.Retries, it.NextAttempt = store.OutSent, r.res.MessageID, now, 0, time.Time{}
		if err := tx.PutOutboxItem(it); err != nil {
			return nil, err
		}
		return []func(){func() {
			s.m.OutSent.WithLabelValues(it.Kind).Inc()
			log.Info().Str("zalo_msg_id", it.ZaloMsgID).Str("quota", r.res.QuotaType).Msg("outbox sent")
		}}, nil
	}
	f := classify(r.err)
	prevCode := it.LastCode
	it.LastCode, it.LastError = f.code, r.err.Error()
	var fx []func()
	fail := func() {
		it.Status = store.OutFailed
		fx = append(fx, func() {
			s.m.OutFailed.WithLabelValues(f.label).Inc()
			log.Error().Err(r.err).Int("code", f.code).Msg("outbox failed for good")
		})
	}
	retryNow := func(reason string) {
		it.NextAttempt = now
		fx = append(fx, func() {
			s.m.OutRetried.WithLabelValues(f.label).Inc()
			s.m.OutFallback.WithLabelValues(reason).Inc()
			log.Info().Int("code", f.code).Str("fallback", reason).Msg("outbox: sending again in a simpler form")
		})
	}
	switch {
	case f.invalid:
		fail()
	case f.class == zalo.WindowClosed && it.GroupID == "":
		it.Status, it.HeldAt = store.OutHeld, now
		fx = append(fx, func() {
			s.m.OutHeld.Inc()
			log.Info().Int("code", f.code).Msg("outbox held: Zalo says the recipient is outside the window; sent when they next write")
		})
	case f.class == zalo.Fallback && len(msg.Buttons) > 0 && !r.job.noButtons:
		// API.md §4.3: send the same choices as numbered text (already in the text) and
		// remember that buttons are unavailable.
		msg.Buttons = nil
		if it.Message, err = json.Marshal(msg); err != nil {
			return nil, err
		}
		if f.code == -201 || f.code == -233 || f.code == -240 {
			if _, off := tx.ButtonsUnavailable(); !off {
				if err := tx.SetButtonsUnavailable(&store.ButtonsOff{Since: now, Code: f.code}); err != nil {
					return nil, err
				}
				fx = append(fx, func() {
					log.Warn().Int("code", f.code).Msg("Zalo refused quick-reply buttons; all later messages go as numbered text")
				})
			}
		}
		retryNow("buttons")
	case f.class == zalo.Fallback && msg.QuoteMsgID != "":
		// API.md §4.2: if Zalo rejects the quote, resend without it.
		msg.QuoteMsgID = ""
		if it.Message, err = json.Marshal(msg); err != nil {
			return nil, err
		}
		retryNow("quote")
	case f.class == zalo.Retry || f.class == zalo.RefreshToken || f.reauth:
		switch {
		case f.code == -200 && prevCode == -200:
			// API.md §10: "send message failed": retry once, then alert.
			fail()
		case !f.reauth && now.Sub(it.FirstAttempt) >= s.cfg.RetryFor:
			fail()
		default:
			it.Retries++
			wait := s.backoff(it.Retries)
			it.NextAttempt = now.Add(wait)
			if f.code == -100 && msg.ImageFile != "" {
				// The attachment id expired: upload again, now.
				msg.AttachmentID, msg.UploadedAt = "", time.Time{}
				if it.Message, err = json.Marshal(msg); err != nil {
					return nil, err
				}
				it.NextAttempt = now
			}
			if f.code == -234 {
				it.NextAttempt = nextMorning(now, s.cfg.Loc)
			}
			next := it.NextAttempt
			fx = append(fx, func() {
				s.m.OutRetried.WithLabelValues(f.label).Inc()
				ev := log.Warn()
				if f.reauth {
					ev = log.Error() // needs a person: an OA admin must authorise the app again
				}
				ev.Err(r.err).Int("code", f.code).Int("retry", it.Retries).Time("next_attempt", next).
					Msg("outbox send failed; will retry")
			})
		}
	default:
		fail()
	}
	if err := tx.PutOutboxItem(it); err != nil {
		return nil, err
	}
	return fx, nil
}

// backoff is the wait after the n-th consecutive failure: BackoffBase doubling, at most
// BackoffMax. No jitter: the rate limiter already spreads a burst of retries.
func (s *Sender) backoff(n int) time.Duration {
	d := s.cfg.BackoffBase << min(max(n-1, 0), 30)
	if d <= 0 || d > s.cfg.BackoffMax {
		return s.cfg.BackoffMax
	}
	return d
}

// nextMorning is the next 06:00 in loc after now: promotion-type messages are refused at
// night (-234, API.md §5.1, §10).
func nextMorning(now time.Time, loc *time.Location) time.Time {
	l := now.In(loc)
	t := time.Date(l.Year(), l.Month(), l.Day(), 6, 0, 0, 0, loc)
	if !t.After(l) {
		t = t.AddDate(0, 0, 1)
	}
	return t
}

// itemLog is the logger of one item: out_id, destination, kind, and the inbound event
// (seq, msg_id) it answers, so an operator can follow a message end to end.
func (s *Sender) itemLog(it store.OutboxItem) *zerolog.Logger {
	c := s.log.With().Uint64("out_id", it.ID).Str("kind", it.Kind).Int("attempt", it.Attempts)
	if it.GroupID != "" {
		c = c.Str("group", it.GroupID)
	} else {
		c = c.Str("user", it.UserID)
	}
	if it.SourceSeq != 0 {
		c = c.Uint64("seq", it.SourceSeq)
	}
	if it.SourceMsgID != "" {
		c = c.Str("msg_id", it.SourceMsgID)
	}
	l := c.Logger()
	return &l
}

// recoverInFlight clears the in-flight mark of items a stopped process was sending. They
// stay queued and are sent again: Zalo may have accepted them already (the one duplicate
// case of the outbox), so each is logged and counted.
func (s *Sender) recoverInFlight() error {
	var found []store.OutboxItem
	err := s.db.Update(func(tx *store.Tx) error {
		found = nil
		var ids []uint64
		if err := tx.ScanQueue(func(e store.QueueEntry) bool { ids = append(ids, e.ID); return true }); err != nil {
			return err
		}
		for _, id := range ids {
			it, err := tx.OutboxItem(id)
			if err != nil {
				return err
			}
			if !it.InFlight {
				continue
			}
			it.InFlight = false
			if err := tx.PutOutboxItem(it); err != nil {
				return err
			}
			found = append(found, it)
		}
		return nil
	})
	for _, it := range found {
		s.m.OutResent.Inc()
		s.itemLog(it).Warn().Msg("outbox item was being sent when the process stopped; sending it again (Zalo may show it twice)")
	}
	return err
}
