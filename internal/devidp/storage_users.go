package devidp

import (
	"crypto/subtle"
	"fmt"
)

// checkPassword returns a copy of the user if the credentials are right.
func (s *storage) checkPassword(username, password string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.usersByName[username]
	if !ok {
		return User{}, false
	}
	if subtle.ConstantTimeCompare([]byte(u.Password), []byte(password)) != 1 {
		return User{}, false
	}
	return u.clone(), true
}

func (s *storage) userBySubject(subject string) (*User, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.usersBySubject[subject]
	if !ok {
		return nil, fmt.Errorf("user %q: %w", subject, errNotFound)
	}
	c := u.clone()
	return &c, nil
}
