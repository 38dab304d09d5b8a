package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"clubbot/club"
)

// AddReport stores a confirmed report under a new id, indexed by club.
func (tx *Tx) AddReport(r club.Report) (uint64, error) {
	b := tx.tx.Bucket(bReports)
	seq, err := b.NextSequence()
	if err != nil {
		return 0, err
	}
	r.ID = seq
	if r.Revision == 0 {
		r.Revision = 1
	}
	if err := putJSON(b, u64(seq), r); err != nil {
		return 0, err
	}
	return seq, tx.tx.Bucket(bClubReports).Put(clubReportKey(r.ClubCode, seq), nil)
}

func clubReportKey(code string, seq uint64) []byte {
	k := append([]byte(code), 0)
	return append(k, u64(seq)...)
}

// ClubReports returns a club's reports, newest first, at most limit (0 = all).
func (tx *Tx) ClubReports(code string, limit int) ([]club.Report, error) {
	prefix := append([]byte(code), 0)
	c := tx.tx.Bucket(bClubReports).Cursor()
	var seqs []uint64
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		seqs = append(seqs, binary.BigEndian.Uint64(k[len(prefix):]))
	}
	var out []club.Report
	rb := tx.tx.Bucket(bReports)
	for i := len(seqs) - 1; i >= 0; i-- {
		var r club.Report
		if err := getJSON(rb, u64(seqs[i]), &r); err != nil {
			return nil, err
		}
		out = append(out, r)
		if limit > 0 && len(out) == limit {
			break
		}
	}
	return out, nil
}

// Reports calls fn for every report in id order; fn returning false stops the scan.
func (tx *Tx) Reports(fn func(club.Report) bool) error {
	rb := tx.tx.Bucket(bReports)
	c := rb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		_ = v
		var r club.Report
		if err := getJSON(rb, k, &r); err != nil {
			return err
		}
		if !fn(r) {
			return nil
		}
	}
	return nil
}

// AllReports returns every report in id order.
func (db *DB) AllReports() ([]club.Report, error) {
	var out []club.Report
	err := db.View(func(tx *Tx) error {
		return tx.Reports(func(r club.Report) bool { out = append(out, r); return true })
	})
	return out, err
}

// Report returns report id.
func (tx *Tx) Report(id uint64) (club.Report, bool, error) {
	var r club.Report
	err := getJSON(tx.tx.Bucket(bReports), u64(id), &r)
	if errors.Is(err, ErrNotFound) {
		return r, false, nil
	}
	return r, err == nil, err
}

// ReviseReport replaces report r.ID with r as its next revision; the revision it replaces
// is kept in the history, so a correction never loses what was reported first.
func (tx *Tx) ReviseReport(r club.Report) (club.Report, error) {
	old, ok, err := tx.Report(r.ID)
	if err != nil {
		return r, err
	}
	if !ok {
		return r, fmt.Errorf("revise report %d: %w", r.ID, ErrNotFound)
	}
	if old.Revision == 0 {
		old.Revision = 1
	}
	if err := putJSON(tx.tx.Bucket(bReportHist), binary.BigEndian.AppendUint32(u64(old.ID), uint32(old.Revision)), old); err != nil {
		return r, err
	}
	r.Revision = old.Revision + 1
	r.ClubCode, r.CreatedAt = old.ClubCode, old.CreatedAt
	return r, putJSON(tx.tx.Bucket(bReports), u64(r.ID), r)
}

// ReportHistory returns the earlier revisions of report id, oldest first.
func (tx *Tx) ReportHistory(id uint64) ([]club.Report, error) {
	prefix := u64(id)
	b := tx.tx.Bucket(bReportHist)
	c := b.Cursor()
	var out []club.Report
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		var r club.Report
		if err := getJSON(b, k, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
