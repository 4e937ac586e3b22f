package devidp

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

func TestWrongPasswordShowsFormAgain(t *testing.T) {
	h := newHarness(t, "", nil)
	resp, err := h.browser.Get(h.oauth.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	if err != nil {
		t.Fatal(err)
	}
	resp, err = SubmitLogin(h.browser, resp, "clinician", "not-the-password")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "Wrong username or password") ||
		!strings.Contains(string(body), `type="password"`) {
		t.Fatalf("status %d, body %s", resp.StatusCode, body)
	}
	if !strings.Contains(string(body), Banner) {
		t.Error("banner missing from the sign-in page")
	}
	// Unknown user too.
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	resp, err = SubmitLogin(h.browser, resp, "nobody", "demo")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if !strings.Contains(string(body), "Wrong username or password") {
		t.Fatalf("unknown user: status %d body %s", resp.StatusCode, body)
	}
	// The same request can still be completed.
	resp.Body = io.NopCloser(strings.NewReader(string(body)))
	resp, err = SubmitLogin(h.browser, resp, "clinician", "demo")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.Request.URL.Path != "/callback" || resp.Request.URL.Query().Get("code") == "" {
		t.Fatalf("after correct password ended at %s", resp.Request.URL)
	}
}

func TestLoginPageUnknownRequest(t *testing.T) {
	h := newHarness(t, "", nil)
	for _, u := range []string{"/login", "/login?authRequestID=nope"} {
		resp, err := http.Get(h.idp.Issuer() + u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), Banner) {
			t.Errorf("%s: %d %s", u, resp.StatusCode, body)
		}
	}
	resp, err := http.PostForm(h.idp.Issuer()+"/login", url.Values{"authRequestID": {"nope"}, "username": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST unknown request: %d", resp.StatusCode)
	}
}
