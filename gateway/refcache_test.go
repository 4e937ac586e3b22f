package gateway

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/sessiongate/sessiongate/internal/testclock"
	"github.com/sessiongate/sessiongate/session"
)

// Opened cookies are remembered by value, only after they opened, and the
// cache stays bounded.
func TestRefCacheRemembersOnlyOpenedCookies(t *testing.T) {
	f := newFixture(t, nil, testclock.New())
	c := f.signIn(t)
	r := request("GET", "/", c, nil)
	ref, ok := f.g.readSessionCookie(r)
	if !ok {
		t.Fatal("valid cookie not opened")
	}
	if cached, ok := f.g.refs.get(c.Value); !ok || cached.ID != ref.ID {
		t.Fatal("opened cookie not remembered")
	}
	tampered := &http.Cookie{Name: c.Name, Value: c.Value[:len(c.Value)-2] + "AA"}
	if _, ok := f.g.readSessionCookie(request("GET", "/", tampered, nil)); ok {
		t.Fatal("tampered cookie opened")
	}
	if _, ok := f.g.refs.get(tampered.Value); ok {
		t.Fatal("a cookie that did not open was remembered")
	}
	cache := newRefCache()
	for i := range refCacheSize + 10 {
		cache.put(strconv.Itoa(i), session.Ref{ID: "x"})
	}
	if n := len(cache.m); n > refCacheSize {
		t.Fatalf("cache holds %d cookies, bound %d", n, refCacheSize)
	}
	if _, ok := cache.get(strconv.Itoa(refCacheSize + 9)); !ok {
		t.Fatal("latest cookie not remembered")
	}
}
