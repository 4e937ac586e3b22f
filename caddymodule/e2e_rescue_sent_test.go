package caddymodule_test

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveSaveNote is the app's "Save" of a note: it answers with what it got.
func serveSaveNote(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseMultipartForm(4 << 20); err != nil && err != http.ErrNotMultipart {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><html><head><title>Saved</title></head><body><p id=saved>Saved note: %s (patient %s)</p></body></html>",
		html.EscapeString(r.FormValue("note")), html.EscapeString(r.FormValue("patient")))
}

// rescueSentSite: the session ends 2 s after the last activity.
var rescueSentSite = site{name: "web", extra: "idle_timeout 2s\n\t\twarn_before 1s"}

// saveAfterTheEnd signs b in, lets the idle limit pass, then sends the note
// form with hdr and body: the session has ended by then.
func saveAfterTheEnd(t *testing.T, b *browser, hdr map[string]string, body io.Reader) *http.Response {
	t.Helper()
	expectApp(t, b.signIn("/chart", "alice", "pw-alice"), "/chart")
	time.Sleep(2100 * time.Millisecond) // the idle limit: no banner here to report input
	req, err := http.NewRequest(http.MethodPost, b.base+"/notes", body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := b.noRedirects().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if loc := resp.Header.Get("Location"); strings.Contains(loc, "/.sessiongate/signed-out") {
		readBody(t, b.navigate(loc)) // the browser shows the signed-out page
	} else {
		readBody(t, b.navigate("/chart")) // the next page load shows it
	}
	return resp
}

// TestSentFormKeptAndSentAgain: a note form POSTed after the session ended
// (urlencoded and multipart) is kept; the person signs in again, is asked
// "You were signed out before this was sent", and Send it now delivers the
// same body to the same URL — once.
func TestSentFormKeptAndSentAgain(t *testing.T) {
	var multi bytes.Buffer
	mw := multipart.NewWriter(&multi)
	_ = mw.WriteField("note", "Wound healing well; réévaluer in 2 weeks")
	_ = mw.WriteField("patient", "p-17")
	_ = mw.Close()
	for _, c := range []struct {
		name, contentType, body string
	}{
		{"urlencoded", "application/x-www-form-urlencoded", url.Values{"note": {"Wound healing well; réévaluer in 2 weeks"}, "patient": {"p-17"}}.Encode()},
		{"multipart", mw.FormDataContentType(), multi.String()},
	} {
		t.Run(c.name, func(t *testing.T) {
			auditLog := filepath.Join(t.TempDir(), "audit.log")
			st := startStackWithAudit(t, auditLog, rescueSentSite)
			b := st.newBrowser("web")
			hdr := formHeaders(b)
			hdr["Content-Type"] = c.contentType
			hdr["Referer"] = b.base + "/notes-form"
			hits := st.app.hits.Load()
			resp := saveAfterTheEnd(t, b, hdr, strings.NewReader(c.body))
			if resp.StatusCode != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), "/.sessiongate/signed-out") {
				t.Fatalf("the late POST: %s to %q, want the signed-out page", resp.Status, resp.Header.Get("Location"))
			}
			if st.app.hits.Load() != hits+1 { // the sign-in's landing page only
				t.Fatalf("the late POST reached the app")
			}
			// sign in again: the callback sends the person to the kept form
			final := b.signIn("/notes-form", "alice", "pw-alice")
			page := readBody(t, final)
			if final.Request.URL.Path != "/.sessiongate/resend" || !strings.Contains(page, "You were signed out before this was sent") ||
				!strings.Contains(page, "/notes") {
				t.Fatalf("after signing in again: %s %.300s", final.Request.URL, page)
			}
			csrf := csrfFieldRE.FindStringSubmatch(page)
			if csrf == nil {
				t.Fatal("no CSRF token on the resend page")
			}
			resp = b.post("/.sessiongate/resend", url.Values{"csrf": {csrf[1]}, "action": {"send"}})
			body := readBody(t, resp)
			if !strings.Contains(body, "Saved note: Wound healing well; réévaluer in 2 weeks (patient p-17)") {
				t.Fatalf("Send it now: %s %.300s", resp.Status, body)
			}
			// once: the form is gone after it was sent
			again, _ := b.page("/.sessiongate/resend")
			if strings.Contains(again, "Send it now") {
				t.Fatal("the kept form can be sent twice")
			}
			var kept, resent int
			for _, ev := range auditEvents(t, auditLog) {
				if ev["msg"] == "rescue-kept" && ev["kind"] == "sent" && ev["user"] == "u-alice" {
					kept++
				}
				if ev["msg"] == "rescue-resent" && ev["user"] == "u-alice" && ev["url"] == "/notes" {
					resent++
				}
			}
			if kept != 1 || resent != 1 {
				t.Fatalf("audit: %d kept, %d resent; want 1 and 1", kept, resent)
			}
		})
	}
}

