package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/sessiongate/sessiongate/session"
)

// Typed-input rescue (rescue on): when a session ends on a page with input
// the person typed but did not send, the banner hands it over (POST
// /rescue) just before it leaves the page; the gateway keeps it sealed in
// the store, under the person and the browser (the seen marker names both)
// and the page's URL, for rescueTTL. When the same person has signed in
// again and is back on that page, the banner asks for it (POST /restore,
// with the new session's CSRF token) and refills the fields. Another
// person's sign-in in that browser discards it (dropOthersRescues).
const (
	// rescueTTL is how long rescued work waits for its person.
	rescueTTL = 15 * time.Minute
	// maxTypedRescue bounds what one page hands over.
	maxTypedRescue = 64 << 10
	// maxTypedFields bounds the fields of one page.
	maxTypedFields = 1000
	// rescuePurpose names the token that lets this browser's pages hand over
	// typed input (derived from the browser's name in the seen marker).
	rescuePurpose = "rescue"
	// rescueSealName binds sealed rescued work to its use.
	rescueSealName = "sessiongate-rescue"
)

// typedRescue is what a page hands over.
type typedRescue struct {
	// URL is the page's path and query.
	URL string `json:"url"`
	// Fields are the fields the person changed, in document order.
	Fields []typedField `json:"fields"`
}

// typedField is one field: its name, its position among the page's fields
// and its value.
type typedField struct {
	Name  string `json:"n"`
	Index int    `json:"i"`
	Value string `json:"v"`
}

// rescueSlot names the store slot of a browser's rescued work of one kind
// on one page.
func rescueSlot(browser, kind, url string) string {
	h := sha256.Sum256([]byte(url))
	return browser + "|" + kind + "|" + hex.EncodeToString(h[:12])
}

// handleRescue keeps a page's typed input as its session ends (POST, JSON
// typedRescue, with the browser's rescue token in X-Sessiongate-Rescue).
// The session may have ended already: the seen marker says whose work it
// is.
func (g *Gateway) handleRescue(w http.ResponseWriter, r *http.Request) error {
	if ok, err := g.allowMethods(w, r, http.MethodPost); !ok {
		return err
	}
	if !g.cfg.RescueEnabled() {
		return g.notFound(w, r)
	}
	m, seen := g.readSeenMarker(r)
	if !seen || m.UserKey == "" || m.Browser == "" || !sameOrigin(r) ||
		!g.sealer.VerifyToken(rescuePurpose, m.Browser, r.Header.Get("X-Sessiongate-Rescue")) {
		return g.forbidden(w, r)
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxTypedRescue)
	var tr typedRescue
	if err := json.NewDecoder(r.Body).Decode(&tr); err != nil || len(tr.Fields) > maxTypedFields {
		g.writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad_rescue"})
		return nil
	}
	tr.URL = safeReturnPath(tr.URL)
	if len(tr.Fields) == 0 {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	raw, err := json.Marshal(tr)
	if err != nil {
		return err
	}
	sealed, err := g.sealer.SealData(rescueSealName, raw)
	if err != nil {
		return err
	}
	err = g.rescues.KeepRescue(r.Context(), m.UserKey, rescueSlot(m.Browser, "typed", tr.URL), []byte(sealed), rescueTTL)
	switch {
	case errors.Is(err, session.ErrRescueFull):
		g.writeJSON(w, http.StatusInsufficientStorage, map[string]string{"error": "rescue_full"})
		return nil
	case err != nil:
		g.storeUnavailableJSON(w)
		return nil
	}
	g.audit.Info("rescue-kept", zap.String("user", m.Subject), zap.String("kind", "typed"),
		zap.Int("fields", len(tr.Fields)), zap.String("ip", clientIP(r)), zap.String("site", r.Host))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// handleRestore gives a page's rescued input back to the person it belongs
// to (POST ?url=<page>, with the session's CSRF token): 200 with the fields,
// or 204 when there is nothing. Work is found only under the signed-in
// person's own key, so nobody else's ever comes back.
func (g *Gateway) handleRestore(w http.ResponseWriter, r *http.Request) error {
	if ok, err := g.allowMethods(w, r, http.MethodPost); !ok {
		return err
	}
	if !g.cfg.RescueEnabled() {
		return g.notFound(w, r)
	}
	_, res, ok := g.bannerSession(w, r)
	if !ok {
		return nil
	}
	if !g.csrfOK(r, res.Session, r.Header.Get("X-Sessiongate-CSRF")) {
		return g.forbidden(w, r)
	}
	m, seen := g.readSeenMarker(r)
	if !seen || m.Browser == "" {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	url := safeReturnPath(r.URL.Query().Get("url"))
	sealed, err := g.rescues.TakeRescue(r.Context(), res.Session.UserKey, rescueSlot(m.Browser, "typed", url))
	if err != nil {
		g.storeUnavailableJSON(w)
		return nil
	}
	if sealed == nil {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	raw, err := g.sealer.OpenData(rescueSealName, string(sealed))
	var tr typedRescue
	if err == nil {
		err = json.Unmarshal(raw, &tr)
	}
	if err != nil || tr.URL != url {
		g.log.Warn("rescued input could not be opened; discarded", zap.Error(err))
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	g.audit.Info("rescue-restored", zap.String("user", res.Session.Subject), zap.String("kind", "typed"),
		zap.Int("fields", len(tr.Fields)), zap.String("ip", clientIP(r)), zap.String("site", r.Host))
	g.writeJSON(w, http.StatusOK, tr)
	return nil
}

// dropOthersRescues discards, at a sign-in, the work rescued in this
// browser for the person who signed in here before, when someone else signs
// in: it is never shown to anybody. The audit log says so.
func (g *Gateway) dropOthersRescues(r *http.Request, s *session.Session) {
	m, seen := g.readSeenMarker(r)
	if !seen || m.UserKey == "" || m.UserKey == s.UserKey || m.Browser == "" {
		return
	}
	n, err := g.rescues.DropRescues(r.Context(), m.UserKey, m.Browser+"|")
	if err != nil {
		g.log.Warn("cannot discard the previous person's rescued work (it expires by itself)", zap.Error(err))
		return
	}
	if n > 0 {
		g.audit.Info("rescue-discarded", zap.String("user", m.Subject), zap.String("signed_in", s.Subject),
			zap.Int("pieces", n), zap.String("ip", clientIP(r)), zap.String("site", r.Host))
	}
}

// rescueToken is the token with which this browser's pages hand over typed
// input ("" without a seen marker or with rescue off).
func (g *Gateway) rescueToken(r *http.Request) string {
	if !g.cfg.RescueEnabled() {
		return ""
	}
	if m, seen := g.readSeenMarker(r); seen && m.Browser != "" {
		return g.sealer.Token(rescuePurpose, m.Browser)
	}
	return ""
}
