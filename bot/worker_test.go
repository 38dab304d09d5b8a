package bot

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"clubbot/bot/zalo"
	"clubbot/club"
	"clubbot/store"
)

// TestWorkerOrderOnceAndPoison: events are handled in arrival order, once; a panicking
// handler skips only its own event and leaves none of its writes behind; a store error
// leaves the event pending for a retry.
func TestWorkerOrderOnceAndPoison(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	failOnce := true
	m := NewMetrics()
	handle := func(tx *store.Tx, ev store.InboxEvent, now time.Time) error {
		if err := tx.PutUser(club.User{ID: "touched-" + ev.Key}); err != nil {
			return err
		}
		switch ev.Key {
		case "boom":
			panic("bug")
		case "flaky":
			if failOnce {
				failOnce = false
				return errors.New("disk hiccup")
			}
		}
		// record the order transactionally: a rolled-back attempt leaves nothing
		_, err := EnqueueMessage(tx, store.OutboxItem{UserID: ev.Key}, OutMessage{Message: zalo.Message{Text: "ok"}}, m)
		return err
	}
	w := NewWorker(db, handle, zerolog.Nop(), m, time.Now, nil)
	evs := []store.InboxEvent{{Key: "a"}, {Key: "boom"}, {Key: "b"}, {Key: "flaky"}, {Key: "c"}}
	res, err := db.AppendInbox(evs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range evs {
		evs[i].Seq = res[i].Seq
	}
	w.Enqueue(evs)
	w.Enqueue(evs[:2]) // the same events again (start-up list and notification overlap)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, pending, _ := db.InboxStats()
		if pending == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var seen []string
	db.Outbox(func(it store.OutboxItem) bool { seen = append(seen, it.UserID); return true })
	if got := fmtList(seen); got != "a,b,flaky,c" {
		t.Errorf("handled %s, want a,b,flaky,c in order, once each", got)
	}
	// Counted once each, although the first group rolled back and was retried one by one.
	if n := counterValue(t, m, "clubbot_worker_processed_total", "ok"); n != 4 {
		t.Errorf("processed ok = %v, want 4", n)
	}
	if n := counterValue(t, m, "clubbot_worker_processed_total", "panic"); n != 1 {
		t.Errorf("processed panic = %v, want 1", n)
	}
	if n := counterValue(t, m, "clubbot_outbox_queued_total", "reply"); n != 4 {
		t.Errorf("outbox queued = %v, want 4", n)
	}
	db.View(func(tx *store.Tx) error {
		if _, ok, _ := tx.User("touched-boom"); ok {
			t.Error("the panicking handler's write was committed")
		}
		if _, ok, _ := tx.User("touched-c"); !ok {
			t.Error("event c's write is missing")
		}
		return nil
	})
}

// counterValue is the value of counter name with the label value label, as /metrics shows it.
func counterValue(t *testing.T, m *Metrics, name, label string) float64 {
	t.Helper()
	for _, c := range m.gathered(name) {
		for _, l := range c.GetLabel() {
			if l.GetValue() == label {
				return c.GetCounter().GetValue()
			}
		}
	}
	return 0
}

func fmtList(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ","
		}
		out += v
	}
	return out
}
