package bot

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"

	"clubbot/flows"
	"clubbot/store"
)

// sessionCache keeps each conversation in progress decoded, next to the exact JSON it was
// stored as. Decoding the session was the largest single cost of a conversation turn in
// the worker (about a quarter of it, BENCHMARKS.md "Conversation turns"); a turn now
// compares the stored bytes with the cached ones and decodes only when they differ.
//
// The stored bytes stay the truth: anything that writes a session without the cache (the
// timers, a transaction rolled back after the cache was filled, another process) changes
// the bytes, so the entry is not used. Entries are shallow-copied out, and the engine
// never writes through a session it is given (flows.Advance clones it).
type sessionCache struct {
	mu sync.Mutex
	m  map[string]cachedSession
}

type cachedSession struct {
	raw []byte
	s   flows.Session
}

// sessionCacheMax bounds the cache: about 1 KB per conversation in progress. Past it the
// cache starts afresh rather than tracking use; a miss costs one decode.
const sessionCacheMax = 20000

// session reads the user's conversation inside tx, from the cache when the stored bytes
// are the cached ones.
func (c *sessionCache) session(tx *store.Tx, uid string) (flows.Session, bool, error) {
	raw := tx.SessionJSON(uid)
	if raw == nil {
		return flows.Session{}, false, nil
	}
	c.mu.Lock()
	e, ok := c.m[uid]
	c.mu.Unlock()
	if ok && bytes.Equal(e.raw, raw) {
		return copySession(e.s), true, nil
	}
	var s flows.Session
	if err := json.Unmarshal(raw, &s); err != nil {
		return s, false, fmt.Errorf("decode session of %s: %w", uid, err)
	}
	c.put(uid, bytes.Clone(raw), s)
	return s, true, nil
}

// putSession stores the user's conversation inside tx and remembers it decoded.
func (c *sessionCache) putSession(tx *store.Tx, uid string, s flows.Session) error {
	raw, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode session of %s: %w", uid, err)
	}
	if err := tx.PutSessionJSON(uid, raw); err != nil {
		return err
	}
	// Not copied: the worker drops s once it is stored; reads hand out copies.
	c.put(uid, raw, s)
	return nil
}

func (c *sessionCache) put(uid string, raw []byte, s flows.Session) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= sessionCacheMax {
		c.m = make(map[string]cachedSession)
	}
	c.m[uid] = cachedSession{raw: raw, s: s}
}

// copySession copies the maps and slices of s, so no two holders share them.
func copySession(s flows.Session) flows.Session {
	s.Answers = maps.Clone(s.Answers)
	s.Vars = maps.Clone(s.Vars)
	s.Trail = slices.Clone(s.Trail)
	s.Shown = slices.Clone(s.Shown)
	s.Pending = slices.Clone(s.Pending)
	return s
}
