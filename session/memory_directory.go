package session

import (
	"context"
	"time"
)

// RememberUser implements Store.
func (m *MemoryStore) RememberUser(_ context.Context, userKey, subject string, names []UserName) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, n := range names {
		key := directoryName(n.Kind, n.Value)
		if key == "" {
			continue
		}
		if m.names[key] == nil {
			m.names[key] = map[string]string{}
		}
		m.names[key][userKey] = subject
	}
	return nil
}

// LookupUser implements Store.
func (m *MemoryStore) LookupUser(_ context.Context, kind NameKind, name string) ([]UserMatch, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	key := directoryName(kind, name)
	if key == "" {
		return nil, nil
	}
	var out []UserMatch
	for userKey, subject := range m.names[key] {
		out = append(out, UserMatch{UserKey: userKey, Subject: subject})
	}
	sortMatches(out)
	return out, nil
}

// SessionsForIdPSession implements Store.
func (m *MemoryStore) SessionsForIdPSession(_ context.Context, sid string) ([]Ref, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Ref
	for _, e := range m.sessions {
		if sid != "" && e.s.IdPSessionID == sid {
			out = append(out, e.s.Ref())
		}
	}
	return out, nil
}

// Once implements Store.
func (m *MemoryStore) Once(_ context.Context, key string, ttl time.Duration) (bool, error) {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if exp, ok := m.onceKeys[key]; ok && now.Before(exp) {
		return false, nil
	}
	m.onceKeys[key] = now.Add(ttl)
	return true, nil
}

// Setting implements Store.
func (m *MemoryStore) Setting(_ context.Context, name string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.settings[name], nil
}

// SetSetting implements Store.
func (m *MemoryStore) SetSetting(_ context.Context, name, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settings[name] = value
	return nil
}

// CountSessions implements Store.
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
