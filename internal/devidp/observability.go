package devidp

import "slices"

func (s *storage) addRecord(rec AuthorizeRecord) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records = append(s.records, rec)
	return len(s.records) - 1
}

func (s *storage) markFormShown(index int) {
	if index < 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if index < len(s.records) {
		s.records[index].LoginFormShown = true
	}
}

// AuthorizeRequests returns a copy of every request received at the
// authorization endpoint, in order.
func (p *Provider) AuthorizeRequests() []AuthorizeRecord {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	out := make([]AuthorizeRecord, len(p.store.records))
	for i, rec := range p.store.records {
		rec.Scopes = slices.Clone(rec.Scopes)
		out[i] = rec
	}
	return out
}

// EndSessionCalls returns how many end_session requests were served
// successfully.
func (p *Provider) EndSessionCalls() int {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	return p.store.endSessionCalls
}

// EndSessionHints returns how many served end_session requests carried a
// valid id_token_hint.
func (p *Provider) EndSessionHints() int {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	return p.store.endSessionHints
}

// SSOCookieName returns the name of the provider's SSO session cookie.
func (p *Provider) SSOCookieName() string { return p.cookieName }

// SIDOfSSOCookie returns the provider session ID ("sid" claim) of the single
// sign-on session whose cookie value is given, "" if there is none. Tests use
// it to send back-channel logouts for one browser's session.
func (p *Provider) SIDOfSSOCookie(value string) string {
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	if s, ok := p.store.sessions[value]; ok {
		return s.sid
	}
	return ""
}
