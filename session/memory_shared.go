package session

import (
	"context"
	"time"
)

// Once implements SharedState.
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

// Forget implements SharedState.
func (m *MemoryStore) Forget(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.onceKeys, key)
	return nil
}

// Setting implements SharedState.
func (m *MemoryStore) Setting(_ context.Context, name string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.settings[name], nil
}

// SetSetting implements SharedState.
func (m *MemoryStore) SetSetting(_ context.Context, name, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.settings[name] = value
	return nil
}
