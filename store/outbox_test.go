package store

import (
	"encoding/json"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestOutboxIndexes: the queue index carries each item's destination and next attempt in
// send order, the held index releases only the writing user's items, a sent item is found
// by its Zalo message id, and the buttons flag persists.
func TestOutboxIndexes(t *testing.T) {
	db := MustOpen(t)
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	later := now.Add(time.Minute)
	items := []OutboxItem{
		{UserID: "u1", Priority: PriorityBulk, NextAttempt: later},    // 1
		{UserID: "u2", Priority: PriorityReply},                       // 2
		{GroupID: "g1", Priority: PriorityBulk},                       // 3
		{UserID: "u1", Priority: PriorityBulk, Status: OutHeld},       // 4
		{UserID: "u2", Priority: PriorityBulk, Status: OutHeld},       // 5
		{UserID: "u10", Priority: PriorityBulk, Status: OutHeld},      // 6: "u1" is its prefix
		{UserID: "u3", Status: OutSent, ZaloMsgID: "63ecf43f0df7dba"}, // 7
	}
	err := db.Update(func(tx *Tx) error {
		for _, it := range items {
			it.Message, it.CreatedAt = json.RawMessage(`{"Text":"x"}`), now
			if _, err := tx.Enqueue(it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []QueueEntry
	db.View(func(tx *Tx) error {
		return tx.ScanQueue(func(e QueueEntry) bool { got = append(got, e); return true })
	})
	want := []QueueEntry{{ID: 2, Priority: 0, Dest: "u:u2"}, {ID: 1, Priority: 1, Dest: "u:u1", NextAttempt: later},
		{ID: 3, Priority: 1, Dest: "g:g1"}}
	if len(got) != len(want) {
		t.Fatalf("queue = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].ID != want[i].ID || got[i].Dest != want[i].Dest || !got[i].NextAttempt.Equal(want[i].NextAttempt) {
			t.Errorf("entry %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if q, h, _ := db.OutboxCounts(); q != 3 || h != 3 {
		t.Errorf("counts = %d queued, %d held; want 3, 3", q, h)
	}
	var n int
	db.Update(func(tx *Tx) error { n, err = tx.ReleaseHeld("u1", later); return err })
	if n != 1 {
		t.Errorf("released %d for u1, want 1 (not u10's)", n)
	}
	if it, _ := db.OutboxItem(4); it.Status != OutQueued || !it.NextAttempt.Equal(later) {
		t.Errorf("released item = %+v", it)
	}
	if it, _ := db.OutboxItem(6); it.Status != OutHeld {
		t.Errorf("u10's item was released too")
	}
	db.Update(func(tx *Tx) error {
		it, ok, err := tx.MarkReceipt("63ecf43f0df7dba", true, later)
		if err != nil || !ok || it.ID != 7 || !it.SeenAt.Equal(later) || !it.DeliveredAt.Equal(later) {
			t.Errorf("MarkReceipt = %+v, %v, %v", it, ok, err)
		}
		if _, ok, _ := tx.MarkReceipt("unknown", false, later); ok {
			t.Error("a receipt for another message id matched")
		}
		if _, off := tx.ButtonsUnavailable(); off {
			t.Error("buttons flagged off on a new store")
		}
		return tx.SetButtonsUnavailable(&ButtonsOff{Since: now, Code: -201})
	})
	db.View(func(tx *Tx) error {
		if b, off := tx.ButtonsUnavailable(); !off || b.Code != -201 {
			t.Errorf("buttons flag = %+v, %v", b, off)
		}
		return nil
	})
}

// TestMigrateOutbox: a file whose queue entries carry no values and which has no held
// index (written before them) is rebuilt once, so scans and releases work on it.
func TestMigrateOutbox(t *testing.T) {
	db := MustOpen(t)
	now := time.Now()
	db.Update(func(tx *Tx) error {
		tx.Enqueue(OutboxItem{UserID: "u1", Message: json.RawMessage(`{}`), CreatedAt: now})
		tx.Enqueue(OutboxItem{UserID: "u1", Message: json.RawMessage(`{}`), Status: OutHeld, CreatedAt: now})
		// Make it look old: bare queue entries, no held index, no version mark.
		tx.tx.Bucket(bOutPending).Put(queueKey(0, 1), nil)
		tx.tx.Bucket(bOutHeld).Delete(heldKey("u1", 2))
		return tx.tx.Bucket(bMeta).Delete(metaOutboxIndex)
	})
	if err := db.MigrateOutbox(); err != nil {
		t.Fatal(err)
	}
	db.bolt.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bOutPending).Get(queueKey(0, 1)); len(v) < 8 || string(v[8:]) != "u:u1" {
			t.Errorf("queue value after migration = %q", v)
		}
		if tx.Bucket(bOutHeld).Get(heldKey("u1", 2)) == nil {
			t.Error("held index not rebuilt")
		}
		return nil
	})
}
