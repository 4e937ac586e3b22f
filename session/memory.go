package session

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/sessiongate/sessiongate/internal/background"
)

// MemoryStore keeps sessions in this process. It is the default store for a
// single gateway node; the Caddy module shares one instance across config
// reloads. Expired sessions are dropped lazily and by a periodic sweep.
type MemoryStore struct {
	clock        Clock
	tombstoneTTL tombstoneTTL

	mu         sync.Mutex
	sessions   map[string]*memEntry            // by session ID
	users      map[string]map[string]bool      // userKey → session IDs
	tombstones map[string]memTombstone         // ended sessions' reasons
	names      map[string]map[string]string    // user directory: kind and normalized name → userKey → subject
	onceKeys   map[string]time.Time            // Once keys → expiry
	settings   map[string]string               // runtime settings
	rescues    map[string]map[string]memRescue // userKey → slot → rescued work

	// background runs the sweeper; Close stops it
	background *background.Group
}

type memEntry struct {
	s       *Session
	expires time.Time // nearest deadline at the last write, like a Redis TTL
}

type memTombstone struct {
	reason  Reason
	expires time.Time
}

// NewMemoryStore returns an empty store. Dead entries are purged every
// sweepEvery (0: every minute).
func NewMemoryStore(opts Options, sweepEvery time.Duration) *MemoryStore {
	opts.setDefaults()
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if sweepEvery <= 0 {
		sweepEvery = time.Minute
	}
	m := &MemoryStore{
		clock:      opts.Clock,
		sessions:   make(map[string]*memEntry),
		users:      make(map[string]map[string]bool),
		tombstones: make(map[string]memTombstone),
		names:      make(map[string]map[string]string),
		onceKeys:   make(map[string]time.Time),
		settings:   make(map[string]string),
		rescues:    make(map[string]map[string]memRescue),
		background: background.New(),
	}
	m.tombstoneTTL.raise(opts.TombstoneTTL)
	m.background.Go(func(ctx context.Context) { m.sweepLoop(ctx, sweepEvery) })
	return m
}

// Create implements Sessions.
func (m *MemoryStore) Create(_ context.Context, s *Session, limits LimitTable, opts CreateOptions) ([]string, error) {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	s.CreatedAt, s.LastActivity = now, now
	cp := *s
	cp.Groups = slices.Clone(s.Groups)
	cp.Claims = maps.Clone(s.Claims)
	m.sessions[s.ID] = &memEntry{s: &cp, expires: NearestDeadline(now, now, limits.For(s.PolicyGroups))}
	ids := m.users[s.UserKey]
	if ids == nil {
		ids = make(map[string]bool)
		m.users[s.UserKey] = ids
	}
	ids[s.ID] = true
	var ended []string
	if opts.MaxSessions > 0 {
		live := m.liveLocked(s.UserKey, limits, now)
		for len(live) > opts.MaxSessions {
			oldest := live[0]
			live = live[1:]
			m.endLocked(oldest.ID, oldest.UserKey, ReasonElsewhere, now)
			ended = append(ended, oldest.ID)
		}
	}
	return ended, nil
}

// Check implements Sessions.
func (m *MemoryStore) Check(_ context.Context, ref Ref, limits LimitTable, activity bool) (CheckResult, error) {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	res := CheckResult{Now: now}
	e, ok := m.sessions[ref.ID]
	if ok && e.s.UserKey != ref.UserKey {
		res.Reason = ReasonEnded
		return res, nil
	}
	if !ok {
		if t, ok := m.tombstones[ref.ID]; ok && now.Before(t.expires) {
			res.Reason = t.reason
			return res, nil
		}
		// forgotten (swept) at its deadline: this check reports the end
		res.Reason, res.Ended, res.Subject = MissingReason(ref, limits.For(ref.PolicyGroups), now), true, ref.Subject
		m.endLocked(ref.ID, ref.UserKey, res.Reason, now)
		return res, nil
	}
	l := limits.For(e.s.PolicyGroups)
	if valid, why := Evaluate(e.s.CreatedAt, e.s.LastActivity, l, now); !valid {
		m.endLocked(e.s.ID, e.s.UserKey, why, now)
		res.Reason, res.Ended, res.Subject = why, true, e.s.Subject
		return res, nil
	}
	if activity {
		e.s.LastActivity = now
	}
	e.expires = NearestDeadline(e.s.CreatedAt, e.s.LastActivity, l)
	cp := *e.s
	cp.Groups = slices.Clone(e.s.Groups)
	cp.Claims = maps.Clone(e.s.Claims)
	res.Valid, res.Session = true, &cp
	res.IdleDeadline, res.AbsoluteDeadline = Deadlines(cp.CreatedAt, cp.LastActivity, l)
	return res, nil
}

