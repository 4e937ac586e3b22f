package caddymodule_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/internal/devidp"
)

// browser is one device: a cookie jar and Fetch Metadata like a real browser.
type browser struct {
	t      *testing.T
	client *http.Client
	base   string
}

func (st *stack) newBrowser(siteName string) *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: st.t, base: st.sites[siteName]}
	b.client = &http.Client{Jar: jar, Timeout: 10 * time.Second}
	return b
}

// navigate is a top-level navigation typed in the address bar: the one
// navigation that counts as activity by itself (a link click counts through
// the banner's report of the click).
func (b *browser) navigate(path string) *http.Response {
	b.t.Helper()
	return b.do(http.MethodGet, path, map[string]string{
		"Sec-Fetch-Mode": "navigate", "Sec-Fetch-User": "?1", "Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "none",
		"Accept": "text/html,application/xhtml+xml",
	}, nil)
}

// background is a script's fetch/XHR.
func (b *browser) background(method, path string, hdr map[string]string) *http.Response {
	b.t.Helper()
	h := map[string]string{"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty", "Sec-Fetch-Site": "same-origin", "Accept": "application/json"}
	for k, v := range hdr {
		h[k] = v
	}
	return b.do(method, path, h, nil)
}

func (b *browser) do(method, path string, hdr map[string]string, body io.Reader) *http.Response {
	b.t.Helper()
	target := path
	if !strings.HasPrefix(path, "http") {
		target = b.base + path
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.client.Do(req)
	if err != nil && body == nil {
		// A config reload closes the old servers' connections (the
		// listener's too, for a moment): a browser opens another and sends
		// the request again, as TestReloadUnderLoad's clients do.
		time.Sleep(50 * time.Millisecond)
		resp, err = b.client.Do(req.Clone(req.Context()))
	}
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// signIn navigates to path, signs in at the provider's form and returns the
// final response (the app's page).
func (b *browser) signIn(path, user, password string) *http.Response {
	b.t.Helper()
	resp := b.navigate(path)
	if !strings.Contains(resp.Request.URL.Path, devidp.LoginPath) {
		body := readBody(b.t, resp)
		b.t.Fatalf("expected the provider's login form, got %s %s: %.300s", resp.Request.URL, resp.Status, body)
	}
	final, err := devidp.SubmitLogin(b.client, resp, user, password)
	if err != nil {
		b.t.Fatalf("submit login: %v", err)
	}
	return final
}

func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// noRedirects returns a copy of the browser's client that stops at redirects.
func (b *browser) noRedirects() *http.Client {
	c := *b.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

func (b *browser) cookie(name string) *http.Cookie {
	u, _ := url.Parse(b.base)
	for _, c := range b.client.Jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func submitLogin(b *browser, loginPage *http.Response, user, password string) (*http.Response, error) {
	return devidp.SubmitLogin(b.client, loginPage, user, password)
}

// submitAndCapture signs in and returns every Set-Cookie the gateway sent.
func submitAndCapture(b *browser, loginPage *http.Response) ([]string, error) {
	var got []string
	var mu sync.Mutex
	inner := b.client.Transport
	if inner == nil {
		inner = http.DefaultTransport
	}
	c := *b.client
	c.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		resp, err := inner.RoundTrip(r)
		if err == nil && strings.HasPrefix(r.URL.String(), b.base) {
			mu.Lock()
			got = append(got, resp.Header.Values("Set-Cookie")...)
			mu.Unlock()
		}
		return resp, err
	})
	resp, err := devidp.SubmitLogin(&c, loginPage, "alice", "pw-alice")
	if err != nil {
		return nil, err
	}
	readBody(b.t, resp)
	return got, nil
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
