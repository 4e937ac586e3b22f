package gateway

import (
	"bytes"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"net/http"
)

//go:embed templates/*.html
var templateFS embed.FS

type pages struct {
	t *template.Template
}

func loadPages() (*pages, error) {
	t, err := template.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("gateway pages: %w", err)
	}
	return &pages{t: t}, nil
}

type errorPage struct {
	Title, Message, Retry string
	Refresh               int
}

type breakoutPage struct {
	Target string
}

type signedOutPage struct {
	Title, Message, SignIn string
	// SwitchUser signs in afresh (password asked) and lands on the home page.
	SwitchUser string
	Manual     bool
}

type logoutPage struct {
	Name, CSRF, Action, Cancel string
}

// render writes a gateway page with a strict CSP whose nonce admits only
// the page's own inline style and script.
func (p *pages) render(w http.ResponseWriter, status int, name string, data any) {
	p.renderWithFormAction(w, status, name, data, "")
}

// renderWithFormAction is render for a page whose form ends at another
// origin after a redirect (sign-out continuing at the provider): CSP
// form-action also governs redirects.
func (p *pages) renderWithFormAction(w http.ResponseWriter, status int, name string, data any, formOrigin string) {
	nonce := newNonce()
	var buf bytes.Buffer
	if err := p.t.ExecuteTemplate(&buf, name+".html", map[string]any{"Nonce": nonce, "P": data}); err != nil {
		http.Error(w, "page rendering failed", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'nonce-"+nonce+"'; script-src 'nonce-"+nonce+
		"'; img-src 'self' data:; form-action 'self'"+formOrigin+"; frame-ancestors 'self'; base-uri 'none'")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func newNonce() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
