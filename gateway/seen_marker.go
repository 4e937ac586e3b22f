package gateway

import (
	"net/http"

	"github.com/sessiongate/sessiongate/session"
)

// seenMarker is set at every sign-in and outlives the session cookie (which
// the browser drops at the absolute deadline). While a browser carries it,
// every new sign-in asks the provider for the password again (prompt=login),
// so a shared workstation is never silently signed back in to the last
// user's account; and after the absolute deadline the gateway can still say
// why the user was signed out. It is not a credential.
type seenMarker struct {
	CreatedAt        int64  `json:"c"`           // unix ms
	AbsoluteDeadline int64  `json:"a"`           // unix ms; 0 = none
	EndedReason      string `json:"r,omitempty"` // why the last session ended, if known
	EndedAt          int64  `json:"e,omitempty"` // unix ms, when that was first seen
	// Shown: the signed-out page has told this browser why (EndedReason).
	Shown bool `json:"s,omitempty"`
	// UserKey and Subject name the person of the last sign-in, to whom work
	// rescued in this browser belongs (rescue).
	UserKey string `json:"u,omitempty"`
	Subject string `json:"p,omitempty"`
	// Browser is a random name of this browser, kept while the same person
	// signs in here; rescued work is kept under it.
	Browser string `json:"b,omitempty"`
}

// markSignedOutShown records in the seen marker that the signed-out page
// has shown this browser why its session ended.
func (g *Gateway) markSignedOutShown(w http.ResponseWriter, r *http.Request, reason session.Reason) {
	m, seen := g.readSeenMarker(r)
	if !seen || m.Shown || m.EndedReason != string(reason) {
		return
	}
	m.Shown = true
	if v, err := g.sealer.Seal(seenCookieSealKey, m); err == nil {
		g.setCookie(w, r, seenCookieName, v, seenCookieLifetime)
	}
}

// writeSeenMarker writes the marker of a new session: its deadlines, and
// its person. The browser's name stays while the same person signs in
// again; another person gets a new one (work rescued for the first person
// in this browser is then never shown: see dropOthersRescues).
func (g *Gateway) writeSeenMarker(w http.ResponseWriter, r *http.Request, s *session.Session, l session.Limits) error {
	m := seenMarker{CreatedAt: s.CreatedAt.UnixMilli(), UserKey: s.UserKey, Subject: s.Subject}
	if old, seen := g.readSeenMarker(r); seen && old.UserKey == s.UserKey && old.Browser != "" {
		m.Browser = old.Browser
	} else {
		m.Browser = session.NewID()[:22]
	}
	if l.Absolute > 0 {
		m.AbsoluteDeadline = s.CreatedAt.Add(l.Absolute).UnixMilli()
	}
	v, err := g.sealer.Seal(seenCookieSealKey, m)
	if err != nil {
		return err
	}
	g.setCookie(w, r, seenCookieName, v, seenCookieLifetime)
	return nil
}

func (g *Gateway) readSeenMarker(r *http.Request) (seenMarker, bool) {
	var m seenMarker
	c, err := r.Cookie(cookieName(r, seenCookieName))
	if err != nil {
		return m, false
	}
	if err := g.sealer.Open(seenCookieSealKey, c.Value, &m); err != nil {
		return m, false
	}
	return m, true
}
