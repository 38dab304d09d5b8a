package store

import (
	"bytes"
	"encoding/binary"
	"time"
)

// FlowRevision is one saved version of a flow template. Revisions are never changed or
// deleted: a conversation finishes on the revision it started with (ARCHITECTURE rule 4).
type FlowRevision struct {
	FlowID   string    `json:"flow_id"`
	Revision int       `json:"revision"`
	YAML     string    `json:"yaml"`
	SavedAt  time.Time `json:"saved_at"`
	SavedBy  string    `json:"saved_by,omitempty"`
	Note     string    `json:"note,omitempty"` // e.g. "rollback to 2", "embedded default"
}

func flowKey(id string, rev int) []byte {
	k := append([]byte(id), 0)
	return binary.BigEndian.AppendUint32(k, uint32(rev))
}

// AddFlowRevision saves yaml as the next revision of flow id and returns its number.
func (tx *Tx) AddFlowRevision(r FlowRevision) (int, error) {
	revs, err := tx.FlowRevisions(r.FlowID)
	if err != nil {
		return 0, err
	}
	r.Revision = len(revs) + 1
	return r.Revision, putJSON(tx.tx.Bucket(bFlows), flowKey(r.FlowID, r.Revision), r)
}

// FlowRevisions returns every revision of a flow, oldest first.
func (tx *Tx) FlowRevisions(id string) ([]FlowRevision, error) {
	prefix := append([]byte(id), 0)
	b := tx.tx.Bucket(bFlows)
	c := b.Cursor()
	var out []FlowRevision
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		var r FlowRevision
		if err := getJSON(b, k, &r); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// FlowRevision returns revision rev of flow id.
func (tx *Tx) FlowRevision(id string, rev int) (FlowRevision, error) {
	var r FlowRevision
	err := getJSON(tx.tx.Bucket(bFlows), flowKey(id, rev), &r)
	return r, err
}

// CurrentFlows returns the latest revision of every flow.
func (db *DB) CurrentFlows() ([]FlowRevision, error) {
	var out []FlowRevision
	err := db.View(func(tx *Tx) error {
		b := tx.tx.Bucket(bFlows)
		return b.ForEach(func(k, _ []byte) error {
			var r FlowRevision
			if err := getJSON(b, k, &r); err != nil {
				return err
			}
			if n := len(out); n > 0 && out[n-1].FlowID == r.FlowID {
				out[n-1] = r
			} else {
				out = append(out, r)
			}
			return nil
		})
	})
	return out, err
}
