// Package store is clubbot's store of record: a bbolt file holding the inbox, Zalo users,
// clubs, officers, conversation sessions, reports, the outbox, flow template revisions and
// the OA's tokens. Every method is one short transaction that decodes into Go values before
// returning; no bbolt slice escapes a transaction.
package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bucket names. Keys scanned by order use 8-byte big-endian sequence numbers.
var (
	bMeta        = []byte("meta")
	bEvents      = []byte("events")         // seq → InboxEvent (kept as history)
	bPending     = []byte("pending")        // before inbox_processed_seq: seq → nil (inbox_pending.go)
	bDedup       = []byte("dedup")          // dedup key → seq, up to the archive mark (dedup.go)
	bUsers       = []byte("users")          // Zalo user id → club.User
	bSessions    = []byte("sessions")       // Zalo user id → flows.Session
	bClubs       = []byte("clubs")          // club code → club.Club
	bChairPhones = []byte("chair_phones")   // phone → club code
	bOfficers    = []byte("officers")       // phone → club.Officer
	bReports     = []byte("reports")        // seq → club.Report
	bClubReports = []byte("club_reports")   // club code + 0 + seq → nil
	bReportHist  = []byte("report_history") // report seq + revision (4 bytes) → earlier club.Report
	bOutbox      = []byte("outbox")         // seq → OutboxItem
	bOutPending  = []byte("outbox_queue")   // priority byte + seq → nil
	bFlows       = []byte("flows")          // flow id + 0 + revision (4 bytes) → FlowRevision
	bTokens      = []byte("tokens")         // "oa" → zalo tokens
	allBuckets   = [][]byte{bMeta, bEvents, bDedup, bUsers, bSessions, bClubs, bChairPhones,
		bOfficers, bReports, bClubReports, bReportHist, bOutbox, bOutPending, bFlows, bTokens}
)

// ErrNotFound is returned when a keyed record does not exist.
var ErrNotFound = errors.New("not found")

// DB is the bbolt store.
type DB struct {
	bolt *bolt.DB
	path string
	// appendMu makes AppendInbox one at a time: its duplicate check reads the recent keys,
	// which it updates after its commit.
	appendMu  sync.Mutex
	archiveMu sync.Mutex
	recent    *recentKeys
}

// Open opens (creating it and its folder if needed) the bbolt file at path. The open times
// out after one second so a second process on the same file fails fast instead of hanging
// on the file lock.
func Open(path string) (*DB, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("open store: create folder %s: %w", dir, err)
		}
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db := &DB{bolt: b, path: path}
	// One transaction (one pair of fsyncs) for what opening needs: the buckets, the inbox
	// marks of older files, and the recent dedup keys.
	err = b.Update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if err := migratePending(tx); err != nil {
			return err
		}
		db.recent, err = loadRecentKeys(tx)
		return err
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return db, nil
}

// Close closes the file.
func (db *DB) Close() error { return db.bolt.Close() }

// Path is the file's path.
func (db *DB) Path() string { return db.path }

// Ping answers whether the store can run a read transaction.
func (db *DB) Ping() error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bMeta) == nil {
			return errors.New("store: meta bucket missing")
		}
		return nil
	})
}

// Check runs bbolt's consistency check; tests call it after crashes.
func (db *DB) Check() error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	})
}

// Tx is one read-write or read-only transaction with typed accessors. It is only valid
// inside the function passed to Update or View.
type Tx struct{ tx *bolt.Tx }

// OnCommit runs fn after the transaction commits, and not at all if it rolls back: counters
// of what a transaction wrote are bumped with it, so a group the worker retries one event
// at a time is not counted twice.
func (tx *Tx) OnCommit(fn func()) { tx.tx.OnCommit(fn) }

// Update runs fn in one read-write transaction, committed (and fsynced) when fn returns nil.
func (db *DB) Update(fn func(*Tx) error) error {
	return db.bolt.Update(func(tx *bolt.Tx) error { return fn(&Tx{tx: tx}) })
}

// View runs fn in one read-only transaction.
func (db *DB) View(fn func(*Tx) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error { return fn(&Tx{tx: tx}) })
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func getJSON(b *bolt.Bucket, key []byte, v any) error {
	raw := b.Get(key)
	if raw == nil {
		return ErrNotFound
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode record %q: %w", key, err)
	}
	return nil
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", key, err)
	}
	return b.Put(key, raw)
}
