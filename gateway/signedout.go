package gateway

import (
	"net/http"
	"strconv"
	"time"

	"github.com/sessiongate/sessiongate/session"
)

// handleSignedOut shows "You were signed out for security reasons".
func (g *Gateway) handleSignedOut(w http.ResponseWriter, r *http.Request) error {
	if ok, err := g.allowMethods(w, r, http.MethodGet, http.MethodHead); !ok {
		return err
	}
	q := r.URL.Query()
	reason := session.Reason(q.Get("reason"))
	switch {
	case reason == "" && q.Get("state") == switchUserState:
		// back from the provider's logout on "Switch user": sign in afresh
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, g.loginURL("/", true), http.StatusFound)
		return nil
	case reason == "" && q.Get("state") == string(session.ReasonLogout):
		reason = session.ReasonLogout // back from the provider's logout
	}
	rd := safeReturnPath(q.Get("rd"))
	if reason.Valid() {
		g.markSignedOutShown(w, r, reason)
	}
	g.pages.render(w, http.StatusOK, "signed_out", g.signedOutText(reason, rd))
	return nil
}

func (g *Gateway) signedOutText(reason session.Reason, rd string) signedOutPage {
	p := signedOutPage{Title: "You were signed out for security reasons", SignIn: g.loginURL(rd, true),
		SwitchUser: g.loginURL("/", true)}
	limits := g.limits().Default
	switch reason {
	case session.ReasonIdle:
		// with group policies the limit depends on the user, whom this page does not know
		if len(g.cfg.GroupPolicies) > 0 {
			p.Message = "You were signed out after a period of inactivity."
		} else {
			p.Message = "You were signed out after " + humanDuration(limits.Idle) + " of inactivity."
		}
	case session.ReasonAbsolute:
		if len(g.cfg.GroupPolicies) > 0 || limits.Absolute == 0 {
			p.Message = "Your session limit was reached."
		} else {
			p.Message = "Your " + humanLimit(limits.Absolute) + " session limit was reached."
		}
	case session.ReasonLogout:
		p.Title, p.Message, p.Manual = "You have signed out", "Your session on this device has ended.", true
	case session.ReasonRevoked:
		p.Message = "Your session on this device was ended from another device."
	case session.ReasonElsewhere:
		p.Message = "You were signed out because your account signed in on another device."
	case session.ReasonBackchannel:
		p.Message = "You were signed out at your organization's sign-in service."
	case session.ReasonRenewed:
		p.Title, p.Message, p.Manual = "Your session was renewed", "You signed in again; this page belonged to the session before.", true
	case session.ReasonAdmin:
		p.Message = "An administrator ended your sessions."
	default:
		p.Message = "Your session has ended."
	}
	return p
}

// humanDuration writes 15m as "15 minutes", 90m as "1 hour 30 minutes".
func humanDuration(d time.Duration) string {
	if d < time.Minute {
		return plural(int(d/time.Second), "second")
	}
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case h == 0:
		return plural(m, "minute")
	case m == 0:
		return plural(h, "hour")
	default:
		return plural(h, "hour") + " " + plural(m, "minute")
	}
}

// humanLimit writes 9h as "9-hour", 90m as "90-minute".
func humanLimit(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + "-hour"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + "-minute"
	default:
		return strconv.Itoa(int(d/time.Second)) + "-second"
	}
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
