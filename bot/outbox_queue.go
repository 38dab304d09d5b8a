package bot

import (
	"encoding/json"
	"fmt"
	"time"
	"unicode/utf8"

	"clubbot/bot/zalo"
	"clubbot/store"
)

// OutMessage is the value an outbox item holds: a zalo.Message plus what the sender needs
// to prepare it. Its JSON is a superset of zalo.Message's, so an item written as a plain
// zalo.Message decodes unchanged.
type OutMessage struct {
	zalo.Message
	// ImageFile is a local JPG or PNG (≤ 1 MB) uploaded before sending. The attachment id
	// Zalo returns is kept in Message.AttachmentID and reused by retries, and uploaded
	// again when older than attachmentReuse or refused with -100 (ids expire after 7 days,
	// API.md §8).
	ImageFile  string    `json:",omitempty"`
	UploadedAt time.Time `json:",omitzero"`
}

// attachmentReuse is how long an uploaded attachment id is reused: a day short of the
// 7-day expiry of API.md §8, so an id is never used on its last day.
const attachmentReuse = 6 * 24 * time.Hour

// EnqueueMessage records m in the outbox inside tx, for it.UserID or it.GroupID, with the
// item's kind, priority and proactive flag as given. Text over 2,000 characters is split
// into several items on line boundaries (API.md §4.2); buttons go with the last part and
// a quote with the first. It returns the ids of the items, in send order. Call it from
// the transaction that decides to send (the worker's, a digest run's), so the message
// exists exactly when the decision does; the sender is woken after the commit.
func EnqueueMessage(tx *store.Tx, it store.OutboxItem, m OutMessage, metrics *Metrics) ([]uint64, error) {
	if it.GroupID != "" {
		// Groups never get buttons or quotes (API.md §6.1): any choices go as the numbered
		// text the message already carries.
		m.Buttons, m.QuoteMsgID = nil, ""
	}
	parts := []OutMessage{m}
	if m.Text != "" && utf8.RuneCountInString(m.Text) > zalo.MaxTextRunes {
		parts = nil
		chunks := zalo.SplitText(m.Text, zalo.MaxTextRunes)
		for i, t := range chunks {
			p := OutMessage{Message: zalo.Message{Text: t}}
			if i == 0 {
				p.QuoteMsgID = m.QuoteMsgID
			}
			if i == len(chunks)-1 {
				// An image or card cannot carry 2,000 characters of caption anyway; the
				// last part keeps whatever the message had besides its text.
				p.Buttons, p.ImageURL, p.AttachmentID, p.ImageFile, p.InfoCard = m.Buttons, m.ImageURL, m.AttachmentID, m.ImageFile, m.InfoCard
			}
			parts = append(parts, p)
		}
	}
	if it.Kind == "" {
		it.Kind = "reply"
	}
	ids := make([]uint64, 0, len(parts))
	for _, p := range parts {
		raw, err := json.Marshal(p)
		if err != nil {
			return ids, fmt.Errorf("encode outgoing message: %w", err)
		}
		item := it
		item.Message = raw
		id, err := tx.Enqueue(item)
		if err != nil {
			return ids, err
		}
		ids = append(ids, id)
		if metrics != nil {
			c := metrics.OutQueued.WithLabelValues(it.Kind)
			tx.OnCommit(c.Inc)
		}
	}
	return ids, nil
}
