package session

import (
	"sync/atomic"
	"time"
)

// tombstoneTTL is how long a store remembers why a session ended. A store is
// shared across configuration reloads (and by every site using it), so a
// later configuration with a longer absolute timeout raises it; it never
// falls (a longer memory costs a few bytes per ended session).
type tombstoneTTL struct{ ns atomic.Int64 }

func (t *tombstoneTTL) get() time.Duration { return time.Duration(t.ns.Load()) }

// raise sets the TTL to d if d is longer.
func (t *tombstoneTTL) raise(d time.Duration) {
	for {
		cur := t.ns.Load()
		if int64(d) <= cur || t.ns.CompareAndSwap(cur, int64(d)) {
			return
		}
	}
}

// RaiseTombstoneTTL makes the store remember why sessions ended for at least
// d from now on (a configuration loaded after the store was made).
func (r *RedisStore) RaiseTombstoneTTL(d time.Duration) { r.tombstone.raise(d) }

// RaiseTombstoneTTL makes the store remember why sessions ended for at least
// d from now on (a configuration loaded after the store was made).
func (m *MemoryStore) RaiseTombstoneTTL(d time.Duration) { m.tombstoneTTL.raise(d) }
