package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/sessiongate/sessiongate/internal/devidp"
)

// signIn signs in at base through the development provider's form, as a
// browser would, and returns the session cookie's value.
func signIn(ctx context.Context, base string) (string, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return "", fmt.Errorf("cookie jar: %w", err)
	}
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+pagePath, nil)
	if err != nil {
		return "", fmt.Errorf("sign-in request: %w", err)
	}
	for k, v := range navigationHeaders(true) {
		req.Header.Set(k, v)
	}
	req.Header.Set("User-Agent", benchUserAgent)
	resp, err := client.Do(req)
	if err != nil {
		return "", fmt.Errorf("sign-in: %w", err)
	}
	if !strings.Contains(resp.Request.URL.Path, devidp.LoginPath) {
		_ = resp.Body.Close()
		return "", fmt.Errorf("sign-in: expected the provider's login form, got %s %s", resp.Request.URL, resp.Status)
	}
	final, err := devidp.SubmitLogin(client, resp, benchUser, benchPassword)
	if err != nil {
		return "", fmt.Errorf("sign-in: %w", err)
	}
	_, _ = io.Copy(io.Discard, final.Body)
	_ = final.Body.Close()
	if final.StatusCode != http.StatusOK {
		return "", fmt.Errorf("sign-in: the app answered %s at %s", final.Status, final.Request.URL)
	}
	u, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("sign-in: %w", err)
	}
	for _, c := range jar.Cookies(u) {
		if c.Name == sessionCookie {
			return c.Value, nil
		}
	}
	return "", errors.New("sign-in: no session cookie was set")
}

// benchUserAgent is the User-Agent of every benchmark request.
const benchUserAgent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) " +
	"Chrome/131.0.0.0 Safari/537.36"

// navigationHeaders are a top-level page load's Fetch Metadata; userActivated
// adds Sec-Fetch-User (a click: counts as activity).
func navigationHeaders(userActivated bool) map[string]string {
	h := map[string]string{
		"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "same-origin",
		"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
	}
	if userActivated {
		h["Sec-Fetch-User"] = "?1"
	}
	return h
}

// backgroundHeaders are a script's fetch(): not activity, no injection.
func backgroundHeaders() map[string]string {
	return map[string]string{
		"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty", "Sec-Fetch-Site": "same-origin", "Accept": "*/*",
	}
}

// rawRequest renders a GET of pagePath on base as HTTP/1.1 bytes with the
// given headers and session cookie ("" for none).
func rawRequest(base string, hdr map[string]string, cookie string) (addr, raw string) {
	host := strings.TrimPrefix(base, "http://")
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept-Encoding: gzip, deflate, br\r\n",
		pagePath, host, benchUserAgent)
	// a fixed order keeps every request byte-identical between runs
	for _, k := range []string{"Accept", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-User", "Sec-Fetch-Dest"} {
		if v, ok := hdr[k]; ok {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	if cookie != "" {
		fmt.Fprintf(&b, "Cookie: %s=%s\r\n", sessionCookie, cookie)
	}
	b.WriteString("\r\n")
	return host, b.String()
}
