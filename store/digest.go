package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"time"
)

// bDigests is the digest delivery log: which weekly digest went to whom, so that each
// (province, week) goes out once even across restarts. A run's record is written in the
// same transaction as its outbox items: either both exist or neither does.
var bDigests = []byte("digests") // scope + "|" + week → DigestDelivery

func init() { allBuckets = append(allBuckets, bDigests) }

// DigestDelivery is the log of one scope's digest for one ISO week.
type DigestDelivery struct {
	Scope string      `json:"scope"` // province code, or "national"
	Week  string      `json:"week"`  // "2025-W46"
	Runs  []DigestRun `json:"runs"`  // the first delivery, then each forced one
}

// DigestRun is one delivery of a digest.
type DigestRun struct {
	At         time.Time         `json:"at"`
	Trigger    string            `json:"trigger"`         // "schedule", "late", "api", "api-force"
	Chart      string            `json:"chart,omitempty"` // what became of the chart: "uploaded", "none", an error
	Recipients []DigestRecipient `json:"recipients"`
}

// DigestRecipient is one officer or group a run sent to, with its outbox items in send
// order; their statuses (queued, sent, held, failed) are the delivery status.
type DigestRecipient struct {
	UserID  string   `json:"user_id,omitempty"`
	GroupID string   `json:"group_id,omitempty"`
	Name    string   `json:"name,omitempty"`
	Role    string   `json:"role"` // "officer", "admin" or "group"
	Items   []uint64 `json:"items"`
}

func digestKey(scope, week string) []byte { return []byte(scope + "|" + week) }

// DigestDelivery returns the log of a scope's digest for a week; ok is false when it has
// never been delivered.
func (tx *Tx) DigestDelivery(scope, week string) (DigestDelivery, bool, error) {
	var d DigestDelivery
	err := getJSON(tx.tx.Bucket(bDigests), digestKey(scope, week), &d)
	if errors.Is(err, ErrNotFound) {
		return DigestDelivery{Scope: scope, Week: week}, false, nil
	}
	return d, err == nil, err
}

// PutDigestDelivery saves the log of a scope's digest for a week.
func (tx *Tx) PutDigestDelivery(d DigestDelivery) error {
	if d.Scope == "" || d.Week == "" {
		return errors.New("put digest delivery: scope and week are required")
	}
	return putJSON(tx.tx.Bucket(bDigests), digestKey(d.Scope, d.Week), d)
}

// ReportsRaw calls fn with the stored JSON of every report, in id order, so that a scan
// of many reports can skip most of them before decoding (the weekly digest reads months
// of reports of every club). raw is a bbolt slice, valid only during the call: decode or
// copy it there.
func (tx *Tx) ReportsRaw(fn func(raw []byte) error) error {
	c := tx.tx.Bucket(bReports).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}

// ReportsRawSince is ReportsRaw from the first report confirmed at or after since: a weekly
// digest reads months of reports out of years of them. Reports are appended in the order
// they are confirmed (ids from NextSequence, created_at from the clock; corrections keep
// both), so creation time grows with the id and a binary search with Seek finds the start.
// Callers pass since with a margin for a clock that was set back.
func (tx *Tx) ReportsRawSince(since time.Time, fn func(raw []byte) error) error {
	c := tx.tx.Bucket(bReports).Cursor()
	first, _ := c.First()
	last, _ := c.Last()
	if first == nil {
		return nil
	}
	lo, hi := binary.BigEndian.Uint64(first), binary.BigEndian.Uint64(last)+1
	for lo < hi {
		mid := lo + (hi-lo)/2
		k, v := c.Seek(u64(mid))
		if k != nil && createdBefore(v, since) {
			lo = binary.BigEndian.Uint64(k) + 1 // k and every report before it are older
		} else {
			hi = mid // the first report at or after since is at or before mid
		}
	}
	for k, v := c.Seek(u64(lo)); k != nil; k, v = c.Next() {
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}

// createdBefore reads a stored report's created_at (its last occurrence: the field comes
// after the answers, whose text is escaped); a record it cannot read counts as recent, so
// the search errs towards reading more.
func createdBefore(raw []byte, t time.Time) bool {
	p := []byte(`"created_at":"`)
	i := bytes.LastIndex(raw, p)
	if i < 0 {
		return false
	}
	v := raw[i+len(p):]
	j := bytes.IndexByte(v, '"')
	if j < 0 {
		return false
	}
	at, err := time.Parse(time.RFC3339Nano, string(v[:j]))
	return err == nil && at.Before(t)
}

// ClubsRaw calls fn with the stored JSON of every club, in code order. raw is a bbolt
// slice, valid only during the call. The digest reads five fields of 20,000 clubs every
// week and for every "tổng hợp"; decoding whole records (timestamps included) would cost
// more than the rest of its work.
func (tx *Tx) ClubsRaw(fn func(raw []byte) error) error {
	c := tx.tx.Bucket(bClubs).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}
