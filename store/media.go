package store

import (
	"errors"
	"time"
)

// Photos users send arrive as Zalo CDN links that do not last; the bot keeps a copy in
// the data folder. The media bucket, keyed by the link, coordinates the worker (which
// records the link inside its transaction) and the downloader (which fetches outside it).
var (
	bMedia        = []byte("media")         // URL → Media
	bMediaPending = []byte("media_pending") // URL → nil: not downloaded yet
)

func init() { allBuckets = append(allBuckets, bMedia, bMediaPending) }

// Media statuses.
const (
	MediaPending = "pending"
	MediaDone    = "done"
	MediaFailed  = "failed" // for good: too large, not an image, gone
)

// MaxMediaURL bounds the key length; Zalo's links are a few hundred bytes.
const MaxMediaURL = 4096

// Media is one photo a user sent and its local copy.
type Media struct {
	URL         string    `json:"url"`
	UserID      string    `json:"user_id"`
	SourceSeq   uint64    `json:"source_seq,omitempty"` // the inbox event that carried it
	Status      string    `json:"status"`
	Path        string    `json:"path,omitempty"` // relative to the store's folder
	ContentType string    `json:"content_type,omitempty"`
	Size        int64     `json:"size,omitempty"`
	SHA256      string    `json:"sha256,omitempty"`
	Attempts    int       `json:"attempts,omitempty"`
	LastError   string    `json:"last_error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	DoneAt      time.Time `json:"done_at,omitzero"`
}

// QueueMedia records a photo link to download unless it is known already; it reports
// whether it was new.
func (tx *Tx) QueueMedia(m Media) (bool, error) {
	if m.URL == "" || len(m.URL) > MaxMediaURL {
		return false, errors.New("queue media: empty or overlong url")
	}
	b := tx.tx.Bucket(bMedia)
	if b.Get([]byte(m.URL)) != nil {
		return false, nil
	}
	m.Status = MediaPending
	if err := putJSON(b, []byte(m.URL), m); err != nil {
		return false, err
	}
	return true, tx.tx.Bucket(bMediaPending).Put([]byte(m.URL), nil)
}

// Media returns the record of a photo link.
func (tx *Tx) Media(url string) (Media, bool, error) {
	var m Media
	err := getJSON(tx.tx.Bucket(bMedia), []byte(url), &m)
	if errors.Is(err, ErrNotFound) {
		return m, false, nil
	}
	return m, err == nil, err
}

// Media returns the record of a photo link.
func (db *DB) Media(url string) (m Media, ok bool, err error) {
	err = db.View(func(tx *Tx) error {
		m, ok, err = tx.Media(url)
		return err
	})
	return m, ok, err
}

// PendingMedia returns up to limit photos still to download.
func (db *DB) PendingMedia(limit int) ([]Media, error) {
	var out []Media
	err := db.View(func(tx *Tx) error {
		b := tx.tx.Bucket(bMedia)
		c := tx.tx.Bucket(bMediaPending).Cursor()
		for k, _ := c.First(); k != nil && len(out) < limit; k, _ = c.Next() {
			var m Media
			if err := getJSON(b, k, &m); err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	return out, err
}

// PutMedia saves a photo's new state; it leaves the pending set once done or failed.
func (db *DB) PutMedia(m Media) error {
	return db.Update(func(tx *Tx) error {
		if err := putJSON(tx.tx.Bucket(bMedia), []byte(m.URL), m); err != nil {
			return err
		}
		if m.Status == MediaPending {
			return tx.tx.Bucket(bMediaPending).Put([]byte(m.URL), nil)
		}
		return tx.tx.Bucket(bMediaPending).Delete([]byte(m.URL))
	})
}

// MediaPaths returns the local copy of each link that has one (relative to the store's
// folder), for exports and the admin console.
func (db *DB) MediaPaths(urls []string) (map[string]string, error) {
	out := map[string]string{}
	err := db.View(func(tx *Tx) error {
		for _, u := range urls {
			m, ok, err := tx.Media(u)
			if err != nil {
				return err
			}
			if ok && m.Status == MediaDone {
				out[u] = m.Path
			}
		}
		return nil
	})
	return out, err
}