// TestSentFormDiscard: Discard forgets the kept form without sending it and
// goes back to the page it was sent from.
func TestSentFormDiscard(t *testing.T) {
	st := startStack(t, rescueSentSite)
	b := st.newBrowser("web")
	hdr := formHeaders(b)
	hdr["Referer"] = b.base + "/notes-form"
	saveAfterTheEnd(t, b, hdr, strings.NewReader(url.Values{"note": {"draft to throw away"}}.Encode()))
	final := b.signIn("/chart", "alice", "pw-alice")
	page := readBody(t, final)
	csrf := csrfFieldRE.FindStringSubmatch(page)
	if final.Request.URL.Path != "/.sessiongate/resend" || csrf == nil {
		t.Fatalf("after signing in again: %s", final.Request.URL)
	}
	posts := st.app.hits.Load()
	resp, err := b.noRedirects().Do(func() *http.Request {
		req, _ := http.NewRequest(http.MethodPost, b.base+"/.sessiongate/resend",
			strings.NewReader(url.Values{"csrf": {csrf[1]}, "action": {"discard"}}.Encode()))
		for k, v := range formHeaders(b) {
			req.Header.Set(k, v)
		}
		return req
	}())
	if err != nil {
		t.Fatal(err)
	}
	readBody(t, resp)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/notes-form" {
		t.Fatalf("Discard: %s to %q, want 303 to /notes-form", resp.Status, resp.Header.Get("Location"))
	}
	if st.app.hits.Load() != posts {
		t.Fatal("Discard sent the form to the app")
	}
	if body, _ := b.page("/.sessiongate/resend"); strings.Contains(body, "Send it now") {
		t.Fatal("the discarded form is still offered")
	}
}

// TestSentFormNotKept: a cross-site POST, a POST without Fetch Metadata or
// Origin, and a body over 1 MiB are never kept; a kept form is discarded
// when another person signs in, and never offered to anybody afterwards.
func TestSentFormNotKept(t *testing.T) {
	st := startStack(t, rescueSentSite)
	form := url.Values{"note": {"secret"}}.Encode()
	for _, c := range []struct {
		name string
		hdr  func(b *browser) map[string]string
		body string
	}{
		{"cross-site", func(b *browser) map[string]string {
			h := formHeaders(b)
			h["Sec-Fetch-Site"], h["Origin"] = "cross-site", "https://evil.example"
			return h
		}, form},
		{"no origin signal", func(b *browser) map[string]string {
			return map[string]string{"Content-Type": "application/x-www-form-urlencoded", "Accept": "text/html"}
		}, form},
		{"over 1 MiB", formHeaders, "note=" + strings.Repeat("a", 1<<20)},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := st.newBrowser("web")
			saveAfterTheEnd(t, b, c.hdr(b), strings.NewReader(c.body))
			final := b.signIn("/chart", "alice", "pw-alice")
			readBody(t, final)
			if final.Request.URL.Path != "/chart" {
				t.Fatalf("after signing in again: %s, want /chart (nothing kept)", final.Request.URL)
			}
		})
	}
	t.Run("another person", func(t *testing.T) {
		b := st.newBrowser("web")
		saveAfterTheEnd(t, b, formHeaders(b), strings.NewReader(form))
		final := b.signIn("/chart", "clinician", "demo")
		readBody(t, final)
		if final.Request.URL.Path != "/chart" {
			t.Fatalf("another person after signing in: %s, want /chart", final.Request.URL)
		}
		if body, _ := b.page("/.sessiongate/resend"); strings.Contains(body, "secret") || strings.Contains(body, "Send it now") {
			t.Fatal("another person was offered the first person's form")
		}
		// the first person, back on that browser, finds nothing either
		b.do("POST", "/.sessiongate/logout", formHeaders(b), strings.NewReader(url.Values{"csrf": {csrfOf(t, b)}}.Encode()))
		final = b.signIn("/chart", "alice", "pw-alice")
		readBody(t, final)
		if final.Request.URL.Path != "/chart" {
			t.Fatalf("the first person after another's sign-in: %s, want /chart", final.Request.URL)
		}
	})
}

// csrfOf is the session's CSRF token from the logout form.
func csrfOf(t *testing.T, b *browser) string {
	t.Helper()
	_, csrf := b.page("/.sessiongate/logout")
	if csrf == "" {
		t.Fatal("no CSRF token on the logout form")
	}
	return csrf
}
