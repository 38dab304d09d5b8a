package store

import (
	"encoding/binary"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Deduplication of webhook deliveries (ARCHITECTURE rule 2) is answered from two places:
//
//   - the keys of recent events, in memory: every event recorded after the archive mark
//     (meta "dedup_archived_seq"), loaded from the events bucket when the store opens;
//   - the dedup bucket (key → seq), which holds the keys of every event up to that mark.
//
// Recording an event writes only its sequential records (events, pending): Zalo's message ids
// come in no order, and inserting them one group at a time into a large bucket dirtied one
// leaf page per event, four times the CPU of the rest of the commit (BENCHMARKS.md, "Webhook
// ingest"). ArchiveDedup later moves the keys of events older than a day into the bucket in
// one large transaction, where many keys share each page written. Zalo redelivers for at most
// 12 hours (API.md §2.2), so the redeliveries that matter are answered from memory, and any
// later one from the bucket: nothing is ever forgotten.

// metaDedupArchived is the sequence number up to which every event's key is in the dedup
// bucket (8 bytes, big-endian).
var metaDedupArchived = []byte("dedup_archived_seq")

// DedupRecent is how long an event's key stays in memory before ArchiveDedup moves it to
// the dedup bucket: well beyond Zalo's retry ladder.
const DedupRecent = 24 * time.Hour

// recentKey is one event recorded after the archive mark.
type recentKey struct {
	seq uint64
	key string
	at  time.Time // received
}

// recentKeys is the in-memory part of the dedup index.
type recentKeys struct {
	mu    sync.Mutex
	bySeq []recentKey // in sequence order
	keys  map[string]uint64
}

func (r *recentKeys) get(key string) (uint64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.keys[key]
	return s, ok
}

func (r *recentKeys) add(ks []recentKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bySeq = append(r.bySeq, ks...)
	for _, k := range ks {
		r.keys[k.key] = k.seq
	}
}

// len is the number of keys held in memory.
func (r *recentKeys) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.bySeq)
}

// loadRecentKeys reads, inside the store's opening transaction, the keys of the events after
// the archive mark. A file written before the mark existed had every key in the dedup
// bucket: its mark is set to the last event.
func loadRecentKeys(btx *bolt.Tx) (*recentKeys, error) {
	r := &recentKeys{keys: map[string]uint64{}}
	meta, ev := btx.Bucket(bMeta), btx.Bucket(bEvents)
	mark := meta.Get(metaDedupArchived)
	if mark == nil {
		return r, meta.Put(metaDedupArchived, u64(ev.Sequence()))
	}
	c := ev.Cursor()
	for k, v := c.Seek(u64(binary.BigEndian.Uint64(mark) + 1)); k != nil; k, v = c.Next() {
		e, err := decodeInboxKey(k, v)
		if err != nil {
			return nil, err
		}
		if e.Key != "" {
			r.bySeq = append(r.bySeq, recentKey{seq: e.Seq, key: e.Key, at: e.ReceivedAt})
			r.keys[e.Key] = e.Seq
		}
	}
	return r, nil
}

// MaxArchive bounds the keys one ArchiveDedup transaction moves.
const MaxArchive = 50_000

// ArchiveDedup moves the keys of events received before cutoff from memory to the dedup
// bucket, in sequence order, and returns how many it moved. The bot calls it hourly with
// cutoff = now − DedupRecent. A key leaves memory only after the transaction that stores it
// has committed, so at every moment each key is in one place or both.
func (db *DB) ArchiveDedup(cutoff time.Time) (int, error) {
	db.archiveMu.Lock()
	defer db.archiveMu.Unlock()
	r := db.recent
	r.mu.Lock()
	n := 0
	for n < len(r.bySeq) && n < MaxArchive && r.bySeq[n].at.Before(cutoff) {
		n++
	}
	batch := append([]recentKey(nil), r.bySeq[:n]...)
	r.mu.Unlock()
	if n == 0 {
		return 0, nil
	}
	err := db.bolt.Update(func(btx *bolt.Tx) error {
		dd := btx.Bucket(bDedup)
		for _, k := range batch {
			if err := dd.Put([]byte(k.key), u64(k.seq)); err != nil {
				return err
			}
		}
		return btx.Bucket(bMeta).Put(metaDedupArchived, u64(batch[n-1].seq))
	})
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range batch {
		if r.keys[k.key] == k.seq {
			delete(r.keys, k.key)
		}
	}
	// Only AppendInbox adds, at the end, so the batch is still the front.
	r.bySeq = append(r.bySeq[:0:0], r.bySeq[n:]...)
	return n, nil
}

// DedupInMemory is the number of event keys held in memory (a metric).
func (db *DB) DedupInMemory() int { return db.recent.len() }
