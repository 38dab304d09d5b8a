package store

import (
	"bytes"
	"encoding/json"
	"time"
)

// Outbox statuses.
const (
	OutQueued = "queued" // waiting to be sent
	OutSent   = "sent"
	OutHeld   = "held"   // the recipient is outside the interaction window; sent when they next write
	OutFailed = "failed" // final failure, with its code
)

// Priorities: replies to a user go ahead of bulk sends (digests, reminders).
const (
	PriorityReply = 0
	PriorityBulk  = 1
)

// OutboxItem is one outgoing message, recorded before it is sent.
type OutboxItem struct {
	ID          uint64          `json:"id"`
	UserID      string          `json:"user_id,omitempty"`
	GroupID     string          `json:"group_id,omitempty"`
	Message     json.RawMessage `json:"message"` // the sender's message value, opaque to the store
	Kind        string          `json:"kind"`    // "reply", "digest", "reminder", ...
	Priority    int             `json:"priority"`
	Proactive   bool            `json:"proactive,omitempty"` // not a reply: subject to the interaction window
	Status      string          `json:"status"`
	Attempts    int             `json:"attempts"`
	LastCode    int             `json:"last_code,omitempty"`
	LastError   string          `json:"last_error,omitempty"`
	ZaloMsgID   string          `json:"zalo_msg_id,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	NextAttempt time.Time       `json:"next_attempt,omitzero"`
	SentAt      time.Time       `json:"sent_at,omitzero"`
	Ref         string          `json:"ref,omitempty"` // e.g. the digest delivery it belongs to
}

func queueKey(prio int, id uint64) []byte {
	return append([]byte{byte(prio)}, u64(id)...)
}

// Enqueue records an outgoing message as queued and returns its id.
func (tx *Tx) Enqueue(it OutboxItem) (uint64, error) {
	b := tx.tx.Bucket(bOutbox)
	id, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	it.ID = id
	if it.Status == "" {
		it.Status = OutQueued
	}
	if err := putJSON(b, u64(id), it); err != nil {
		return 0, err
	}
	if it.Status == OutQueued {
		return id, tx.tx.Bucket(bOutPending).Put(queueKey(it.Priority, id), nil)
	}
	return id, nil
}

// Queued returns up to limit queued items in send order (priority, then id).
func (db *DB) Queued(limit int) ([]OutboxItem, error) {
	var out []OutboxItem
	err := db.View(func(tx *Tx) error {
		ob := tx.tx.Bucket(bOutbox)
		c := tx.tx.Bucket(bOutPending).Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			var it OutboxItem
			if err := getJSON(ob, k[1:], &it); err != nil {
				return err
			}
			out = append(out, it)
		}
		return nil
	})
	return out, err
}

// OutboxItem returns one item.
func (tx *Tx) OutboxItem(id uint64) (OutboxItem, error) {
	var it OutboxItem
	err := getJSON(tx.tx.Bucket(bOutbox), u64(id), &it)
	return it, err
}

// PutOutboxItem saves an item's new state and keeps the send queue in step with its status.
func (tx *Tx) PutOutboxItem(it OutboxItem) error {
	if err := putJSON(tx.tx.Bucket(bOutbox), u64(it.ID), it); err != nil {
		return err
	}
	q := tx.tx.Bucket(bOutPending)
	if it.Status == OutQueued {
		return q.Put(queueKey(it.Priority, it.ID), nil)
	}
	return q.Delete(queueKey(it.Priority, it.ID))
}

// UpdateOutbox loads item id, applies fn and saves it, in one transaction.
func (db *DB) UpdateOutbox(id uint64, fn func(*OutboxItem)) error {
	return db.Update(func(tx *Tx) error {
		it, err := tx.OutboxItem(id)
		if err != nil {
			return err
		}
		fn(&it)
		return tx.PutOutboxItem(it)
	})
}

// Outbox calls fn for every item in id order.
func (db *DB) Outbox(fn func(OutboxItem) bool) error {
	return db.View(func(tx *Tx) error {
		ob := tx.tx.Bucket(bOutbox)
		c := ob.Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			var it OutboxItem
			if err := getJSON(ob, k, &it); err != nil {
				return err
			}
			if !fn(it) {
				return nil
			}
		}
		return nil
	})
}

// ReleaseHeld re-queues the user's held messages (the user just wrote, so the interaction
// window is open again) and returns how many.
func (tx *Tx) ReleaseHeld(userID string, now time.Time) (int, error) {
	ob := tx.tx.Bucket(bOutbox)
	var held []OutboxItem
	c := ob.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		// cheap pre-filter before decoding: held items carry the status in their JSON
		if !bytes.Contains(v, []byte(`"status":"held"`)) {
			continue
		}
		var it OutboxItem
		if err := json.Unmarshal(v, &it); err != nil {
			return 0, err
		}
		if it.Status == OutHeld && it.UserID == userID {
			held = append(held, it)
		}
	}
	for _, it := range held {
		it.Status = OutQueued
		it.NextAttempt = now
		if err := tx.PutOutboxItem(it); err != nil {
			return 0, err
		}
	}
	return len(held), nil
}

// QueueLen is the number of queued items.
func (db *DB) QueueLen() (n int, err error) {
	err = db.View(func(tx *Tx) error {
		n = tx.tx.Bucket(bOutPending).Stats().KeyN
		return nil
	})
	return n, err
}
