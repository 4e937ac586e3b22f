package session

import (
	"context"
)

// RememberUser implements Directory.
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

// LookupUser implements Directory.
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

// SessionsForIdPSession implements Directory.
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
