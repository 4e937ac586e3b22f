package gateway

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"

	"go.uber.org/zap"
)

// Sent-form rescue (rescue on): a same-origin form POST (urlencoded or
// multipart, at most maxSentRescue) that arrives after its session ended is
// kept sealed in the store under the person and the browser (as the seen
// marker names them). When the same person has signed in again and the
// store holds such a form, the callback sends them to /resend: "You were signed out before this was sent", with
// Send it now (the same body, POSTed to the same URL, through the gate) and
// Discard. Another person's sign-in discards it (dropOthersRescues).
const (
	// maxSentRescue bounds a kept form body.
	maxSentRescue = 1 << 20
	// sentSealName binds sealed kept forms to their use.
	sentSealName = "sessiongate-sent-form"
)

// sentFormSlot names the store slot of a browser's kept form: one a
// browser, the latest.
func sentFormSlot(browser string) string { return rescueSlot(browser, "sent", "form") }

// sentHeader heads a kept form in the store; the body follows it after a
// newline.
type sentHeader struct {
	URL         string `json:"url"`
	From        string `json:"from"`
	ContentType string `json:"ct"`
}

// keepSentForm keeps the form of a gated request that found no live
// session, when it is one to keep. The request is answered as before
// (signed-out page or sign-in) by the caller.
func (g *Gateway) keepSentForm(r *http.Request) {
	if !g.cfg.RescueEnabled() || r.Method != http.MethodPost || !isNavigation(r) || !sameOriginRequest(r) {
		return
	}
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || (mt != "application/x-www-form-urlencoded" && mt != "multipart/form-data") {
		return
	}
	m, seen := g.readSeenMarker(r)
	if !seen || m.UserKey == "" || m.Browser == "" || r.ContentLength > maxSentRescue {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxSentRescue+1))
	if err != nil || len(body) > maxSentRescue {
		return
	}
	hdr := sentHeader{URL: safeReturnPath(r.URL.RequestURI()), From: g.returnTo(r), ContentType: ct}
	head, err := json.Marshal(hdr)
	if err != nil {
		return
	}
	sealed, err := g.sealer.SealData(sentSealName, append(append(head, '\n'), body...))
	if err != nil {
		return
	}
	if err := g.rescues.KeepRescue(r.Context(), m.UserKey, sentFormSlot(m.Browser), []byte(sealed), rescueTTL); err != nil {
		g.log.Warn("a form sent after the session ended could not be kept", zap.Error(err))
		return
	}
	g.audit.Info("rescue-kept", zap.String("user", m.Subject), zap.String("kind", "sent"),
		zap.Int("bytes", len(body)), zap.String("ip", clientIP(r)), zap.String("site", r.Host))
}

// sameOriginRequest reports a request a page of this origin made: Fetch
// Metadata says same-origin, or, without it, Origin is this origin. A
// request without either is not taken for one.
func sameOriginRequest(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
		return site == "same-origin"
	}
	return r.Header.Get("Origin") == origin(r)
}

// resendFor is where a sign-in of userKey continues when this browser kept
// a form of theirs ("" when none, or when the store cannot say).
func (g *Gateway) resendFor(r *http.Request, userKey string) string {
	m, seen := g.readSeenMarker(r)
	if !g.cfg.RescueEnabled() || !seen || m.UserKey != userKey || m.Browser == "" {
		return ""
	}
	if kept, err := g.rescues.PeekRescue(r.Context(), userKey, sentFormSlot(m.Browser)); err != nil || kept == nil {
		return ""
	}
	return g.endpoint("resend")
}

// resendPage asks what to do with a kept form.
type resendPage struct {
	URL, CSRF, Action string
}

// resendHandler is the /resend endpoint, which passes a kept form on to next.
func (g *Gateway) resendHandler(next Next) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error { return g.handleResend(w, r, next) }
}

// handleResend: GET asks "Send it now" or "Discard"; POST (CSRF-checked)
// does it. Send it now passes the kept form, as it was sent, to next through
// the gate (ServeHTTP), with this session.
func (g *Gateway) handleResend(w http.ResponseWriter, r *http.Request, next Next) error {
	if !g.cfg.RescueEnabled() {
		return g.notFound(w, r)
	}
	_, me, ok, err := g.pageSession(w, r, nil)
	if !ok {
		return err
	}
	m, seen := g.readSeenMarker(r)
	if !seen || m.UserKey != me.UserKey || m.Browser == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	slot := sentFormSlot(m.Browser)
	read := g.rescues.TakeRescue
	if r.Method == http.MethodGet {
		read = g.rescues.PeekRescue
	}
	sealed, err := read(r.Context(), me.UserKey, slot)
	if err != nil {
		return g.storeUnavailable(w, r)
	}
	hdr, body, ok := g.openSentForm(sealed)
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	if r.Method == http.MethodGet {
		g.pages.render(w, http.StatusOK, "resend", resendPage{URL: hdr.URL, CSRF: g.csrfToken(me), Action: g.endpoint("resend")})
		return nil
	}
	if r.PostFormValue("action") != "send" {
		g.audit.Info("rescue-discarded", zap.String("user", me.Subject), zap.String("signed_in", me.Subject),
			zap.String("kind", "sent"), zap.String("ip", clientIP(r)), zap.String("site", r.Host))
		http.Redirect(w, r, safeReturnPath(hdr.From), http.StatusSeeOther)
		return nil
	}
	u, err := url.ParseRequestURI(hdr.URL)
	if err != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	again := r.Clone(r.Context())
	again.URL, again.RequestURI = u, u.RequestURI()
	again.Body, again.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	again.Header.Set("Content-Type", hdr.ContentType)
	again.Header.Del("Content-Length")
	again.Form, again.PostForm, again.MultipartForm = nil, nil, nil
	g.audit.Info("rescue-resent", zap.String("user", me.Subject), zap.String("url", hdr.URL),
		zap.Int("bytes", len(body)), zap.String("ip", clientIP(r)), zap.String("site", r.Host))
	return g.ServeHTTP(w, again, next)
}

// openSentForm unseals a kept form into its header and body.
func (g *Gateway) openSentForm(sealed []byte) (sentHeader, []byte, bool) {
	var hdr sentHeader
	if sealed == nil {
		return hdr, nil, false
	}
	raw, err := g.sealer.OpenData(sentSealName, string(sealed))
	if err != nil {
		return hdr, nil, false
	}
	head, body, found := bytes.Cut(raw, []byte{'\n'})
	if !found || json.Unmarshal(head, &hdr) != nil {
		return hdr, nil, false
	}
	return hdr, body, true
}
