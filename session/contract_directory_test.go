package session_test

import (
	"context"
	"testing"

	"github.com/sessiongate/sessiongate/internal/testclock"
	"github.com/sessiongate/sessiongate/session"
)

// TestDirectoryContract runs the Directory role's suite against every store
// implementation: users found by each kind of name, one name shared by two
// users, and sessions found by the provider's session ID.
func TestDirectoryContract(t *testing.T) {
	for name, factory := range storeFactories(t) {
		t.Run(name, func(t *testing.T) { contractDirectory(t, factory) })
	}
}

// contractDirectory: the directory and the provider-session index back
// revocation by name and back-channel logout by sid.
func contractDirectory(t *testing.T, f storeFactory) {
	ctx := context.Background()
	clk := testclock.New()
	st := f(t, clk.Now)
	a1, a2, b := newSession("ann"), newSession("ann"), newSession("ben")
	a2.IdPSessionID = "shared-sid"
	b.IdPSessionID = "shared-sid"
	for _, s := range []*session.Session{a1, a2, b} {
		mustCreate(t, st, s, session.CreateOptions{})
	}
	if err := st.RememberUser(ctx, a1.UserKey, "sub-ann", []session.UserName{{Kind: session.NameUsername, Value: "Ann"},
		{Kind: session.NameEmail, Value: "ann@clinic.test"}, {Kind: session.NameUsername, Value: ""},
		{Kind: session.NameSubject, Value: "sub-ann"}}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		kind session.NameKind
		name string
	}{{session.NameUsername, "ann"}, {session.NameEmail, " ANN@clinic.test "}, {session.NameSubject, "sub-ann"}} {
		if m, err := st.LookupUser(ctx, q.kind, q.name); err != nil || len(m) != 1 || m[0].UserKey != a1.UserKey || m[0].Subject != "sub-ann" {
			t.Fatalf("lookup %s %q: %+v %v", q.kind, q.name, m, err)
		}
	}
	// kinds are separate: a username is not found as a subject
	if m, err := st.LookupUser(ctx, session.NameSubject, "ann"); err != nil || len(m) != 0 {
		t.Fatalf("a sign-in name found as a subject: %+v %v", m, err)
	}
	if m, err := st.LookupUser(ctx, session.NameUsername, "nobody"); err != nil || len(m) != 0 {
		t.Fatalf("lookup of an unknown name: %+v %v", m, err)
	}
	// one name, two users: both are found (last writer does not win)
	if err := st.RememberUser(ctx, b.UserKey, "sub-ben", []session.UserName{{Kind: session.NameUsername, Value: "ann"}}); err != nil {
		t.Fatal(err)
	}
	if m, err := st.LookupUser(ctx, session.NameUsername, "ann"); err != nil || len(m) != 2 || m[0].Subject != "sub-ann" || m[1].Subject != "sub-ben" {
		t.Fatalf("a shared sign-in name: %+v %v", m, err)
	}
	refs, err := st.SessionsForIdPSession(ctx, "shared-sid")
	if err != nil || len(refs) != 2 {
		t.Fatalf("sessions for sid: %v %v", refs, err)
	}
	for _, ref := range refs {
		if (ref.ID != a2.ID || ref.UserKey != a2.UserKey) && (ref.ID != b.ID || ref.UserKey != b.UserKey) {
			t.Fatalf("unexpected ref %+v", ref)
		}
		if ref.CreatedAt != a2.Ref().CreatedAt {
			t.Fatalf("ref without sign-in time: %+v", ref)
		}
	}
	if refs, _ := st.SessionsForIdPSession(ctx, "sid-ann"); len(refs) != 1 || refs[0].ID != a1.ID {
		t.Fatalf("sessions for sid-ann: %+v", refs)
	}
}
