package session

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// localTable is the local copy itself: what this node read of Redis keys,
// by key and field, dropped when Redis says the key changed.
//
// A read and the invalidation of what it read travel on different
// connections, so a read's reply may arrive after the invalidation of a
// write that came after it. A read therefore takes a ticket before it is sent
// and its reply is kept only if no invalidation of its key (nor a flush) came
// in meanwhile; the reply itself is still fresh for the request that read it.
type localTable struct {
	seed    maphash.Seed
	shards  [localShards]tableShard
	stripes [localStripes]atomic.Uint64 // invalidations, by key stripe
	epoch   atomic.Uint64               // flushes
	// perShard bounds the keys of a shard.
	perShard int
	start    time.Time
}

// copied is what a node keeps of one field of a key: a session's record and
// stored claims, or a setting's value.
type copied struct {
	rec    record
	claims string
	value  string
	readAt time.Duration // since the table's start
}

type tableShard struct {
	mu   sync.RWMutex
	keys map[string]map[string]copied // key → field → copy
}

// ticket is what a read saw before it was sent, and when.
type ticket struct {
	stripe, epoch uint64
	at            time.Duration
}

const (
	localShards  = 16
	localStripes = 256
)

func newLocalTable(maxKeys int) *localTable {
	t := &localTable{seed: maphash.MakeSeed(), perShard: max(1, maxKeys/localShards), start: time.Now()}
	for i := range t.shards {
		t.shards[i].keys = map[string]map[string]copied{}
	}
	return t
}

func (t *localTable) hash(key string) uint64 { return maphash.String(t.seed, key) }

func (t *localTable) shard(h uint64) *tableShard { return &t.shards[h%localShards] }

// since is the table's clock (monotonic).
func (t *localTable) since() time.Duration { return time.Since(t.start) }

// take returns the ticket for a read of key.
func (t *localTable) take(key string) ticket {
	return ticket{stripe: t.stripes[t.hash(key)%localStripes].Load(), epoch: t.epoch.Load(), at: t.since()}
}

// get returns the copy of key's field, unless it is older than
// localMaxStaleness.
func (t *localTable) get(key, field string) (copied, bool) {
	s := t.shard(t.hash(key))
	s.mu.RLock()
	c, ok := s.keys[key][field]
	s.mu.RUnlock()
	if !ok || t.since()-c.readAt > localMaxStaleness {
		return copied{}, false
	}
	return c, true
}

// put keeps c as key's field if nothing invalidated key since tk was taken;
// its age counts from then.
func (t *localTable) put(key, field string, c copied, tk ticket) {
	c.readAt = tk.at
	h := t.hash(key)
	s := t.shard(h)
	s.mu.Lock()
	defer s.mu.Unlock()
	if t.stripes[h%localStripes].Load() != tk.stripe || t.epoch.Load() != tk.epoch {
		return
	}
	fields, ok := s.keys[key]
	if !ok {
		if len(s.keys) >= t.perShard {
			for k := range s.keys { // full: drop some key (map order is random)
				delete(s.keys, k)
				break
			}
		}
		fields = map[string]copied{}
		s.keys[key] = fields
	}
	fields[field] = c
}

// invalidate drops every copy of key.
func (t *localTable) invalidate(key string) {
	h := t.hash(key)
	t.stripes[h%localStripes].Add(1)
	s := t.shard(h)
	s.mu.Lock()
	delete(s.keys, key)
	s.mu.Unlock()
}

// flush drops everything.
func (t *localTable) flush() {
	t.epoch.Add(1)
	for i := range t.shards {
		s := &t.shards[i]
		s.mu.Lock()
		clear(s.keys)
		s.mu.Unlock()
	}
}
