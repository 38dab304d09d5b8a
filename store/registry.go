package store

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"clubbot/club"
)

// User returns a Zalo user; ok is false if the user never wrote or followed.
func (tx *Tx) User(id string) (club.User, bool, error) {
	var u club.User
	err := getJSON(tx.tx.Bucket(bUsers), []byte(id), &u)
	if errors.Is(err, ErrNotFound) {
		return club.User{ID: id}, false, nil
	}
	return u, err == nil, err
}

// PutUser saves a Zalo user.
func (tx *Tx) PutUser(u club.User) error { return putJSON(tx.tx.Bucket(bUsers), []byte(u.ID), u) }

// Users returns every known Zalo user.
func (db *DB) Users() (out []club.User, err error) {
	err = db.View(func(tx *Tx) error {
		out, err = tx.Users()
		return err
	})
	return out, err
}

// Users returns every known Zalo user.
func (tx *Tx) Users() ([]club.User, error) {
	var out []club.User
	b := tx.tx.Bucket(bUsers)
	err := b.ForEach(func(k, _ []byte) error {
		var u club.User
		if err := getJSON(b, k, &u); err != nil {
			return err
		}
		out = append(out, u)
		return nil
	})
	return out, err
}

// Club returns a club by code.
func (tx *Tx) Club(code string) (club.Club, bool, error) {
	var c club.Club
	err := getJSON(tx.tx.Bucket(bClubs), []byte(strings.ToUpper(code)), &c)
	if errors.Is(err, ErrNotFound) {
		return c, false, nil
	}
	return c, err == nil, err
}

// ClubByChairPhone returns the club whose chairperson or board member has this
// (normalised) phone; compare with the club's ChairPhone to tell which.
func (tx *Tx) ClubByChairPhone(phone string) (club.Club, bool, error) {
	code := tx.tx.Bucket(bChairPhones).Get([]byte(phone))
	if code == nil {
		return club.Club{}, false, nil
	}
	return tx.Club(string(code))
}

// OfficerByPhone returns the officer or admin with this (normalised) phone.
func (tx *Tx) OfficerByPhone(phone string) (club.Officer, bool, error) {
	var o club.Officer
	err := getJSON(tx.tx.Bucket(bOfficers), []byte(phone), &o)
	if errors.Is(err, ErrNotFound) {
		return o, false, nil
	}
	return o, err == nil, err
}

// Clubs returns the clubs of a province (all clubs when province is empty), ordered by code.
func (tx *Tx) Clubs(province string) ([]club.Club, error) {
	var out []club.Club
	b := tx.tx.Bucket(bClubs)
	err := b.ForEach(func(k, _ []byte) error {
		var c club.Club
		if err := getJSON(b, k, &c); err != nil {
			return err
		}
		if province == "" || c.Province == province {
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// Clubs returns the clubs of a province (all when empty).
func (db *DB) Clubs(province string) (out []club.Club, err error) {
	err = db.View(func(tx *Tx) error {
		out, err = tx.Clubs(province)
		return err
	})
	return out, err
}

// UpsertClubs imports clubs (ImportClubs) and turns a conflict into an error: for seeding
// and tests, where the data is known to be consistent.
func (db *DB) UpsertClubs(clubs []club.Club, now time.Time) (created, updated int, err error) {
	created, updated, conflicts, err := db.ImportClubs(clubs, now)
	if err == nil && len(conflicts) > 0 {
		err = fmt.Errorf("upsert clubs: row %d, %s: %s", conflicts[0].Row+1, conflicts[0].Field, conflicts[0].Message)
	}
	return created, updated, err
}

// UpsertOfficers imports officers (ImportOfficers), a conflict being an error.
func (db *DB) UpsertOfficers(officers []club.Officer) (created, updated int, err error) {
	created, updated, conflicts, err := db.ImportOfficers(officers)
	if err == nil && len(conflicts) > 0 {
		err = fmt.Errorf("upsert officers: row %d, %s: %s", conflicts[0].Row+1, conflicts[0].Field, conflicts[0].Message)
	}
	return created, updated, err
}

// Officers returns the officers of a province (all when empty).
func (tx *Tx) Officers(province string) ([]club.Officer, error) {
	var out []club.Officer
	b := tx.tx.Bucket(bOfficers)
	err := b.ForEach(func(k, _ []byte) error {
		var o club.Officer
		if err := getJSON(b, k, &o); err != nil {
			return err
		}
		if province == "" || o.Province == province {
			out = append(out, o)
		}
		return nil
	})
	return out, err
}

// ClubChairUser returns the id of the Zalo user actively linked as the club's chairperson.
// It scans the users: officers ask for one club at a time, and users number in thousands.
func (tx *Tx) ClubChairUser(code string) (string, bool, error) {
	b := tx.tx.Bucket(bUsers)
	var id string
	err := b.ForEach(func(k, _ []byte) error {
		var u club.User
		if err := getJSON(b, k, &u); err != nil {
			return err
		}
		if u.Active && u.Role == club.RoleChair && u.ClubCode == code {
			id = u.ID
		}
		return nil
	})
	return id, id != "", err
}
