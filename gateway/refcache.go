package gateway

import (
	"sync"

	"github.com/sessiongate/sessiongate/session"
)

// refCacheSize bounds the opened session cookies a gateway remembers (about
// 1 KB each): more than the devices of a large practice signed in at once.
const refCacheSize = 10_000

// refCache remembers opened session cookies by their exact value. Opening
// one (two base64 passes, HMAC-SHA256, AES-CTR, JSON) costs more than the
// rest of the gateway's own work on a request, and a browser sends the same
// cookie with every request. Only values that opened successfully are
// remembered, so a cached entry proves exactly what opening would; the
// session is still checked in the store on every request. The cache belongs
// to one Gateway, so a config reload (new secrets) starts a new one. The
// Refs it returns are shared: callers must not modify them.
type refCache struct {
	mu sync.RWMutex
	m  map[string]session.Ref
}

func newRefCache() *refCache { return &refCache{m: make(map[string]session.Ref)} }

func (c *refCache) get(value string) (session.Ref, bool) {
	c.mu.RLock()
	ref, ok := c.m[value]
	c.mu.RUnlock()
	return ref, ok
}

// put remembers an opened cookie; when the cache is full it starts over,
// which bounds its memory without bookkeeping on the hot path.
func (c *refCache) put(value string, ref session.Ref) {
	c.mu.Lock()
	if len(c.m) >= refCacheSize {
		clear(c.m)
	}
	c.m[value] = ref
	c.mu.Unlock()
}
