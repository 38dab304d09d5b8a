package store

import (
	"errors"
	"sort"
	"time"
)

// bGroups maps a Zalo group (GMF, API.md §6) to the province it serves.
var bGroups = []byte("group_provinces") // group id → GroupLink

func init() { allBuckets = append(allBuckets, bGroups) }

// GroupLink says which province a Zalo group of the OA serves (set by an admin).
type GroupLink struct {
	GroupID   string    `json:"group_id"`
	Province  string    `json:"province"`
	UpdatedAt time.Time `json:"updated_at"`
}

// GroupLinks returns every group → province mapping, by group id.
func (db *DB) GroupLinks() (map[string]GroupLink, error) {
	out := map[string]GroupLink{}
	err := db.View(func(tx *Tx) error {
		b := tx.tx.Bucket(bGroups)
		return b.ForEach(func(k, _ []byte) error {
			var g GroupLink
			if err := getJSON(b, k, &g); err != nil {
				return err
			}
			out[g.GroupID] = g
			return nil
		})
	})
	return out, err
}

// SetGroupProvince maps a group to a province; an empty province removes the mapping.
func (db *DB) SetGroupProvince(groupID, province string, now time.Time) error {
	if groupID == "" {
		return errors.New("set group province: no group id")
	}
	return db.Update(func(tx *Tx) error {
		b := tx.tx.Bucket(bGroups)
		if province == "" {
			return b.Delete([]byte(groupID))
		}
		return putJSON(b, []byte(groupID), GroupLink{GroupID: groupID, Province: province, UpdatedAt: now})
	})
}

// GroupsOfProvince returns the ids of the groups mapped to a province, sorted.
func (tx *Tx) GroupsOfProvince(province string) ([]string, error) {
	var out []string
	b := tx.tx.Bucket(bGroups)
	err := b.ForEach(func(k, _ []byte) error {
		var g GroupLink
		if err := getJSON(b, k, &g); err != nil {
			return err
		}
		if g.Province == province {
			out = append(out, g.GroupID)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}
