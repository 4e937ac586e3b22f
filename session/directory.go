package session

import (
	"slices"
	"strings"
	"time"
)

// directoryTTL is how long a user's names and a provider session's index
// are remembered after the last sign-in that recorded them.
const directoryTTL = 30 * 24 * time.Hour

// normalizeName is how names are compared in the user directory.
func normalizeName(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// directoryName is a name's key in the user directory: its kind and its
// normalized value; "" for an empty name or an unknown kind.
func directoryName(kind NameKind, name string) string {
	n := normalizeName(name)
	if n == "" || !slices.Contains(NameKinds, kind) {
		return ""
	}
	return string(kind) + "\x00" + n
}

// sortMatches orders lookup results by subject, then user key.
func sortMatches(ms []UserMatch) {
	slices.SortFunc(ms, func(a, b UserMatch) int {
		if c := strings.Compare(a.Subject, b.Subject); c != 0 {
			return c
		}
		return strings.Compare(a.UserKey, b.UserKey)
	})
}

// NameKind is what a remembered name is to its user.
type NameKind string

// The kinds of names, in the order an administrator's lookup tries them.
const (
	// NameSubject is the provider's subject (sub): unique per provider.
	NameSubject NameKind = "sub"
	// NameUsername is the sign-in name (preferred_username): not unique.
	NameUsername NameKind = "username"
	// NameEmail is an email address the provider has verified.
	NameEmail NameKind = "email"
)

// NameKinds lists the kinds in lookup order.
var NameKinds = []NameKind{NameSubject, NameUsername, NameEmail}

// UserName is one name of a user.
type UserName struct {
	Kind  NameKind
	Value string
}

// UserMatch is a user found under a name.
type UserMatch struct {
	UserKey string
	Subject string
}
