package gateway

import (
	"crypto/subtle"
	"net/http"
	"strconv"
	"time"

	"github.com/sessiongate/sessiongate/session"
)

// devicesPage is the "My devices" page: the signed-in user's sessions.
type devicesPage struct {
	Name, CSRF, Action, Notice, AdminURL, LogoutURL string
	Devices                                         []deviceRow
	Others                                          int
}

// deviceRow is one session on the devices page. Handle is the hashed
// session ID (never the ID itself: it is half of a credential).
type deviceRow struct {
	Handle, Device, IP   string
	SignedIn, LastActive time.Time
	ThisDevice           bool
}

// handleSessions serves "My devices": GET lists the user's sessions; POST
// (CSRF-checked) signs out one device (action=end, device=<handle>) or all
// the others (action=end_others). A device signed out here sees the
// signed-out page with reason "revoked" on its next request.
func (g *Gateway) handleSessions(w http.ResponseWriter, r *http.Request) error {
	ref, me, ok, err := g.pageSession(w, r, nil)
	if !ok {
		return err
	}
	notice := ""
	if r.Method == http.MethodPost {
		n, err := g.endDevices(r, ref, me, r.PostFormValue("action"), r.PostFormValue("device"))
		if err != nil {
			return g.storeUnavailable(w, r)
		}
		http.Redirect(w, r, g.endpoint("sessions")+"?ended="+strconv.Itoa(n), http.StatusSeeOther)
		return nil
	}
	// ended is a count the gateway wrote; anything else (free text in a
	// crafted link) shows nothing
	if n, err := strconv.Atoi(r.URL.Query().Get("ended")); err == nil && n >= 0 && n <= 10000 {
		switch n {
		case 0:
			notice = "No device was signed out (it may have signed out already)."
		case 1:
			notice = "1 device was signed out."
		default:
			notice = strconv.Itoa(n) + " devices were signed out."
		}
	}
	list, err := g.sessions.List(r.Context(), ref.UserKey, g.limits())
	if err != nil {
		return g.storeUnavailable(w, r)
	}
	p := devicesPage{Name: me.Name, CSRF: g.csrfToken(me), Action: g.endpoint("sessions"), Notice: notice,
		LogoutURL: g.endpoint("logout")}
	if g.cfg.IsAdmin(me.Groups) {
		p.AdminURL = g.endpoint("admin")
	}
	for i := len(list) - 1; i >= 0; i-- { // newest first
		s := list[i]
		row := deviceRow{Handle: session.LogID(s.ID), Device: s.Device, IP: s.IP,
			SignedIn: s.CreatedAt.UTC(), LastActive: s.LastActivity.UTC(), ThisDevice: s.ID == ref.ID}
		if row.ThisDevice {
			p.Devices = append([]deviceRow{row}, p.Devices...)
			continue
		}
		p.Others++
		p.Devices = append(p.Devices, row)
	}
	g.pages.render(w, http.StatusOK, "sessions", p)
	return nil
}

// endDevices ends the sessions a devices-page POST names and returns how
// many it ended.
func (g *Gateway) endDevices(r *http.Request, ref session.Ref, me *session.Session, action, handle string) (int, error) {
	if action != "end" && action != "end_others" {
		return 0, nil
	}
	list, err := g.sessions.List(r.Context(), ref.UserKey, g.limits())
	if err != nil {
		return 0, err
	}
	n := 0
	for _, s := range list {
		if s.ID == ref.ID {
			continue // this device signs out with Log out
		}
		if action == "end" && subtle.ConstantTimeCompare([]byte(session.LogID(s.ID)), []byte(handle)) != 1 {
			continue
		}
		if err := g.sessions.End(r.Context(), s.Ref(), session.ReasonRevoked); err != nil {
			return n, err
		}
		g.auditSignOut(r, session.ReasonRevoked, me.Subject, s.ID, me.Subject)
		n++
	}
	return n, nil
}
