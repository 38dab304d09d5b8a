package bot

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"clubbot/store"
)

// maxTurnGroup bounds how many events share one worker transaction: the engine is pure and
// takes microseconds, so the fsync dominates; grouping keeps conversation turns fast under
// load while a single event still commits at once.
const maxTurnGroup = 256

// Worker processes inbox events in arrival order, one at a time, each in the transaction
// that marks it processed: an event's effects are applied exactly once, and one user's
// messages are handled in order (ARCHITECTURE rule 2). Arrival order is the inbox sequence,
// so a single loop keeps every user's order without per-user locks.
type Worker struct {
	db      *store.DB
	handle  func(tx *store.Tx, ev store.InboxEvent, now time.Time) error
	log     zerolog.Logger
	m       *Metrics
	now     func() time.Time
	after   func() // called after each commit (wakes the sender)
	mu      sync.Mutex
	queue   []store.InboxEvent
	signal  chan struct{}
	stopped chan struct{}
	// processedOK is counted when the event's transaction commits (a group that fails is
	// retried one event at a time).
	processedOK prometheus.Counter
}

// NewWorker builds a worker; handle runs inside the transaction.
func NewWorker(db *store.DB, handle func(*store.Tx, store.InboxEvent, time.Time) error, log zerolog.Logger, m *Metrics, now func() time.Time, after func()) *Worker {
	return &Worker{db: db, handle: handle, log: log, m: m, now: now, after: after,
		signal: make(chan struct{}, 1), stopped: make(chan struct{}), processedOK: m.Processed.WithLabelValues("ok")}
}

// Enqueue hands newly recorded events to the worker (called by the ingest committer).
func (w *Worker) Enqueue(evs []store.InboxEvent) {
	w.mu.Lock()
	w.queue = append(w.queue, evs...)
	w.mu.Unlock()
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// Run first finishes what the inbox holds from before (a crash or a stop), then processes
// new events until ctx is done. The event in hand is finished before it returns.
func (w *Worker) Run(ctx context.Context) error {
	defer close(w.stopped)
	pending, err := w.db.PendingInbox()
	if err != nil {
		return fmt.Errorf("worker: read pending inbox: %w", err)
	}
	if len(pending) > 0 {
		w.log.Info().Int("events", len(pending)).Msg("finishing events received before the restart")
		w.mu.Lock()
		w.queue = append(pending, w.queue...)
		w.mu.Unlock()
	}
	backoff := 100 * time.Millisecond
	for {
		w.mu.Lock()
		n := min(len(w.queue), maxTurnGroup)
		batch := append([]store.InboxEvent(nil), w.queue[:n]...)
		w.mu.Unlock()
		if n == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-w.signal:
				continue
			}
		}
		if err := w.process(batch); err != nil {
			// The store failed: nothing of the group was applied; the events stay pending.
			w.log.Error().Err(err).Int("events", n).Msg("worker transaction failed; retrying")
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 10*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		w.mu.Lock()
		w.queue = w.queue[n:]
		if len(w.queue) == 0 {
			w.queue = nil // let the backing array go
		}
		w.mu.Unlock()
		if w.after != nil {
			w.after()
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// process applies a group of events in one transaction. If one event fails, the group is
// rolled back and retried one event at a time, so a single bad event cannot hold the others
// back; an event whose handler panics is then marked processed on its own, without the
// half-made changes of the panicking handler.
func (w *Worker) process(batch []store.InboxEvent) error {
	now := w.now()
	err := w.db.Update(func(tx *store.Tx) error {
		for _, e := range batch {
			if err := w.one(tx, e, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		for _, e := range batch {
			w.m.WorkerLag.Observe(now.Sub(e.ReceivedAt).Seconds())
		}
		return nil
	}
	for _, e := range batch {
		err := w.db.Update(func(tx *store.Tx) error { return w.one(tx, e, now) })
		var p *panicError
		if errors.As(err, &p) {
			w.m.Processed.WithLabelValues("panic").Inc()
			w.log.Error().Interface("panic", p.value).Str("stack", p.stack).Uint64("seq", e.Seq).
				Str("event", e.EventName).Msg("event handler panic; event skipped")
			err = w.db.Update(func(tx *store.Tx) error { return tx.MarkProcessed(e.Seq) })
		}
		if err != nil {
			return err
		}
		w.m.WorkerLag.Observe(now.Sub(e.ReceivedAt).Seconds())
	}
	return nil
}

// panicError carries a handler panic out of the transaction, which it rolls back.
type panicError struct {
	value any
	stack string
}

func (p *panicError) Error() string { return fmt.Sprintf("handler panic: %v", p.value) }

// one processes event e unless it was processed already (it may be both in the pending
// list read at start-up and in a later notification).
func (w *Worker) one(tx *store.Tx, e store.InboxEvent, now time.Time) (err error) {
	rec, pending := e, false
	if e.Raw != nil {
		// Handed over by the ingest committer as it was stored: only whether it is still
		// pending needs the store (decoding the record again was a tenth of a turn).
		pending = tx.InboxPending(e.Seq)
	} else if rec, pending, err = tx.InboxEvent(e.Seq); err != nil {
		return fmt.Errorf("read inbox event %d: %w", e.Seq, err)
	}
	if !pending {
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r, stack: string(debug.Stack())}
		}
	}()
	if err := w.handle(tx, rec, now); err != nil {
		return fmt.Errorf("handle event %d: %w", e.Seq, err)
	}
	tx.OnCommit(w.processedOK.Inc)
	return tx.MarkProcessed(e.Seq)
}
