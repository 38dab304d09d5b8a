package store

import (
	"errors"

	"clubbot/flows"
)

// Session returns the user's conversation in progress, if any.
func (tx *Tx) Session(userID string) (flows.Session, bool, error) {
	var s flows.Session
	err := getJSON(tx.tx.Bucket(bSessions), []byte(userID), &s)
	if errors.Is(err, ErrNotFound) {
		return s, false, nil
	}
	return s, err == nil, err
}

// PutSession saves the user's conversation.
func (tx *Tx) PutSession(userID string, s flows.Session) error {
	return putJSON(tx.tx.Bucket(bSessions), []byte(userID), s)
}

// DeleteSession ends the user's conversation.
func (tx *Tx) DeleteSession(userID string) error {
	return tx.tx.Bucket(bSessions).Delete([]byte(userID))
}
