package session

import (
	"context"
	"strings"
	"time"
)

// memRescue is one rescued piece of work.
type memRescue struct {
	data    []byte
	expires time.Time
}

// KeepRescue implements Rescues.
func (m *MemoryStore) KeepRescue(_ context.Context, userKey, slot string, data []byte, ttl time.Duration) error {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	slots := m.rescues[userKey]
	count, size := 1, len(data)
	for name, r := range slots {
		switch {
		case !now.Before(r.expires):
			delete(slots, name)
		case name != slot:
			count++
			size += len(r.data)
		}
	}
	if count > MaxRescueSlots || size > MaxRescueBytes {
		return ErrRescueFull
	}
	if slots == nil {
		slots = map[string]memRescue{}
		m.rescues[userKey] = slots
	}
	slots[slot] = memRescue{data: append([]byte(nil), data...), expires: now.Add(ttl)}
	return nil
}

// TakeRescue implements Rescues.
func (m *MemoryStore) TakeRescue(_ context.Context, userKey, slot string) ([]byte, error) {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rescues[userKey][slot]
	if !ok {
		return nil, nil
	}
	delete(m.rescues[userKey], slot)
	if !now.Before(r.expires) {
		return nil, nil
	}
	return r.data, nil
}

// PeekRescue implements Rescues.
func (m *MemoryStore) PeekRescue(_ context.Context, userKey, slot string) ([]byte, error) {
	now := m.clock()
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.rescues[userKey][slot]
	if !ok || !now.Before(r.expires) {
		return nil, nil
	}
	return append([]byte(nil), r.data...), nil
}

// DropRescues implements Rescues.
func (m *MemoryStore) DropRescues(_ context.Context, userKey, prefix string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for name := range m.rescues[userKey] {
		if strings.HasPrefix(name, prefix) {
			delete(m.rescues[userKey], name)
			n++
		}
	}
	return n, nil
}
