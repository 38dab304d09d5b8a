package bot

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"clubbot/flows"
	"clubbot/store"
	"clubbot/templates"
)

// FlowSet holds the flow templates: every revision is in the store; parsed revisions are
// cached. A session runs on the revision it started with; new sessions use the latest.
type FlowSet struct {
	db      *store.DB
	mu      sync.RWMutex
	parsed  map[flowRef]*flows.Flow
	current map[string]int
}

type flowRef struct {
	id  string
	rev int
}

// ErrUnknownFlow is returned for a flow id that has no revision.
var ErrUnknownFlow = errors.New("unknown flow")

// LoadFlows makes sure every embedded default flow has a first revision in the store, then
// reads the latest revision of each.
func LoadFlows(db *store.DB, now time.Time) (*FlowSet, error) {
	fs := &FlowSet{db: db, parsed: map[flowRef]*flows.Flow{}, current: map[string]int{}}
	for id, src := range templates.Flows() {
		if _, err := flows.Parse(src); err != nil {
			return nil, fmt.Errorf("embedded flow %s: %w", id, err)
		}
		err := db.Update(func(tx *store.Tx) error {
			revs, err := tx.FlowRevisions(id)
			if err != nil || len(revs) > 0 {
				return err
			}
			_, err = tx.AddFlowRevision(store.FlowRevision{FlowID: id, YAML: string(src), SavedAt: now, Note: "embedded default"})
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("seed flow %s: %w", id, err)
		}
	}
	cur, err := db.CurrentFlows()
	if err != nil {
		return nil, err
	}
	for _, r := range cur {
		f, err := flows.Parse([]byte(r.YAML))
		if err != nil {
			return nil, fmt.Errorf("flow %s revision %d: %w", r.FlowID, r.Revision, err)
		}
		fs.parsed[flowRef{r.FlowID, r.Revision}] = f
		fs.current[r.FlowID] = r.Revision
	}
	return fs, nil
}

// Current returns the latest revision of a flow.
func (fs *FlowSet) Current(id string) (*flows.Flow, int, error) {
	fs.mu.RLock()
	defer fs.mu.RUnlock()
	rev, ok := fs.current[id]
	if !ok {
		return nil, 0, fmt.Errorf("%w %q", ErrUnknownFlow, id)
	}
	return fs.parsed[flowRef{id, rev}], rev, nil
}

// Revision returns a given revision, reading and parsing it from tx if not cached.
func (fs *FlowSet) Revision(tx *store.Tx, id string, rev int) (*flows.Flow, error) {
	fs.mu.RLock()
	f, ok := fs.parsed[flowRef{id, rev}]
	fs.mu.RUnlock()
	if ok {
		return f, nil
	}
	r, err := tx.FlowRevision(id, rev)
	if err != nil {
		return nil, fmt.Errorf("flow %s revision %d: %w", id, rev, err)
	}
	f, err = flows.Parse([]byte(r.YAML))
	if err != nil {
		return nil, fmt.Errorf("flow %s revision %d: %w", id, rev, err)
	}
	fs.mu.Lock()
	fs.parsed[flowRef{id, rev}] = f
	fs.mu.Unlock()
	return f, nil
}

// Publish validates src and saves it as the next revision of flow id; new conversations use
// it at once. An invalid template returns *flows.ValidationError and changes nothing.
func (fs *FlowSet) Publish(id string, src []byte, by, note string, now time.Time) (int, error) {
	f, err := flows.Parse(src)
	if err != nil {
		return 0, err
	}
	if f.ID != id {
		return 0, &flows.ValidationError{Errors: []flows.LineError{{Line: 1, Message: fmt.Sprintf("id %q does not match the flow being saved (%q)", f.ID, id)}}}
	}
	var rev int
	err = fs.db.Update(func(tx *store.Tx) error {
		rev, err = tx.AddFlowRevision(store.FlowRevision{FlowID: id, YAML: string(src), SavedAt: now, SavedBy: by, Note: note})
		return err
	})
	if err != nil {
		return 0, err
	}
	fs.mu.Lock()
	fs.parsed[flowRef{id, rev}] = f
	fs.current[id] = rev
	fs.mu.Unlock()
	return rev, nil
}
