package devidp

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func TestSSOSessionSkipsForm(t *testing.T) {
	h := newHarness(t, "", nil)
	first := h.exchange(h.authorize("frontdesk", "demo"), nil)
	second := h.authorize("", "") // no credentials: the form must not be shown
	if second.formShown {
		t.Fatal("form shown despite SSO session")
	}
	tok := h.exchange(second, nil)
	if tok.idToken.Subject != first.idToken.Subject {
		t.Errorf("silent sign-in as %q, want %q", tok.idToken.Subject, first.idToken.Subject)
	}
	if sid(t, tok.claims) != sid(t, first.claims) {
		t.Error("sid changed within one SSO session")
	}
	if authTime(t, tok.claims) != authTime(t, first.claims) {
		t.Error("auth_time changed without credentials being entered")
	}
	recs := h.idp.AuthorizeRequests()
	if len(recs) != 2 || !recs[0].LoginFormShown || recs[1].LoginFormShown {
		t.Errorf("records = %+v", recs)
	}
}

func TestPromptLoginForcesForm(t *testing.T) {
	h := newHarness(t, "", nil)
	first := h.exchange(h.authorize("clinician", "demo"), nil)
	// auth_time has one-second resolution: make the second sign-in happen in
	// a later second.
	time.Sleep(time.Until(time.Unix(authTime(t, first.claims)+1, 0).Add(50 * time.Millisecond)))
	f := h.authorize("clinician", "demo", oauth2.SetAuthURLParam("prompt", "login"))
	if !f.formShown {
		t.Fatal("prompt=login did not show the form")
	}
	tok := h.exchange(f, nil)
	if authTime(t, tok.claims) <= authTime(t, first.claims) {
		t.Errorf("auth_time %d not newer than %d", authTime(t, tok.claims), authTime(t, first.claims))
	}
	recs := h.idp.AuthorizeRequests()
	if len(recs) != 2 || recs[1].Prompt != "login" || !recs[1].LoginFormShown {
		t.Errorf("records = %+v", recs)
	}

	// max_age=0 forces the form as well.
	f = h.authorize("clinician", "demo", oauth2.SetAuthURLParam("max_age", "0"))
	if !f.formShown {
		t.Error("max_age=0 did not show the form")
	}
	if recs := h.idp.AuthorizeRequests(); recs[2].MaxAge != "0" {
		t.Errorf("record = %+v", recs[2])
	}
}

func TestPromptNoneWithoutSession(t *testing.T) {
	h := newHarness(t, "", nil)
	u := h.oauth.AuthCodeURL("xyz", oauth2.SetAuthURLParam("prompt", "none"), oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	resp, err := h.browser.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	q := resp.Request.URL.Query()
	if resp.Request.URL.Path != "/callback" || q.Get("error") != "login_required" || q.Get("state") != "xyz" {
		t.Errorf("prompt=none ended at %s", resp.Request.URL)
	}
}

func TestEndSession(t *testing.T) {
	h := newHarness(t, "", nil)
	tok := h.exchange(h.authorize("manager", "demo"), nil)

	q := url.Values{
		"id_token_hint":            {tok.raw},
		"post_logout_redirect_uri": {h.rpSrv.URL + "/logged-out"},
		"state":                    {"bye"},
	}
	resp, err := h.browser.Get(h.idp.Issuer() + "/end_session?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.Request.URL.Host != h.rpURL().Host || resp.Request.URL.Path != "/logged-out" ||
		resp.Request.URL.Query().Get("state") != "bye" {
		t.Fatalf("end_session ended at %s", resp.Request.URL)
	}
	if n := h.idp.EndSessionCalls(); n != 1 {
		t.Errorf("EndSessionCalls = %d", n)
	}
	// The SSO session is gone: the next authorize shows the form.
	if f := h.authorize("manager", "demo"); !f.formShown {
		t.Error("form not shown after end_session")
	}

	// Without an allowed post_logout_redirect_uri the provider's own page
	// is shown; an unregistered one is refused.
	resp, err = h.browser.Get(h.idp.Issuer() + "/end_session")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.Request.URL.Path != LoggedOutPath || !strings.Contains(string(body), "signed out") {
		t.Errorf("bare end_session ended at %s: %s", resp.Request.URL, body)
	}
	q = url.Values{"client_id": {testClientID}, "post_logout_redirect_uri": {"https://evil.example.test/"}}
	resp, err = h.browser.Get(h.idp.Issuer() + "/end_session?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.Request.URL.Host == "evil.example.test" || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unregistered post_logout_redirect_uri followed: %s (%d)", resp.Request.URL, resp.StatusCode)
	}
	if n := h.idp.EndSessionCalls(); n != 2 {
		t.Errorf("EndSessionCalls = %d, want 2", n)
	}
}

func TestConcurrentBrowsers(t *testing.T) {
	h := newHarness(t, "", nil)
	for i, user := range []string{"clinician", "frontdesk", "manager", "clinician"} {
		t.Run(user, func(t *testing.T) {
			t.Parallel()
			jar, err := cookiejar.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			b := *h
			b.t = t
			b.browser = &http.Client{Jar: jar, Timeout: 10 * time.Second}
			first := b.exchange(b.authorize(user, "demo"), nil)
			f := b.authorize("", "")
			if f.formShown {
				t.Errorf("browser %d: form shown despite SSO session", i)
			}
			if tok := b.exchange(f, nil); tok.idToken.Subject != first.idToken.Subject {
				t.Errorf("browser %d: subject changed", i)
			}
		})
	}
}
