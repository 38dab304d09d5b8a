package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"clubbot/club"
	"clubbot/flows"
)

// Conflict is a row of an import that clashes with what the store already holds. Row is
// the row's index in the slice given; the caller knows its line in the file.
type Conflict struct {
	Row     int
	Field   string
	Message string
}

// ClubKey is what of a club import row is checked against the store.
type ClubKey struct {
	Code       string
	ChairPhone string   // normalised; empty when the row's phone is invalid
	Board      []string // board members' phones, normalised
}

// errConflicts rolls back an import transaction that found conflicts.
var errConflicts = errors.New("import conflicts")

// CheckClubs lists the rows whose chairperson phone already belongs to another club (one
// not in the file: a phone may move between clubs of the same file) or to an officer. A
// phone identifies one person in one role when they link their Zalo account.
func (db *DB) CheckClubs(keys []ClubKey) (out []Conflict, err error) {
	err = db.View(func(tx *Tx) error {
		out, err = tx.clubConflicts(keys)
		return err
	})
	return out, err
}

func (tx *Tx) clubConflicts(keys []ClubKey) ([]Conflict, error) {
	inFile := make(map[string]bool, len(keys))
	for _, k := range keys {
		inFile[strings.ToUpper(k.Code)] = true
	}
	phones := tx.tx.Bucket(bChairPhones)
	var out []Conflict
	for i, key := range keys {
		for j, ph := range append([]string{key.ChairPhone}, key.Board...) {
			field := "chair_phone"
			if j > 0 {
				field = "board_phones"
			}
			more, err := tx.phoneConflicts(phones, inFile, i, key.Code, ph, field)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		}
	}
	return out, nil
}

// phoneConflicts checks one phone of row i (of club code) against the other clubs and
// the officers.
func (tx *Tx) phoneConflicts(phones *bolt.Bucket, inFile map[string]bool, i int, code, phone, field string) ([]Conflict, error) {
	if phone == "" {
		return nil, nil
	}
	var out []Conflict
	if other := phones.Get([]byte(phone)); other != nil && string(other) != strings.ToUpper(code) && !inFile[string(other)] {
		c, _, err := tx.Club(string(other))
		if err != nil {
			return nil, err
		}
		out = append(out, Conflict{Row: i, Field: field,
			Message: fmt.Sprintf("số điện thoại %s đã thuộc CLB %s (%s)", phone, c.Code, c.Name)})
	}
	o, found, err := tx.OfficerByPhone(phone)
	if err != nil {
		return nil, err
	}
	if found {
		out = append(out, Conflict{Row: i, Field: field,
			Message: fmt.Sprintf("số điện thoại %s đã là của cán bộ %s; mỗi số chỉ dùng cho một vai trò", phone, o.Name)})
	}
	return out, nil
}

