package store

// InboxPending reports whether event seq is recorded and not yet processed. The worker
// uses it for events the ingest committer handed over as it stored them, so they are not
// read and decoded again.
func (tx *Tx) InboxPending(seq uint64) bool {
	return tx.tx.Bucket(bPending).Get(u64(seq)) != nil
}
