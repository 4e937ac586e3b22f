// Package inject inserts one <script src=… defer> tag into HTML pages while
// they are streamed from an upstream application to the browser.
//
// A request that is a navigation is prepared with PrepareRequest (which asks
// the upstream for an uncompressed body) and its response is written through
// the ResponseWriter returned by Wrap. If the response is an HTML page
// (status 200, text/html or application/xhtml+xml, not an attachment, not
// empty), the tag is placed right after the first <head …> start tag; if the
// page has none, right before the first </body> end tag; otherwise at the
// very end. Everything else passes through untouched.
//
// The page is never buffered: a small incremental tokenizer follows the HTML
// tokenization rules across Write calls (so that tags inside comments,
// scripts, styles, attribute values and the like are not mistaken for real
// ones), bytes that cannot contain the insertion point are written on at
// once, and once the tag is placed the rest of the body is not looked at.
// Compressed bodies (gzip, br, deflate) are decoded on the fly. Content
// Security Policies are amended so that exactly the injected script and its
// requests are allowed.
//
// The package does not depend on Caddy.
package inject

import (
	"crypto/rand"
	"errors"
	"fmt"
	"html"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// DefaultWindow is the Window used when Options.Window is zero.
const DefaultWindow = 64 << 10

// Options configures an Injector.
type Options struct {
	// ScriptSrc is the src of the injected tag, e.g.
	// "/.sessiongate/banner.js?v=abc123" (already URL-safe; it is
	// HTML-escaped anyway). It must be an absolute path or an http(s) URL.
	ScriptSrc string
	// ConnectPath is the path prefix the script fetches from (e.g.
	// "/.sessiongate/"), needed for CSP connect-src. Empty means the script
	// makes no requests and connect-src is left alone.
	ConnectPath string
	// Window bounds the bytes held back while searching for the insertion
	// point (default DefaultWindow, 64 KiB). A <head> tag is only preferred
	// over an earlier </body> if it ends within the first Window bytes of
	// the page, and a </body> tag longer than Window is not used.
	Window int
}

// Injector decides which responses get the script tag and wraps their
// ResponseWriters. It is safe for concurrent use.
type Injector struct {
	script      *url.URL
	connectPath string
	window      int
	tagHTML     []byte // the tag without a nonce, HTML syntax
	tagXHTML    []byte // the tag without a nonce, XML syntax
	srcAttr     string // ScriptSrc, HTML-escaped
	newNonce    func() string
}

// New checks the options and returns an Injector.
func New(o Options) (*Injector, error) {
	if o.ScriptSrc == "" {
		return nil, errors.New("inject: ScriptSrc is empty")
	}
	u, err := url.Parse(o.ScriptSrc)
	if err != nil {
		return nil, fmt.Errorf("inject: ScriptSrc %q: %w", o.ScriptSrc, err)
	}
	switch {
	case u.Scheme == "" && u.Host == "":
		if !strings.HasPrefix(u.Path, "/") {
			return nil, fmt.Errorf("inject: ScriptSrc %q is not an absolute path or URL", o.ScriptSrc)
		}
	case u.Host == "" || u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("inject: ScriptSrc %q is not an http(s) URL", o.ScriptSrc)
	}
	if o.ConnectPath != "" && (!strings.HasPrefix(o.ConnectPath, "/") || strings.ContainsAny(o.ConnectPath, "?#")) {
		return nil, fmt.Errorf("inject: ConnectPath %q is not an absolute path", o.ConnectPath)
	}
	if o.Window < 0 {
		return nil, fmt.Errorf("inject: Window %d is negative", o.Window)
	}
	if o.Window == 0 {
		o.Window = DefaultWindow
	}
	in := &Injector{
		script:      u,
		connectPath: o.ConnectPath,
		window:      o.Window,
		srcAttr:     html.EscapeString(o.ScriptSrc),
		newNonce:    rand.Text,
	}
	in.tagHTML = in.tag(false, "")
	in.tagXHTML = in.tag(true, "")
	return in, nil
}

// tag builds the script tag. In XML syntax the defer attribute needs a value.
func (in *Injector) tag(xml bool, nonce string) []byte {
	if nonce == "" {
		if xml && in.tagXHTML != nil {
			return in.tagXHTML
		}
		if !xml && in.tagHTML != nil {
			return in.tagHTML
		}
	}
	var b strings.Builder
	b.WriteString(`<script src="`)
	b.WriteString(in.srcAttr)
	if xml {
		b.WriteString(`" defer="defer"`)
	} else {
		b.WriteString(`" defer`)
	}
	if nonce != "" {
		b.WriteString(` nonce="`)
		b.WriteString(html.EscapeString(nonce))
		b.WriteString(`"`)
	}
	b.WriteString(`></script>`)
	return []byte(b.String())
}

// PrepareRequest is called on the request before it is proxied: for
// navigations (IsNavigation; never HEAD, which has no body) it sets
// Accept-Encoding: identity (so the upstream does not compress) and returns
// whether the response is a candidate for injection.
func (in *Injector) PrepareRequest(r *http.Request) (candidate bool) {
	candidate = r.Method != http.MethodHead && IsNavigation(r)
	if candidate {
		r.Header.Set("Accept-Encoding", "identity")
	}
	return candidate
}

// Wrap returns a ResponseWriter for a candidate request; the caller must
// call Close() after the handler returns (it flushes held bytes and, if the
// insertion point was never found, appends the tag at the end). r supplies
// the origin used in Content-Security-Policy amendments (scheme from r.TLS,
// host from r.Host).
func (in *Injector) Wrap(w http.ResponseWriter, r *http.Request) *ResponseWriter {
	return &ResponseWriter{in: in, w: w, r: r, bodyAt: -1, tagAt: -1}
}

// eligible reports whether a 200 response with these headers gets the tag,
// and whether it is XHTML.
func eligible(h http.Header) (ok, xml bool) {
	ct := h.Get("Content-Type")
	if ct == "" {
		return false, false
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		mt, _, _ = strings.Cut(ct, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		params = nil
	}
	switch mt {
	case "text/html":
	case "application/xhtml+xml":
		xml = true
	default:
		return false, false
	}
	// The tag is ASCII: it cannot go into a page in an encoding that is
	// not ASCII-compatible.
	if cs := strings.ToLower(params["charset"]); strings.HasPrefix(cs, "utf-16") || strings.HasPrefix(cs, "utf-32") {
		return false, false
	}
	if cd := h.Get("Content-Disposition"); cd != "" {
		d, _, _ := strings.Cut(cd, ";")
		if strings.EqualFold(strings.TrimSpace(d), "attachment") {
			return false, false
		}
	}
	if parseCoding(h.Values("Content-Encoding")) == codingUnknown {
		return false, false
	}
	if strings.TrimSpace(h.Get("Content-Length")) == "0" {
		return false, false
	}
	return true, xml
}

// weakenETag turns a strong entity tag into a weak one (the injected body is
// semantically, not byte-for-byte, equivalent) and drops malformed ones.
func weakenETag(h http.Header) {
	v := h.Get("ETag")
	switch {
	case v == "":
		return
	case strings.HasPrefix(v, "W/"):
	case strings.HasPrefix(v, `"`):
		h.Set("ETag", "W/"+v)
	default:
		h.Del("ETag")
	}
}
