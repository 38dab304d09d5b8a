package store

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestDedupArchive: a key is found as a duplicate while it is in memory, after ArchiveDedup
// has moved it to the bucket, and after the file is reopened at each stage.
func TestDedupArchive(t *testing.T) {
	db := openFile(t, filepath.Join(t.TempDir(), "clubbot.db"))
	day0 := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	var evs []InboxEvent
	for i := range 10 {
		evs = append(evs, InboxEvent{Key: fmt.Sprintf("user_send_text|m%d", i), Raw: []byte(`{}`), ReceivedAt: day0.Add(time.Duration(i) * time.Hour)})
	}
	evs = append(evs, InboxEvent{Raw: []byte(`{}`), ReceivedAt: day0}) // no key: never a duplicate
	if _, err := db.AppendInbox(evs); err != nil {
		t.Fatal(err)
	}
	// every key is a duplicate of its first delivery, and the keyless event is not
	check := func(stage string, db *DB) {
		t.Helper()
		res, err := db.AppendInbox(evs)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			if !res[i].Duplicate || res[i].Seq != uint64(i+1) {
				t.Errorf("%s: delivery %d again = %+v, want duplicate of %d", stage, i, res[i], i+1)
			}
		}
		if res[10].Duplicate {
			t.Errorf("%s: keyless event taken as a duplicate", stage)
		}
	}
	check("in memory", db)
	if n := db.DedupInMemory(); n != 10 {
		t.Errorf("keys in memory = %d, want 10", n)
	}
	// the first four hours' keys move to the bucket
	n, err := db.ArchiveDedup(day0.Add(4 * time.Hour))
	if err != nil || n != 4 {
		t.Fatalf("ArchiveDedup = %d, %v; want 4", n, err)
	}
	if n := db.DedupInMemory(); n != 6 {
		t.Errorf("keys in memory after archiving = %d, want 6", n)
	}
	check("half archived", db)
	db = reopen(t, db)
	if n := db.DedupInMemory(); n != 6 {
		t.Errorf("keys in memory after reopening = %d, want the 6 not archived", n)
	}
	check("reopened", db)
	if n, err := db.ArchiveDedup(day0.Add(48 * time.Hour)); err != nil || n != 6 {
		t.Fatalf("ArchiveDedup = %d, %v; want 6", n, err)
	}
	check("all archived", db)
	db = reopen(t, db)
	defer db.Close()
	if n := db.DedupInMemory(); n != 0 {
		t.Errorf("keys in memory = %d, want 0", n)
	}
	check("all archived, reopened", db)
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestDedupMarkOfOlderFiles: a file written before the archive mark existed had every key in
// the dedup bucket; opening it sets the mark to its last event and keeps nothing in memory.
func TestDedupMarkOfOlderFiles(t *testing.T) {
	db := openFile(t, filepath.Join(t.TempDir(), "clubbot.db"))
	// As the earlier AppendInbox wrote them: event, pending mark and dedup key together.
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		ev := tx.Bucket(bEvents)
		for i := range 3 {
			seq, _ := ev.NextSequence()
			e := InboxEvent{Seq: seq, Key: fmt.Sprintf("user_send_text|old%d", i), Raw: []byte(`{}`), ReceivedAt: time.Now()}
			if err := ev.Put(u64(seq), encodeInbox(e)); err != nil {
				return err
			}
			if err := tx.Bucket(bDedup).Put([]byte(e.Key), u64(seq)); err != nil {
				return err
			}
		}
		return tx.Bucket(bMeta).Delete(metaDedupArchived)
	})
	if err != nil {
		t.Fatal(err)
	}
	db = reopen(t, db)
	defer db.Close()
	if n := db.DedupInMemory(); n != 0 {
		t.Errorf("keys in memory = %d, want 0 (all in the bucket)", n)
	}
	res, err := db.AppendInbox([]InboxEvent{{Key: "user_send_text|old1"}, {Key: "user_send_text|new"}})
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Duplicate || res[0].Seq != 2 || res[1].Duplicate || res[1].Seq != 4 {
		t.Errorf("got %+v; want old1 a duplicate of 2, new recorded as 4", res)
	}
}
