package store

// InboxPending is the number of events received and not yet processed: the worker's
// backlog. It reads only the pending set, so it is cheap enough for every metrics scrape
// (InboxStats also counts the whole history).
func (db *DB) InboxPending() (n int, err error) {
	err = db.View(func(tx *Tx) error {
		n = tx.tx.Bucket(bPending).Stats().KeyN
		return nil
	})
	return n, err
}
