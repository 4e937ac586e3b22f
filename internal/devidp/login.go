package devidp

import (
	"bytes"
	"net/http"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// pageTemplates holds the sign-in form and a plain message page.
const pageTemplates = `
{{define "head"}}<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 0; background: #f4f4f6; color: #1b1b1f; }
.banner { background: #b00020; color: #fff; padding: .75rem 1rem; font-weight: 600; text-align: center; }
main { max-width: 22rem; margin: 3rem auto; background: #fff; padding: 1.5rem 2rem; border-radius: .5rem; box-shadow: 0 1px 4px rgba(0,0,0,.15); }
label { display: block; margin-top: 1rem; }
input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: .5rem; margin-top: .25rem; }
button { margin-top: 1.5rem; width: 100%; padding: .6rem; }
.error { color: #b00020; }
.hint { color: #555; font-size: .9rem; }
</style>
</head>
<body>
<div class="banner" role="alert">{{.Banner}}</div>
<main>
{{end}}

{{define "foot"}}</main>
</body>
</html>
{{end}}

{{define "login"}}{{template "head" .}}
<h1>Sign in</h1>
{{if .ClientID}}<p class="hint">to continue to <strong>{{.ClientID}}</strong></p>{{end}}
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="authRequestID" value="{{.AuthRequestID}}">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="{{.Username}}" autocomplete="username" autofocus required>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
{{template "foot" .}}{{end}}

{{define "message"}}{{template "head" .}}
<h1>{{.Title}}</h1>
<p>{{.Message}}</p>
{{template "foot" .}}{{end}}
`

// pageData is the data of both page templates.
type pageData struct {
	Banner        string
	Title         string
	Message       string
	Action        string
	AuthRequestID string
	ClientID      string
	Username      string
	Error         string
}

// serveLogin serves the sign-in page.
func (p *Provider) serveLogin(w http.ResponseWriter, r *http.Request) {
	// The op helpers used below read the issuer from the context, which the
	// op router would have set.
	r = r.WithContext(op.ContextWithIssuer(r.Context(), p.issuer))
	switch r.Method {
	case http.MethodGet:
		p.loginGet(w, r)
	case http.MethodPost:
		p.loginPost(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// loginGet completes the auth request silently from the SSO session when it
// can, and shows the sign-in form otherwise.
func (p *Provider) loginGet(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	ar, err := p.store.pendingAuthRequest(id)
	if err != nil {
		p.renderMessage(w, http.StatusBadRequest, "Sign-in request not found",
			"This sign-in request is unknown, has expired or was already used. Go back to the application and try again.")
		return
	}
	if sess := p.store.session(p.cookieValue(r)); sess != nil && !ar.needsFreshLogin(sess.subject, sess.authTime, time.Now()) {
		if err := p.store.completeAuthRequest(ar.id, sess.subject, sess.sid, sess.authTime); err != nil {
			p.renderMessage(w, http.StatusBadRequest, "Sign-in request not found", "This sign-in request has expired.")
			return
		}
		p.logger.Info("devidp: silent sign-in from SSO session", "sub", sess.subject, "client_id", ar.clientID)
		http.Redirect(w, r, op.AuthCallbackURL(p.op)(r.Context(), ar.id), http.StatusFound)
		return
	}
	if ar.hasPrompt(oidc.PromptNone) {
		op.AuthRequestError(w, r, ar, oidc.ErrLoginRequired().WithDescription("no sign-in session"), p.op)
		return
	}
	p.store.markFormShown(ar.recordIndex)
	p.renderLogin(w, http.StatusOK, ar, ar.loginHint, "")
}

// loginPost checks the credentials and completes the auth request.
func (p *Provider) loginPost(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		p.renderMessage(w, http.StatusBadRequest, "Bad request", "The sign-in form could not be read.")
		return
	}
	id := r.PostForm.Get("authRequestID")
	ar, err := p.store.pendingAuthRequest(id)
	if err != nil {
		p.renderMessage(w, http.StatusBadRequest, "Sign-in request not found",
			"This sign-in request is unknown, has expired or was already used. Go back to the application and try again.")
		return
	}
	username := r.PostForm.Get("username")
	user, ok := p.store.checkPassword(username, r.PostForm.Get("password"))
	if !ok {
		p.logger.Info("devidp: failed sign-in", "username", username)
		p.renderLogin(w, http.StatusOK, ar, username, "Wrong username or password.")
		return
	}
	sess := p.store.signIn(p.cookieValue(r), user.Subject, time.Now())
	if err := p.store.completeAuthRequest(ar.id, sess.subject, sess.sid, sess.authTime); err != nil {
		p.renderMessage(w, http.StatusBadRequest, "Sign-in request not found", "This sign-in request has expired.")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     p.cookieName,
		Value:    sess.token,
		Path:     p.cookiePath,
		HttpOnly: true,
		Secure:   p.secure,
		SameSite: http.SameSiteLaxMode,
	})
	p.logger.Info("devidp: signed in", "sub", user.Subject, "username", user.Username, "client_id", ar.clientID)
	http.Redirect(w, r, op.AuthCallbackURL(p.op)(r.Context(), ar.id), http.StatusSeeOther)
}

// cookieValue returns the SSO cookie of the request, or "".
func (p *Provider) cookieValue(r *http.Request) string {
	c, err := r.Cookie(p.cookieName)
	if err != nil {
		return ""
	}
	return c.Value
}

// clearCookie expires the SSO cookie.
func (p *Provider) clearCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name:     p.cookieName,
		Value:    "",
		Path:     p.cookiePath,
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   p.secure,
		SameSite: http.SameSiteLaxMode,
	})
}

// renderLogin writes the sign-in form.
func (p *Provider) renderLogin(w http.ResponseWriter, status int, ar *authRequest, username, errMsg string) {
	p.render(w, status, "login", pageData{
		Banner:        Banner,
		Title:         "Sign in — development identity provider",
		Action:        p.prefix + LoginPath,
		AuthRequestID: ar.id,
		ClientID:      ar.clientID,
		Username:      username,
		Error:         errMsg,
	})
}

// renderMessage writes a page with a title and one paragraph.
func (p *Provider) renderMessage(w http.ResponseWriter, status int, title, message string) {
	p.render(w, status, "message", pageData{Banner: Banner, Title: title, Message: message})
}

func (p *Provider) render(w http.ResponseWriter, status int, name string, data pageData) {
	var buf bytes.Buffer
	if err := p.pages.ExecuteTemplate(&buf, name, data); err != nil {
		p.logger.Error("devidp: render page", "page", name, "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