// Get implements Sessions.
func (m *MemoryStore) Get(_ context.Context, ref Ref) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.sessions[ref.ID]
	if !ok || e.s.UserKey != ref.UserKey {
		return nil, nil
	}
	cp := *e.s
	cp.Groups = slices.Clone(e.s.Groups)
	return &cp, nil
}

// End implements Sessions.
func (m *MemoryStore) End(_ context.Context, ref Ref, reason Reason) error {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.sessions[ref.ID]
	if ok && e.s.UserKey != ref.UserKey {
		return nil
	}
	m.endLocked(ref.ID, ref.UserKey, reason, now)
	return nil
}

// List implements Sessions.
func (m *MemoryStore) List(_ context.Context, userKey string, limits LimitTable) ([]*Session, error) {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	live := m.liveLocked(userKey, limits, now)
	out := make([]*Session, len(live))
	for i, s := range live {
		cp := *s
		cp.Groups = slices.Clone(s.Groups)
		out[i] = &cp
	}
	return out, nil
}

// Close stops the sweeper and waits for it to end. The store's contents
// stay readable.
func (m *MemoryStore) Close() error {
	m.background.Stop()
	return nil
}

// Len returns the number of stored sessions, live or not yet swept.
func (m *MemoryStore) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.sessions)
}

// liveLocked returns the user's valid sessions, oldest first, dropping dead ones.
func (m *MemoryStore) liveLocked(userKey string, limits LimitTable, now time.Time) []*Session {
	var live []*Session
	for id := range m.users[userKey] {
		e := m.sessions[id]
		if e == nil {
			delete(m.users[userKey], id)
			continue
		}
		if valid, _ := Evaluate(e.s.CreatedAt, e.s.LastActivity, limits.For(e.s.PolicyGroups), now); !valid {
			m.dropLocked(id, userKey)
			continue
		}
		live = append(live, e.s)
	}
	slices.SortFunc(live, func(a, b *Session) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return compareStrings(a.ID, b.ID)
	})
	return live
}

func (m *MemoryStore) endLocked(id, userKey string, reason Reason, now time.Time) {
	m.dropLocked(id, userKey)
	m.tombstones[id] = memTombstone{reason: reason, expires: now.Add(m.tombstoneTTL.get())}
}

func (m *MemoryStore) dropLocked(id, userKey string) {
	delete(m.sessions, id)
	if ids := m.users[userKey]; ids != nil {
		delete(ids, id)
		if len(ids) == 0 {
			delete(m.users, userKey)
		}
	}
}

func (m *MemoryStore) sweepLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			m.Sweep()
		}
	}
}

// Sweep purges sessions past the deadline they had at their last write and
// expired tombstones, as Redis TTLs do. A session whose deadline moved later
// through a change of limits is kept until its next check decides.
func (m *MemoryStore) Sweep() {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	for id, e := range m.sessions {
		if !now.Before(e.expires) {
			m.dropLocked(id, e.s.UserKey)
		}
	}
	for id, t := range m.tombstones {
		if !now.Before(t.expires) {
			delete(m.tombstones, id)
		}
	}
	for k, exp := range m.onceKeys {
		if !now.Before(exp) {
			delete(m.onceKeys, k)
		}
	}
	for user, slots := range m.rescues {
		for name, r := range slots {
			if !now.Before(r.expires) {
				delete(slots, name)
			}
		}
		if len(slots) == 0 {
			delete(m.rescues, user)
		}
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// CountSessions implements Sessions.
func (m *MemoryStore) CountSessions(_ context.Context, limits LimitTable) (int, error) {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, e := range m.sessions {
		if valid, _ := Evaluate(e.s.CreatedAt, e.s.LastActivity, limits.For(e.s.PolicyGroups), now); valid {
			n++
		}
	}
	return n, nil
}
