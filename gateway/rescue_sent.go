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
// kept sealed in the store under the person and the browser, and a small
// cookie says so. When the same person has signed in again, the callback
// sends them to /resend: "You were signed out before this was sent", with
// Send it now (the same body, POSTed to the same URL, through the gate) and
// Discard. Another person's sign-in discards it (dropOthersRescues).
const (
	// maxSentRescue bounds a kept form body.
	maxSentRescue = 1 << 20
	// sentCookieName marks a kept form; its value is a sealed sentMarker.
	sentCookieName    = "sessiongate_sent"
	sentCookieSealKey = "sessiongate-sent"
	// sentSealName binds sealed kept forms to their use.
	sentSealName = "sessiongate-sent-form"
	// sentSlotName is the store slot's page part: one kept form a browser.
	sentSlotName = "form"
)

// sentMarker is the cookie of a kept form: whose it is and where it went.
type sentMarker struct {
	UserKey string `json:"u"`
	Browser string `json:"b"`
	URL     string `json:"l"`
}

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
func (g *Gateway) keepSentForm(w http.ResponseWriter, r *http.Request) {
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
	if err := g.rescues.KeepRescue(r.Context(), m.UserKey, rescueSlot(m.Browser, "sent", sentSlotName), []byte(sealed), rescueTTL); err != nil {
		g.log.Warn("a form sent after the session ended could not be kept", zap.Error(err))
		return
	}
	if v, err := g.sealer.Seal(sentCookieSealKey, sentMarker{UserKey: m.UserKey, Browser: m.Browser, URL: hdr.URL}); err == nil {
		g.setCookie(w, r, sentCookieName, v, rescueTTL)
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

// readSentMarker opens the kept-form cookie.
func (g *Gateway) readSentMarker(r *http.Request) (sentMarker, bool) {
	var m sentMarker
	c, err := r.Cookie(cookieName(r, sentCookieName))
	if err != nil || g.sealer.Open(sentCookieSealKey, c.Value, &m) != nil {
		return m, false
	}
	return m, true
}

// resendFor is where a sign-in of userKey continues when this browser kept
// a form of theirs ("" when none). A kept form of someone else's is
// forgotten with its cookie (dropOthersRescues forgot the form itself).
func (g *Gateway) resendFor(w http.ResponseWriter, r *http.Request, userKey string) string {
	m, ok := g.readSentMarker(r)
	switch {
	case !ok:
		return ""
	case m.UserKey == userKey:
		return g.endpoint("resend")
	}
	g.setCookie(w, r, sentCookieName, "", -1)
	return ""
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
	sm, kept := g.readSentMarker(r)
	if !kept || sm.UserKey != me.UserKey {
		g.setCookie(w, r, sentCookieName, "", -1)
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	if r.Method == http.MethodGet {
		g.pages.render(w, http.StatusOK, "resend", resendPage{URL: sm.URL, CSRF: g.csrfToken(me), Action: g.endpoint("resend")})
		return nil
	}
	g.setCookie(w, r, sentCookieName, "", -1)
	sealed, err := g.rescues.TakeRescue(r.Context(), me.UserKey, rescueSlot(sm.Browser, "sent", sentSlotName))
	if err != nil {
		return g.storeUnavailable(w, r)
	}
	hdr, body, ok := g.openSentForm(sealed)
	if !ok {
		http.Redirect(w, r, "/", http.StatusSeeOther)
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
