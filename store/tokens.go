package store

import (
	"context"
	"errors"

	"clubbot/bot/zalo"
)

// LoadTokens returns the OA token pair saved by the last refresh.
func (db *DB) LoadTokens(ctx context.Context) (zalo.Tokens, bool, error) {
	var t zalo.Tokens
	err := db.View(func(tx *Tx) error { return getJSON(tx.tx.Bucket(bTokens), []byte("oa"), &t) })
	if errors.Is(err, ErrNotFound) {
		return t, false, nil
	}
	return t, err == nil, err
}

// SaveTokens durably saves the OA token pair. The single-use refresh token must be on disk
// before the new access token is used (API.md §7.3 rule 2): Update returns after fsync.
func (db *DB) SaveTokens(ctx context.Context, t zalo.Tokens) error {
	return db.Update(func(tx *Tx) error { return putJSON(tx.tx.Bucket(bTokens), []byte("oa"), t) })
}
