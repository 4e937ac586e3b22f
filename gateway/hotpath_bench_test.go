package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sessiongate/sessiongate/config"
	"github.com/sessiongate/sessiongate/internal/testclock"
	"github.com/sessiongate/sessiongate/session"
)

// The hot path of an authenticated request, measured by `make bench`
// (internal/bench) and on its own with
//
//	go test -run '^$' -bench BenchmarkHotPath -benchmem ./gateway

// hotpathGateway is a gateway with a memory store, a frozen clock and the
// identity headers of a typical deployment, plus one signed-in session.
type hotpathGateway struct {
	g      *Gateway
	sess   *session.Session
	cookie *http.Cookie
}

func newHotpathGateway(b *testing.B) *hotpathGateway {
	b.Helper()
	cfg := &config.Settings{
		Issuer: "https://idp.invalid", ClientID: "c", CookieSecrets: []string{strings.Repeat("s", 40)},
		IdentityHeaders: map[string]string{
			"X-Forwarded-User": "sub", "X-Forwarded-Email": "email",
			"X-Forwarded-Groups": "groups", "X-Forwarded-Name": "name",
		},
	}
	clock := testclock.New()
	store := session.NewMemoryStore(session.Options{Clock: clock.Now}, 0)
	b.Cleanup(func() { _ = store.Close() })
	g := testGateway(b, cfg, store, clock.Now)
	s := &session.Session{ID: session.NewID(), UserKey: session.UserKey(cfg.Issuer, "3f2c9a4e-7b1d-4c8e-9f60-2a5d8e1b7c34"),
		Subject: "3f2c9a4e-7b1d-4c8e-9f60-2a5d8e1b7c34", Name: "Maria Lopez", Email: "maria.lopez@clinic.example",
		Groups: []string{"clinicians", "front-desk", "ehr-users"}, IdPSessionID: "5b7e0c1a-9d2f-4e3b-8a6c-1f4d7e9b2a05",
		Device: "Chrome on Windows", IP: "10.1.2.3"}
	if _, err := store.Create(context.Background(), s, g.limits(), session.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	v, err := g.sealer.Seal(sessionCookieSealKey, s.Ref())
	if err != nil {
		b.Fatal(err)
	}
	return &hotpathGateway{g: g, sess: s, cookie: &http.Cookie{Name: sessionCookieName, Value: v}}
}

// backgroundRequest is a script's fetch with the session cookie: checked,
// not activity, not a candidate for injection.
func (h *hotpathGateway) backgroundRequest() *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://gw.test/api/queue", nil)
	r.AddCookie(h.cookie)
	r.Header.Set("Sec-Fetch-Mode", "cors")
	r.Header.Set("Sec-Fetch-Dest", "empty")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
	r.Header.Set("Accept", "application/json")
	return r
}

// discardWriter is a ResponseWriter that keeps nothing but its header map.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

// BenchmarkHotPathOpenSessionCookie opens the sealed session cookie as on
// its first request (base64, HMAC-SHA256, AES-CTR, JSON), without the cache.
func BenchmarkHotPathOpenSessionCookie(b *testing.B) {
	h := newHotpathGateway(b)
	b.ReportAllocs()
	for b.Loop() {
		var ref session.Ref
		if err := h.g.sealer.Open(sessionCookieSealKey, h.cookie.Value, &ref); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHotPathReadSessionCookie reads the session cookie as on every
// later request (parse the Cookie header, find the opened cookie in the
// gateway's cache).
func BenchmarkHotPathReadSessionCookie(b *testing.B) {
	h := newHotpathGateway(b)
	r := h.backgroundRequest()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := h.g.readSessionCookie(r); !ok {
			b.Fatal("cookie not accepted")
		}
	}
}

// BenchmarkHotPathServeHTTP is one authenticated background request through
// the whole gateway (cookie, memory-store check, header rewrite) to a no-op
// next handler.
func BenchmarkHotPathServeHTTP(b *testing.B) {
	h := newHotpathGateway(b)
	r := h.backgroundRequest()
	cookieLine := r.Header["Cookie"] // restored after the gateway strips it
	w := &discardWriter{h: http.Header{}}
	reached := 0
	next := func(http.ResponseWriter, *http.Request) error { reached++; return nil }
	b.ReportAllocs()
	for b.Loop() {
		r.Header["Cookie"] = cookieLine
		if err := h.g.ServeHTTP(w, r, next); err != nil {
			b.Fatal(err)
		}
	}
	if reached != b.N {
		b.Fatalf("next reached %d times of %d", reached, b.N)
	}
}

// BenchmarkHotPathServeHTTPParallel is BenchmarkHotPathServeHTTP from
// GOMAXPROCS goroutines on one session (the memory store's lock is shared).
func BenchmarkHotPathServeHTTPParallel(b *testing.B) {
	h := newHotpathGateway(b)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := h.backgroundRequest()
		cookieLine := r.Header["Cookie"]
		w := &discardWriter{h: http.Header{}}
		next := func(http.ResponseWriter, *http.Request) error { return nil }
		for pb.Next() {
			r.Header["Cookie"] = cookieLine
			if err := h.g.ServeHTTP(w, r, next); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkHotPathIdentityHeaders removes client-sent identity headers and
// sets the four configured ones from the session.
func BenchmarkHotPathIdentityHeaders(b *testing.B) {
	h := newHotpathGateway(b)
	r := h.backgroundRequest()
	r.Header.Set("X-Forwarded-User", "mallory")
	b.ReportAllocs()
	for b.Loop() {
		h.g.stripIdentityHeaders(r)
		h.g.setIdentityHeaders(r, h.sess)
	}
	if got := r.Header.Get("X-Forwarded-User"); got != h.sess.Subject {
		b.Fatalf("X-Forwarded-User %q", got)
	}
}
