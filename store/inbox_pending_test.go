package store

import (
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestPendingSetOfOlderFiles: a file that kept a pending set (seq → nil) instead of the
// processed mark opens with the mark just before its first pending event, and the worker
// finds exactly the events that were pending.
// openFile opens the store at path; the test closes it.
func openFile(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// reopen closes db and opens its file again, as a restart would.
func reopen(t *testing.T, db *DB) *DB {
	t.Helper()
	db.Close()
	return openFile(t, db.Path())
}

func TestPendingSetOfOlderFiles(t *testing.T) {
	db := openFile(t, filepath.Join(t.TempDir(), "clubbot.db"))
	var evs []InboxEvent
	for _, k := range []string{"a", "b", "c", "d", "e"} {
		evs = append(evs, InboxEvent{Key: "user_send_text|" + k, Raw: []byte(`{}`)})
	}
	if _, err := db.AppendInbox(evs); err != nil {
		t.Fatal(err)
	}
	// As the earlier store left it: events 1 and 2 processed, 3 to 5 in the pending set.
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		p, err := tx.CreateBucket(bPending)
		if err != nil {
			return err
		}
		for seq := uint64(3); seq <= 5; seq++ {
			if err := p.Put(u64(seq), nil); err != nil {
				return err
			}
		}
		return tx.Bucket(bMeta).Delete(metaProcessed)
	})
	if err != nil {
		t.Fatal(err)
	}
	db = reopen(t, db)
	defer db.Close()
	pend, err := db.PendingInbox()
	if err != nil || len(pend) != 3 || pend[0].Seq != 3 || pend[2].Seq != 5 {
		t.Fatalf("pending after opening = %+v, %v; want events 3 to 5", pend, err)
	}
	if n, _ := db.InboxPending(); n != 3 {
		t.Errorf("InboxPending = %d, want 3", n)
	}
	_ = db.View(func(tx *Tx) error {
		if tx.InboxPending(2) || !tx.InboxPending(3) || tx.InboxPending(6) {
			t.Error("InboxPending(2, 3, 6) should be false, true, false")
		}
		return nil
	})
	_ = db.bolt.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bPending) != nil {
			t.Error("the pending set is still there")
		}
		return nil
	})
	if err := db.Update(func(tx *Tx) error { return tx.MarkProcessed(3) }); err != nil {
		t.Fatal(err)
	}
	if total, pending, _ := db.InboxStats(); total != 5 || pending != 2 {
		t.Errorf("stats = %d total, %d pending; want 5, 2", total, pending)
	}
}
