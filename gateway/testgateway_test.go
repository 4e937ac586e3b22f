package gateway

import (
	"net/http"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/config"
	"github.com/sessiongate/sessiongate/session"
)

// testGateway builds a gateway for a test: cfg with its defaults applied
// and validated, store, a sealer of cfg's secrets, the time now, and a
// provider that is never reached. It is closed after the test.
func testGateway(t testing.TB, cfg *config.Settings, store session.Store, now func() time.Time) *Gateway {
	t.Helper()
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	sealer, err := auth.NewSealer(cfg.CookieSecrets)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Options{Settings: cfg, Store: store, Sealer: sealer, Now: now,
		RP: auth.New(auth.Config{Issuer: cfg.Issuer, ClientID: cfg.ClientID, HTTPClient: &http.Client{Timeout: time.Millisecond}})})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}
