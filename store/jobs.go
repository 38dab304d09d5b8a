package store

import "time"

// bJobs records scheduled jobs that must run once (a month's reminders), so a restart
// neither repeats nor skips them.
var bJobs = []byte("jobs") // job key → time done (RFC 3339)

func init() { allBuckets = append(allBuckets, bJobs) }

// JobDone reports whether the job with this key already ran.
func (tx *Tx) JobDone(key string) bool { return tx.tx.Bucket(bJobs).Get([]byte(key)) != nil }

// MarkJob records that the job ran; call it in the transaction that did the job's work.
func (tx *Tx) MarkJob(key string, at time.Time) error {
	return tx.tx.Bucket(bJobs).Put([]byte(key), []byte(at.UTC().Format(time.RFC3339)))
}
