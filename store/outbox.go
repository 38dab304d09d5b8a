package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"time"
)

// Outbox statuses.
const (
	OutQueued = "queued" // waiting to be sent (InFlight while an attempt is under way)
	OutSent   = "sent"
	OutHeld   = "held"   // the recipient is outside the interaction window; sent when they next write
	OutFailed = "failed" // final failure, with its code
)

// Priorities: replies to a user go ahead of bulk sends (digests, reminders).
const (
	PriorityReply = 0
	PriorityBulk  = 1
)

// Outbox index buckets, created at Open with the others (see init below).
var (
	bOutHeld = []byte("outbox_held") // user id + 0 + id → nil: held items, released when the user writes
	bOutZalo = []byte("outbox_zalo") // Zalo message_id → id: receipts and echoes name the item
)

// outboxIndexVersion names the layout of the outbox indexes; MigrateOutbox rebuilds them
// once for a file written before it.
const outboxIndexVersion = "2"

var (
	metaOutboxIndex = []byte("outbox_index_version")
	metaButtonsOff  = []byte("zalo_buttons_unavailable")
)

func init() {
	// Registered here rather than in store.go so the outbox owns its buckets; Open
	// creates every bucket of allBuckets.
	allBuckets = append(allBuckets, bOutHeld, bOutZalo)
}

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
	Attempts    int             `json:"attempts"`          // calls made (or started) for this item
	Retries     int             `json:"retries,omitempty"` // consecutive retryable failures: the backoff step
	LastCode    int             `json:"last_code,omitempty"`
	LastError   string          `json:"last_error,omitempty"`
	ZaloMsgID   string          `json:"zalo_msg_id,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	NextAttempt time.Time       `json:"next_attempt,omitzero"`
	SentAt      time.Time       `json:"sent_at,omitzero"`
	Ref         string          `json:"ref,omitempty"` // e.g. the digest delivery it belongs to
	// InFlight is set, in its own committed transaction, before a send is attempted, and
	// cleared with the outcome. Found set at start-up it means the process stopped between
	// the call and the record: the item is sent again, the one case where a user can get a
	// message twice.
	InFlight     bool      `json:"in_flight,omitempty"`
	FirstAttempt time.Time `json:"first_attempt,omitzero"` // start of the retry budget
	LastAttempt  time.Time `json:"last_attempt,omitzero"`
	HeldAt       time.Time `json:"held_at,omitzero"`
	DeliveredAt  time.Time `json:"delivered_at,omitzero"` // user_received_message
	SeenAt       time.Time `json:"seen_at,omitzero"`      // user_seen_message
	// SourceSeq and SourceMsgID name the inbox event the item answers, so one message can
	// be followed from the webhook to the send in the logs.
	SourceSeq   uint64 `json:"source_seq,omitempty"`
	SourceMsgID string `json:"source_msg_id,omitempty"`
}

// Dest is the item's destination as one string ("u:<user id>" or "g:<group id>"): the unit
// whose messages keep their order.
func (it OutboxItem) Dest() string {
	if it.GroupID != "" {
		return "g:" + it.GroupID
	}
	return "u:" + it.UserID
}

// QueueEntry is one queued item as the send queue knows it, without decoding the item.
type QueueEntry struct {
	ID          uint64
	Priority    int
	Dest        string
	NextAttempt time.Time
}

func queueKey(prio int, id uint64) []byte {
	return append([]byte{byte(prio)}, u64(id)...)
}

// queueValue is what the queue keeps per item so a scan needs no decoding: the next
// attempt (Unix nanoseconds, 0 for none) and the destination.
func queueValue(it OutboxItem) []byte {
	v := make([]byte, 8, 8+len(it.Dest())+2)
	if !it.NextAttempt.IsZero() {
		binary.BigEndian.PutUint64(v, uint64(it.NextAttempt.UnixNano()))
	}
	return append(v, it.Dest()...)
}

func heldKey(userID string, id uint64) []byte {
	k := make([]byte, 0, len(userID)+9)
	k = append(k, userID...)
	k = append(k, 0)
	return append(k, u64(id)...)
}

// Enqueue records an outgoing message (queued unless it.Status says otherwise) and returns
// its id.
func (tx *Tx) Enqueue(it OutboxItem) (uint64, error) {
	id, err := tx.tx.Bucket(bOutbox).NextSequence()
	if err != nil {
		return 0, err
	}
	it.ID = id
	if it.Status == "" {
		it.Status = OutQueued
	}
	return id, tx.PutOutboxItem(it)
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

// ScanQueue calls fn for each queued item in send order (priority, then id) until fn
// returns false. It reads only the queue index.
func (tx *Tx) ScanQueue(fn func(QueueEntry) bool) error {
	c := tx.tx.Bucket(bOutPending).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		e := QueueEntry{Priority: int(k[0]), ID: binary.BigEndian.Uint64(k[1:])}
		if len(v) >= 8 {
			if ns := binary.BigEndian.Uint64(v[:8]); ns != 0 {
				e.NextAttempt = time.Unix(0, int64(ns))
			}
			e.Dest = string(v[8:])
		} else {
			// An entry from before the index kept values (MigrateOutbox rewrites them).
			it, err := tx.OutboxItem(e.ID)
			if err != nil {
				return err
			}
			e.Dest, e.NextAttempt = it.Dest(), it.NextAttempt
		}
		if !fn(e) {
			return nil
		}
	}
	return nil
}

// OutboxItem returns one item.
func (tx *Tx) OutboxItem(id uint64) (OutboxItem, error) {
	var it OutboxItem
	err := getJSON(tx.tx.Bucket(bOutbox), u64(id), &it)
	return it, err
}

// OutboxItem returns one item.
func (db *DB) OutboxItem(id uint64) (it OutboxItem, err error) {
	err = db.View(func(tx *Tx) error {
		it, err = tx.OutboxItem(id)
		return err
	})
	return it, err
}

// PutOutboxItem saves an item's new state and keeps the indexes in step with its status:
// the send queue holds it while queued, the held index while held, and the Zalo message
// id points to it once sent.
func (tx *Tx) PutOutboxItem(it OutboxItem) error {
	if err := putJSON(tx.tx.Bucket(bOutbox), u64(it.ID), it); err != nil {
		return err
	}
	q := tx.tx.Bucket(bOutPending)
	if it.Status == OutQueued {
		if err := q.Put(queueKey(it.Priority, it.ID), queueValue(it)); err != nil {
			return err
		}
	} else if err := q.Delete(queueKey(it.Priority, it.ID)); err != nil {
		return err
	}
	if it.UserID != "" {
		h := tx.tx.Bucket(bOutHeld)
		if it.Status == OutHeld {
			if err := h.Put(heldKey(it.UserID, it.ID), nil); err != nil {
				return err
			}
		} else if err := h.Delete(heldKey(it.UserID, it.ID)); err != nil {
			return err
		}
	}
	if it.ZaloMsgID != "" {
		return tx.tx.Bucket(bOutZalo).Put([]byte(it.ZaloMsgID), u64(it.ID))
	}
	return nil
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
// window is open again) and returns how many. It reads only the user's entries of the held
// index, so it is cheap enough to run on every inbound message.
func (tx *Tx) ReleaseHeld(userID string, now time.Time) (int, error) {
	if userID == "" {
		return 0, nil
	}
	prefix := append([]byte(userID), 0)
	var ids []uint64
	c := tx.tx.Bucket(bOutHeld).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) == len(prefix)+8 {
			ids = append(ids, binary.BigEndian.Uint64(k[len(prefix):]))
		}
	}
	n := 0
	for _, id := range ids {
		it, err := tx.OutboxItem(id)
		if err != nil {
			return n, err
		}
		if it.Status != OutHeld {
			if err := tx.tx.Bucket(bOutHeld).Delete(heldKey(userID, id)); err != nil {
				return n, err
			}
			continue
		}
		it.Status = OutQueued
		it.NextAttempt = now
		it.InFlight = false
		// The window is open again: the retry budget starts afresh.
		it.Retries, it.FirstAttempt = 0, time.Time{}
		if err := tx.PutOutboxItem(it); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// OutboxByZaloMsgID returns the item Zalo accepted under message id zid (the id that
// reappears in receipts and in the oa_send_* echo, API.md §4.2).
func (tx *Tx) OutboxByZaloMsgID(zid string) (OutboxItem, bool, error) {
	v := tx.tx.Bucket(bOutZalo).Get([]byte(zid))
	if len(v) != 8 {
		return OutboxItem{}, false, nil
	}
	it, err := tx.OutboxItem(binary.BigEndian.Uint64(v))
	if err != nil {
		return it, false, err
	}
	return it, true, nil
}

// MarkReceipt records a delivery (seen=false) or read (seen=true) receipt for the item sent
// as zid; ok is false when zid is not one of the bot's messages.
func (tx *Tx) MarkReceipt(zid string, seen bool, at time.Time) (OutboxItem, bool, error) {
	it, ok, err := tx.OutboxByZaloMsgID(zid)
	if !ok || err != nil {
		return it, ok, err
	}
	if it.DeliveredAt.IsZero() {
		it.DeliveredAt = at
	}
	if seen && it.SeenAt.IsZero() {
		it.SeenAt = at
	}
	return it, true, tx.PutOutboxItem(it)
}

// QueueLen is the number of queued items.
func (db *DB) QueueLen() (n int, err error) {
	err = db.View(func(tx *Tx) error {
		n = tx.tx.Bucket(bOutPending).Stats().KeyN
		return nil
	})
	return n, err
}

// OutboxCounts returns how many items are queued and how many held, from the indexes.
func (db *DB) OutboxCounts() (queued, held int, err error) {
	err = db.View(func(tx *Tx) error {
		queued = tx.tx.Bucket(bOutPending).Stats().KeyN
		held = tx.tx.Bucket(bOutHeld).Stats().KeyN
		return nil
	})
	return queued, held, err
}

// ButtonsOff is the persisted record that Zalo refused a quick-reply (list template)
// message, so that later sends go as plain text without trying again (API.md §4.3).
type ButtonsOff struct {
	Since time.Time `json:"since"`
	Code  int       `json:"code"`
}

// ButtonsUnavailable reports whether buttons were found unavailable, and since when.
func (tx *Tx) ButtonsUnavailable() (ButtonsOff, bool) {
	var b ButtonsOff
	if err := getJSON(tx.tx.Bucket(bMeta), metaButtonsOff, &b); err != nil {
		return b, false
	}
	return b, true
}

// SetButtonsUnavailable records (off non-nil) or clears (nil) the buttons-unavailable flag.
func (tx *Tx) SetButtonsUnavailable(off *ButtonsOff) error {
	if off == nil {
		return tx.tx.Bucket(bMeta).Delete(metaButtonsOff)
	}
	return putJSON(tx.tx.Bucket(bMeta), metaButtonsOff, off)
}

// MigrateOutbox rebuilds the outbox indexes (queue values, held and Zalo id indexes) of a
// file written before they existed. It runs once per file; later calls only read a flag.
func (db *DB) MigrateOutbox() error {
	var done bool
	if err := db.View(func(tx *Tx) error {
		done = string(tx.tx.Bucket(bMeta).Get(metaOutboxIndex)) == outboxIndexVersion
		return nil
	}); err != nil || done {
		return err
	}
	return db.Update(func(tx *Tx) error {
		ob := tx.tx.Bucket(bOutbox)
		var items []OutboxItem
		err := ob.ForEach(func(k, v []byte) error {
			if !bytes.Contains(v, []byte(`"status":"queued"`)) && !bytes.Contains(v, []byte(`"status":"held"`)) &&
				!bytes.Contains(v, []byte(`"zalo_msg_id"`)) {
				return nil
			}
			var it OutboxItem
			if err := json.Unmarshal(v, &it); err != nil {
				return err
			}
			items = append(items, it)
			return nil
		})
		if err != nil {
			return err
		}
		for _, it := range items {
			if err := tx.PutOutboxItem(it); err != nil {
				return err
			}
		}
		return tx.tx.Bucket(bMeta).Put(metaOutboxIndex, []byte(outboxIndexVersion))
	})
}
