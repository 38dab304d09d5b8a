package store

import (
	"encoding/json"

	"clubbot/flows"
)

// ScanSessions calls fn with every stored conversation, in user id order, until fn returns
// false. The conversation timer (bot.Timers) reads them once a minute; there is one record
// per user with a conversation in progress or recently expired, so the scan stays small.
// A record that does not decode is skipped, so one bad record cannot stop the timer for
// everyone (the worker reports it when that user writes). fn must not write to the store.
func (tx *Tx) ScanSessions(fn func(userID string, s flows.Session) bool) error {
	c := tx.tx.Bucket(bSessions).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var s flows.Session
		if err := json.Unmarshal(v, &s); err != nil {
			continue
		}
		if !fn(string(k), s) {
			return nil
		}
	}
	return nil
}

// SessionJSON returns the stored JSON of the user's conversation, or nil if there is none.
// The slice belongs to the transaction: compare or decode it there, never keep it.
func (tx *Tx) SessionJSON(userID string) []byte {
	return tx.tx.Bucket(bSessions).Get([]byte(userID))
}

// PutSessionJSON saves the user's conversation already encoded by the caller (the JSON of a
// flows.Session, exactly as PutSession would write it).
func (tx *Tx) PutSessionJSON(userID string, raw []byte) error {
	return tx.tx.Bucket(bSessions).Put([]byte(userID), raw)
}
