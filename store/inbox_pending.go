package store

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// The worker processes inbox events in sequence order (bot/worker.go), so what is pending is
// the events after the last one processed: one number in meta, "inbox_processed_seq",
// advanced in the transaction that applies an event's effects. (A pending set keyed by
// sequence cost the ingest commit a second insert and page per event.)
var metaProcessed = []byte("inbox_processed_seq")

func (tx *Tx) processedSeq() uint64 {
	v := tx.tx.Bucket(bMeta).Get(metaProcessed)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// inboxPending is the number of events after the last one processed (sequence numbers have no
// gaps: a transaction that fails takes its numbers back).
func (tx *Tx) inboxPending() int {
	last := tx.tx.Bucket(bEvents).Sequence()
	return int(last - min(tx.processedSeq(), last))
}

// InboxPending reports whether event seq is recorded and not yet processed. The worker
// uses it for events the ingest committer handed over as it stored them, so they are not
// read and decoded again.
func (tx *Tx) InboxPending(seq uint64) bool {
	return seq > tx.processedSeq() && seq <= tx.tx.Bucket(bEvents).Sequence()
}

// MarkProcessed records that event seq and every event before it are processed. Called in
// the same transaction as the event's effects, so an event is processed exactly once even
// across crashes; the worker calls it in sequence order.
func (tx *Tx) MarkProcessed(seq uint64) error {
	if seq <= tx.processedSeq() {
		return nil
	}
	return tx.tx.Bucket(bMeta).Put(metaProcessed, u64(seq))
}

// InboxPending is the number of events received and not yet processed: the worker's
// backlog. It is cheap enough for every metrics scrape (InboxStats also counts the whole
// history).
func (db *DB) InboxPending() (n int, err error) {
	err = db.View(func(tx *Tx) error {
		n = tx.inboxPending()
		return nil
	})
	return n, err
}

// migratePending turns the pending set of a file written before the processed mark existed
// into the mark: every event before the first pending one was processed (the worker has
// always gone in order), and the set is emptied.
func migratePending(btx *bolt.Tx) error {
	meta := btx.Bucket(bMeta)
	if meta.Get(metaProcessed) != nil {
		return nil
	}
	mark := btx.Bucket(bEvents).Sequence()
	if p := btx.Bucket(bPending); p != nil {
		if k, _ := p.Cursor().First(); k != nil {
			if len(k) != 8 {
				return fmt.Errorf("pending key %x: not a sequence number", k)
			}
			mark = binary.BigEndian.Uint64(k) - 1
		}
		if err := btx.DeleteBucket(bPending); err != nil {
			return err
		}
	}
	return meta.Put(metaProcessed, u64(mark))
}
