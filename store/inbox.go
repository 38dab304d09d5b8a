package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"
)

// InboxEvent is a raw webhook event as received, with what ingest derived from it.
type InboxEvent struct {
	Seq        uint64    `json:"seq"`
	Key        string    `json:"key"`        // dedup key (event name + message id, or a fallback)
	EventName  string    `json:"event_name"` // as sent by Zalo
	UserID     string    `json:"user_id"`    // OA-scoped user id, or "" (ordering key)
	Raw        []byte    `json:"raw"`        // the body exactly as received
	ReceivedAt time.Time `json:"received_at"`
	ReqID      string    `json:"req_id,omitempty"`
	// Parsed is the ingest's decoding of Raw, handed to the worker in memory so the event
	// is not decoded twice; it is not stored (after a restart the worker decodes Raw).
	Parsed any `json:"-"`
}

// Appended is the outcome of recording one event.
type Appended struct {
	Seq       uint64
	Duplicate bool // the key was already recorded; nothing was written
}

// AppendInbox records events in one transaction (one fsync for the whole group, ARCHITECTURE
// rule 1): each new key gets the next sequence number, pending until the worker marks it
// processed (inbox_pending.go); a key seen before is reported as a duplicate with the
// sequence of its first delivery (dedup.go).
func (db *DB) AppendInbox(evs []InboxEvent) ([]Appended, error) {
	db.appendMu.Lock()
	defer db.appendMu.Unlock()
	out := make([]Appended, len(evs))
	var added []recentKey
	err := db.Update(func(tx *Tx) error {
		added = added[:0]
		ev, dd := tx.tx.Bucket(bEvents), tx.tx.Bucket(bDedup)
		// Events are keyed by increasing sequence numbers: appended, so full pages (bbolt
		// splits at half by default, for random inserts) halve the pages each commit writes
		// and the file's growth.
		ev.FillPercent = 1
		var inBatch map[string]uint64
		size := 0
		for _, e := range evs {
			size += 8 + inboxRecordSize(e)
		}
		buf := make([]byte, 0, size)
		for i := range evs {
			e := evs[i]
			if e.Key != "" {
				if s, ok := db.recent.get(e.Key); ok {
					out[i] = Appended{Seq: s, Duplicate: true}
					continue
				}
				if s, ok := inBatch[e.Key]; ok {
					out[i] = Appended{Seq: s, Duplicate: true}
					continue
				}
				if v := dd.Get([]byte(e.Key)); v != nil {
					out[i] = Appended{Seq: binary.BigEndian.Uint64(v), Duplicate: true}
					continue
				}
			}
			seq, err := ev.NextSequence()
			if err != nil {
				return err
			}
			e.Seq = seq
			// The group's keys and records share one buffer: bbolt keeps them, unchanged,
			// until the commit.
			n := len(buf)
			buf = binary.BigEndian.AppendUint64(buf, seq)
			buf = appendInbox(buf, e)
			if err := ev.Put(buf[n:n+8:n+8], buf[n+8:len(buf):len(buf)]); err != nil {
				return err
			}
			if e.Key != "" {
				if inBatch == nil {
					inBatch = make(map[string]uint64, len(evs))
				}
				inBatch[e.Key] = seq
				added = append(added, recentKey{seq: seq, key: e.Key, at: e.ReceivedAt})
			}
			out[i] = Appended{Seq: seq}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	db.recent.add(added)
	return out, nil
}

// PendingInbox returns the events received but not yet processed, oldest first. The worker
// calls it at start-up to finish what a crash left.
func (db *DB) PendingInbox() ([]InboxEvent, error) {
	var out []InboxEvent
	err := db.View(func(tx *Tx) error {
		c := tx.tx.Bucket(bEvents).Cursor()
		for k, v := c.Seek(u64(tx.processedSeq() + 1)); k != nil; k, v = c.Next() {
			e, err := decodeInbox(k, v)
			if err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// InboxEvent returns event seq and whether it is still pending.
func (tx *Tx) InboxEvent(seq uint64) (InboxEvent, bool, error) {
	e, err := decodeInbox(u64(seq), tx.tx.Bucket(bEvents).Get(u64(seq)))
	if err != nil {
		return e, false, err
	}
	return e, tx.InboxPending(seq), nil
}

// InboxStats counts recorded and pending events.
func (db *DB) InboxStats() (total, pending int, err error) {
	err = db.View(func(tx *Tx) error {
		total = tx.tx.Bucket(bEvents).Stats().KeyN
		pending = tx.inboxPending()
		return nil
	})
	return
}

// inboxFormat marks the binary inbox record: a version byte, the receipt time, the derived
// fields, then the body exactly as received. It costs a fraction of JSON (which would also
// base64 the body) on the webhook's hot path; a record starting with '{' is the older JSON.
const inboxFormat = 1

func encodeInbox(e InboxEvent) []byte {
	return appendInbox(make([]byte, 0, inboxRecordSize(e)), e)
}

// inboxRecordSize bounds the size of e's record.
func inboxRecordSize(e InboxEvent) int {
	return 1 + 8 + 4*binary.MaxVarintLen64 + len(e.Key) + len(e.EventName) + len(e.UserID) + len(e.ReqID) + len(e.Raw)
}

// appendInbox appends e's record to b.
func appendInbox(b []byte, e InboxEvent) []byte {
	b = append(b, inboxFormat)
	b = binary.BigEndian.AppendUint64(b, uint64(e.ReceivedAt.UnixNano()))
	for _, f := range [...]string{e.Key, e.EventName, e.UserID, e.ReqID} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	return append(b, e.Raw...)
}

// decodeInbox decodes a record read inside a transaction into values that own their bytes.
func decodeInbox(key, v []byte) (InboxEvent, error) { return decodeInboxRecord(key, v, true) }

// decodeInboxKey decodes only the sequence, key and receipt time of a record (the store
// reads them for every recent event when it opens).
func decodeInboxKey(key, v []byte) (InboxEvent, error) { return decodeInboxRecord(key, v, false) }

func decodeInboxRecord(key, v []byte, whole bool) (InboxEvent, error) {
	var e InboxEvent
	switch {
	case v == nil:
		return e, ErrNotFound
	case v[0] == '{':
		err := json.Unmarshal(v, &e)
		return e, err
	case v[0] != inboxFormat || len(v) < 9:
		return e, fmt.Errorf("inbox record %x: unknown format", key)
	}
	e.Seq = binary.BigEndian.Uint64(key)
	e.ReceivedAt = time.Unix(0, int64(binary.BigEndian.Uint64(v[1:9])))
	rest := v[9:]
	fields := []*string{&e.Key, &e.EventName, &e.UserID, &e.ReqID}
	if !whole {
		fields = fields[:1]
	}
	for _, f := range fields {
		n, w := binary.Uvarint(rest)
		if w <= 0 || uint64(len(rest)-w) < n {
			return e, fmt.Errorf("inbox record %x: truncated", key)
		}
		*f = string(rest[w : w+int(n)])
		rest = rest[w+int(n):]
	}
	if whole {
		e.Raw = append([]byte(nil), rest...)
	}
	return e, nil
}
