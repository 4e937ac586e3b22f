package gateway

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/sessiongate/sessiongate/config"
	"github.com/sessiongate/sessiongate/session"
)

// adminPage is the managers' page: the organization's absolute timer and
// signing a user out everywhere.
type adminPage struct {
	Name, CSRF, Action, Notice, Error, DevicesURL string
	Enabled                                       bool
	Current                                       string
	Choices                                       []adminChoice
	ChangedBy                                     string
	ChangedAt                                     time.Time
}

type adminChoice struct {
	Value, Label string
	Selected     bool
}

// maxAdminNameLength bounds the user name typed on the admin page.
const maxAdminNameLength = 256

// handleAdmin serves {prefix}/admin to members of admin_group only.
func (g *Gateway) handleAdmin(w http.ResponseWriter, r *http.Request) error {
	if g.cfg.AdminGroup == "" {
		return g.notFound(w, r)
	}
	_, me, ok, err := g.pageSession(w, r, func(me *session.Session) bool { return g.cfg.IsAdmin(me.Groups) })
	if !ok {
		return err
	}
	p := adminPage{Name: me.Name, CSRF: g.csrfToken(me), Action: g.endpoint("admin"), DevicesURL: g.endpoint("sessions")}
	if r.Method == http.MethodPost {
		switch r.PostFormValue("action") {
		case "policy":
			p.Notice, p.Error, err = g.adminSetAbsoluteTimeout(r, me, r.PostFormValue("absolute"))
		case "revoke":
			p.Notice, p.Error, err = g.adminRevoke(r, me, r.PostFormValue("user"))
		default:
			p.Error = "Unknown action."
		}
		if err != nil {
			g.log.Error("admin action failed", zap.Error(err))
			return g.storeUnavailable(w, r)
		}
	}
	org := g.orgAbsoluteTimeout()
	current := g.limits().Default.Absolute
	p.Enabled = current > 0
	p.Current = "off"
	if p.Enabled {
		p.Current = humanDuration(current)
	}
	if org != nil {
		p.ChangedBy, p.ChangedAt = org.ChangedBy, org.ChangedAt.UTC()
	}
	for _, c := range g.cfg.AbsoluteTimeoutChoices {
		p.Choices = append(p.Choices, adminChoice{Value: c.String(), Label: humanDuration(c.Std()),
			Selected: p.Enabled && c.Std() == current})
	}
	g.pages.render(w, http.StatusOK, "admin", p)
	return nil
}

// adminSetAbsoluteTimeout turns the organization's absolute timer off or sets it to
// one of the allowed choices; it applies to every live session at once.
func (g *Gateway) adminSetAbsoluteTimeout(r *http.Request, me *session.Session, value string) (notice, problem string, err error) {
	org := OrgAbsoluteTimeout{ChangedBy: me.Subject, ChangedAt: g.now()}
	if value != "off" {
		d, perr := config.ParseDuration(value)
		if perr != nil || !containsChoice(g.cfg.AbsoluteTimeoutChoices, d) {
			return "", "That time limit is not one of the allowed choices.", nil
		}
		org.Enabled, org.Absolute = true, config.Duration(d)
	}
	before := g.limits().Default.Absolute
	if err := g.saveOrgAbsoluteTimeout(r.Context(), org); err != nil {
		return "", "", err
	}
	after := g.limits().Default.Absolute
	g.audit.Info("policy-change",
		zap.String("by", me.Subject), zap.String("setting", "absolute_timeout"),
		zap.String("from", durationOrOff(before)), zap.String("to", durationOrOff(after)),
		zap.String("ip", clientIP(r)), zap.String("site", r.Host))
	if after == 0 {
		return "The session time limit is now off: sessions end only after inactivity or sign-out.", "", nil
	}
	return "Sessions now end " + humanDuration(after) + " after sign-in, on every device, including those already signed in.", "", nil
}

// adminRevoke signs a user out on every device (a lost or stolen device).
// The name is looked up as a subject first, then as a sign-in name, then as
// a verified email; the first kind that matches decides. A name that
// matches several users signs nobody out: the page lists them (by subject,
// which is unique) for the manager to choose.
func (g *Gateway) adminRevoke(r *http.Request, me *session.Session, name string) (notice, problem string, err error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > maxAdminNameLength {
		return "", "Enter the user's sign-in name, email address or subject.", nil
	}
	var matches []session.UserMatch
	var kind session.NameKind
	for _, kind = range session.NameKinds {
		if matches, err = g.directory.LookupUser(r.Context(), kind, name); err != nil {
			return "", "", err
		}
		if len(matches) > 0 {
			break
		}
	}
	switch {
	case len(matches) == 0:
		return "", "No user " + name + " has signed in through this gateway.", nil
	case len(matches) > 1:
		subjects := make([]string, len(matches))
		for i, m := range matches {
			subjects[i] = m.Subject
		}
		return "", "Nobody was signed out: " + strconv.Itoa(len(matches)) + " users have the " + kindName(kind) + " " + name +
			". Enter the subject of the one to sign out: " + strings.Join(subjects, ", ") + ".", nil
	}
	user := matches[0]
	list, err := g.sessions.List(r.Context(), user.UserKey, g.limits())
	if err != nil {
		return "", "", err
	}
	for _, s := range list {
		if err := g.sessions.End(r.Context(), s.Ref(), session.ReasonAdmin); err != nil {
			return "", "", err
		}
		g.auditSignOut(r, session.ReasonAdmin, s.Subject, s.ID, me.Subject)
	}
	g.audit.Info("admin-revocation", zap.String("by", me.Subject), zap.String("user", user.Subject),
		zap.String("name", name), zap.String("matched_as", string(kind)),
		zap.Int("sessions", len(list)), zap.String("ip", clientIP(r)), zap.String("site", r.Host))
	who := "The user with subject " + user.Subject
	if kind != session.NameSubject {
		who += " (" + kindName(kind) + " " + name + ")"
	}
	switch len(list) {
	case 0:
		return who + " had no active sessions.", "", nil
	case 1:
		return who + " was signed out of 1 device.", "", nil
	}
	return who + " was signed out of " + strconv.Itoa(len(list)) + " devices.", "", nil
}

// kindName says what kind of name matched, for the admin page.
func kindName(k session.NameKind) string {
	switch k {
	case session.NameUsername:
		return "sign-in name"
	case session.NameEmail:
		return "verified email"
	}
	return "subject"
}

func containsChoice(choices []config.Duration, d time.Duration) bool {
	for _, c := range choices {
		if c.Std() == d {
			return true
		}
	}
	return false
}

func durationOrOff(d time.Duration) string {
	if d == 0 {
		return "off"
	}
	return config.Duration(d).String()
}
