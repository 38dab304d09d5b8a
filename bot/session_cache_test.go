package bot

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"clubbot/flows"
	"clubbot/store"
)

// TestSessionCacheFollowsTheStore checks that the cache never answers something other than
// what is stored: writes that bypass it, rolled-back writes and callers that modify what
// they were given all leave the next read right.
func TestSessionCacheFollowsTheStore(t *testing.T) {
	db, err := store.Open(filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var c sessionCache
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	n := int64(35)
	s1 := flows.Session{FlowID: "f", Revision: 1, Step: "b", Status: flows.StatusActive, StartedAt: now, UpdatedAt: now,
		Answers: map[string]flows.Answer{"a": {Type: "number", Number: &n, Display: "35"}}}
	read := func() (flows.Session, bool) {
		t.Helper()
		var s flows.Session
		var ok bool
		if err := db.View(func(tx *store.Tx) (err error) { s, ok, err = c.session(tx, "u"); return err }); err != nil {
			t.Fatal(err)
		}
		return s, ok
	}
	if _, ok := read(); ok {
		t.Fatal("a session before any was stored")
	}
	if err := db.Update(func(tx *store.Tx) error { return c.putSession(tx, "u", s1) }); err != nil {
		t.Fatal(err)
	}
	got, ok := read()
	if !ok || got.Step != "b" || got.Answers["a"].Display != "35" {
		t.Fatalf("read after put = %+v %v", got, ok)
	}
	// A caller changing what it was given does not change the cache.
	got.Answers["a"] = flows.Answer{Display: "changed"}
	got.Step = "zzz"
	if again, _ := read(); again.Answers["a"].Display != "35" || again.Step != "b" {
		t.Fatalf("the cache was changed through a returned session: %+v", again)
	}
	// A write that bypasses the cache (the timers) is seen.
	s2 := s1
	s2.Offering = true
	if err := db.Update(func(tx *store.Tx) error { return tx.PutSession("u", s2) }); err != nil {
		t.Fatal(err)
	}
	if got, _ := read(); !got.Offering {
		t.Fatal("a session written past the cache was not read")
	}
	// A put in a transaction that rolls back leaves the stored session the answer.
	s3 := s1
	s3.Step = "rolled-back"
	boom := errors.New("boom")
	if err := db.Update(func(tx *store.Tx) error {
		if err := c.putSession(tx, "u", s3); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if got, _ := read(); got.Step != "b" || !got.Offering {
		t.Fatalf("after a rolled-back put the read is %+v, want the stored session", got)
	}
	// Deleted: gone.
	if err := db.Update(func(tx *store.Tx) error { return tx.DeleteSession("u") }); err != nil {
		t.Fatal(err)
	}
	if _, ok := read(); ok {
		t.Fatal("a deleted session was read from the cache")
	}
}
