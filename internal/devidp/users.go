package devidp

import (
	"slices"

	"github.com/zitadel/oidc/v3/pkg/oidc"
)

// User is an account that can sign in at the development provider.
type User struct {
	// Subject is the stable "sub" claim. It must not contain a colon.
	Subject string
	// Username is what the user types into the sign-in form.
	Username string
	// Password is compared in plain text: this is a development provider.
	Password string
	// Name is released as the "name" claim (profile scope).
	Name string
	// Email is released as the "email" claim (email scope), marked verified.
	Email string
	// Groups is released as the "groups" claim, an array of strings, when the
	// "groups" or the "profile" scope is granted.
	Groups []string
}

// clone returns a deep copy of u.
func (u User) clone() User {
	u.Groups = slices.Clone(u.Groups)
	return u
}

// DemoUsers returns three demonstration accounts, all with the password
// "demo": a clinician, a front-desk user and a practice manager who is also a
// clinician. Each call returns fresh copies.
func DemoUsers() []User {
	return []User{
		{
			Subject:  "demo-clinician-0001",
			Username: "clinician",
			Password: "demo",
			Name:     "Dr Casey Clinician",
			Email:    "clinician@example.test",
			Groups:   []string{"clinicians"},
		},
		{
			Subject:  "demo-frontdesk-0002",
			Username: "frontdesk",
			Password: "demo",
			Name:     "Frankie Front-Desk",
			Email:    "frontdesk@example.test",
			Groups:   []string{"front-desk"},
		},
		{
			Subject:  "demo-manager-0003",
			Username: "manager",
			Password: "demo",
			Name:     "Morgan Manager",
			Email:    "manager@example.test",
			Groups:   []string{"practice-managers", "clinicians"},
		},
	}
}

// scopeGroups is the non-standard scope that releases the "groups" claim.
const scopeGroups = "groups"

// wantsGroups reports whether the granted scopes release the groups claim.
func wantsGroups(scopes []string) bool {
	return slices.Contains(scopes, scopeGroups) || slices.Contains(scopes, oidc.ScopeProfile)
}

// fillUserinfo sets the claims of u that the granted scopes release.
// The subject is always set.
func fillUserinfo(info *oidc.UserInfo, u *User, scopes []string) {
	info.Subject = u.Subject
	if slices.Contains(scopes, oidc.ScopeProfile) {
		info.Name = u.Name
		info.PreferredUsername = u.Username
	}
	if slices.Contains(scopes, oidc.ScopeEmail) && u.Email != "" {
		info.Email = u.Email
		info.EmailVerified = oidc.Bool(true)
	}
	if wantsGroups(scopes) {
		groups := slices.Clone(u.Groups)
		if groups == nil {
			groups = []string{}
		}
		info.AppendClaims("groups", groups)
	}
}