// ImportClubs checks clubs against the store and, if nothing conflicts, writes them all in
// one transaction. With conflicts nothing is written. Codes are stored upper-case; a row
// identical to the stored club changes nothing, so re-importing a file is a no-op.
func (db *DB) ImportClubs(clubs []club.Club, now time.Time) (created, updated int, conflicts []Conflict, err error) {
	keys := make([]ClubKey, len(clubs))
	for i, c := range clubs {
		keys[i] = ClubKey{Code: c.Code, ChairPhone: c.ChairPhone, Board: c.BoardPhones}
	}
	err = db.Update(func(tx *Tx) error {
		created, updated = 0, 0
		var err error
		if conflicts, err = tx.clubConflicts(keys); err != nil {
			return err
		}
		if len(conflicts) > 0 {
			return errConflicts
		}
		b, phones := tx.tx.Bucket(bClubs), tx.tx.Bucket(bChairPhones)
		for _, c := range clubs {
			c.Code = strings.ToUpper(c.Code)
			old, exists, err := tx.Club(c.Code)
			if err != nil {
				return err
			}
			if exists {
				c.UpdatedAt = old.UpdatedAt
				if old.Equal(c) {
					continue
				}
				// Drop an old phone's entry only if it still points here: within one file
				// two clubs may swap phones, and the other club may already own it.
				for _, ph := range old.Phones() {
					if !slices.Contains(c.Phones(), ph) && string(phones.Get([]byte(ph))) == c.Code {
						if err := phones.Delete([]byte(ph)); err != nil {
							return err
						}
					}
				}
				updated++
			} else {
				created++
			}
			c.UpdatedAt = now
			if err := putJSON(b, []byte(c.Code), c); err != nil {
				return err
			}
			for _, ph := range c.Phones() {
				if err := phones.Put([]byte(ph), []byte(c.Code)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if errors.Is(err, errConflicts) {
		return 0, 0, conflicts, nil
	}
	return created, updated, nil, err
}

// CheckOfficers lists the rows whose phone already belongs to a club's chairperson.
func (db *DB) CheckOfficers(phones []string) (out []Conflict, err error) {
	err = db.View(func(tx *Tx) error {
		out, err = tx.officerConflicts(phones)
		return err
	})
	return out, err
}

func (tx *Tx) officerConflicts(phones []string) ([]Conflict, error) {
	var out []Conflict
	for i, p := range phones {
		if p == "" {
			continue
		}
		c, found, err := tx.ClubByChairPhone(p)
		if err != nil {
			return nil, err
		}
		if found {
			out = append(out, Conflict{Row: i, Field: "phone",
				Message: fmt.Sprintf("số điện thoại đã là của chủ nhiệm CLB %s (%s); mỗi số chỉ dùng cho một vai trò", c.Code, c.Name)})
		}
	}
	return out, nil
}

// ImportOfficers checks officers against the store and, if nothing conflicts, writes them
// all in one transaction; with conflicts nothing is written.
func (db *DB) ImportOfficers(officers []club.Officer) (created, updated int, conflicts []Conflict, err error) {
	phones := make([]string, len(officers))
	for i, o := range officers {
		phones[i] = o.Phone
	}
	err = db.Update(func(tx *Tx) error {
		created, updated = 0, 0
		var err error
		if conflicts, err = tx.officerConflicts(phones); err != nil {
			return err
		}
		if len(conflicts) > 0 {
			return errConflicts
		}
		b := tx.tx.Bucket(bOfficers)
		for _, o := range officers {
			old, exists, err := tx.OfficerByPhone(o.Phone)
			if err != nil {
				return err
			}
			if exists && old == o {
				continue
			}
			if exists {
				updated++
			} else {
				created++
			}
			if err := putJSON(b, []byte(o.Phone), o); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errConflicts) {
		return 0, 0, conflicts, nil
	}
	return created, updated, nil, err
}

// Commune is a commune-level unit (xã, phường, đặc khu) as the club registry names it.
type Commune struct {
	Province string `json:"province"`
	Name     string `json:"name"`
	Clubs    int    `json:"clubs"`
}

// Communes returns the communes of a province (all when empty), derived from the clubs:
// imports create them (ISHC.md §8.4: there is no official commune table in clubbot yet).
// Names that differ only in case or diacritics are one commune, shown as first spelled.
// Computing them keeps them right whatever path changed the clubs; 20,000 clubs scan in
// milliseconds.
func (db *DB) Communes(province string) ([]Commune, error) {
	type key struct{ province, folded string }
	idx := map[key]int{}
	var out []Commune
	err := db.View(func(tx *Tx) error {
		clubs, err := tx.Clubs(province)
		if err != nil {
			return err
		}
		for _, c := range clubs {
			k := key{c.Province, flows.Fold(c.Commune)}
			i, ok := idx[k]
			if !ok {
				i = len(out)
				idx[k] = i
				out = append(out, Commune{Province: c.Province, Name: c.Commune})
			}
			out[i].Clubs++
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Province != out[j].Province {
			return out[i].Province < out[j].Province
		}
		return flows.Fold(out[i].Name) < flows.Fold(out[j].Name)
	})
	return out, err
}

// ReportFilter selects reports in a scan. Empty fields do not filter.
type ReportFilter struct {
	From, To string // meeting date bounds, YYYY-MM-DD, inclusive
	Province string
	FlowID   string
}

// Match reports whether r passes the filter. A report without a meeting date passes no
// date bound.
func (f ReportFilter) Match(r *club.Report) bool {
	if r.MeetingDate == "" && (f.From != "" || f.To != "") {
		return false
	}
	return (f.From == "" || r.MeetingDate >= f.From) && (f.To == "" || r.MeetingDate <= f.To) &&
		(f.Province == "" || r.Province == f.Province) && (f.FlowID == "" || r.FlowID == f.FlowID)
}

// ReportPage appends to buf at most limit reports that pass f and have an id above after,
// in id order, and returns the id to continue after; done is true when the scan reached
// the last report. Each page is one short read transaction, so an export can write a page
// to a slow client without holding a transaction open: a long read transaction would keep
// bbolt from remapping a growing file and stall every writer (the webhook inbox) meanwhile.
// There is no index by meeting date: reports are scanned in id order and filtered, which
// costs about a second per 200,000 reports.
func (db *DB) ReportPage(f ReportFilter, after uint64, limit int, buf []club.Report) (page []club.Report, next uint64, done bool, err error) {
	page, next, done = buf, after, true
	err = db.View(func(tx *Tx) error {
		b := tx.tx.Bucket(bReports)
		c := b.Cursor()
		k, v := c.Seek(u64(after + 1))
		for ; k != nil; k, v = c.Next() {
			if limit > 0 && len(page) == limit {
				done = false
				return nil
			}
			next = binary.BigEndian.Uint64(k)
			if !f.mayMatch(v) {
				continue
			}
			var r club.Report
			if err := getJSON(b, k, &r); err != nil {
				return err
			}
			if f.Match(&r) {
				page = append(page, r)
			}
		}
		return nil
	})
	return page, next, done, err
}

// meetingDateField is how club.Report's top-level meeting date starts in its JSON record.
// The answers map also has a "meeting_date" key, but its value is an object ("…":{), so
// the first occurrence followed by a quote is the top-level field.
var meetingDateField = []byte(`"meeting_date":"`)

// mayMatch rejects a record whose meeting date is outside the bounds without decoding it:
// exporting one month out of two years of reports decodes only that month.
func (f ReportFilter) mayMatch(raw []byte) bool {
	if f.From == "" && f.To == "" {
		return true
	}
	i := bytes.Index(raw, meetingDateField)
	if i < 0 || len(raw) < i+len(meetingDateField)+10 {
		return true // decode and let Match decide
	}
	d := string(raw[i+len(meetingDateField) : i+len(meetingDateField)+10])
	return (f.From == "" || d >= f.From) && (f.To == "" || d <= f.To)
}
