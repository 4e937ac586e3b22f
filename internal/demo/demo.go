// Package demo runs the whole sessiongate flow on loopback: the gateway in
// Caddy, a development OpenID provider and a sample legacy app. It is
// development-only: the provider accepts fixed demo passwords.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/sessiongate/sessiongate/internal/devidp"
)

// Options configure the demo.
type Options struct {
	Listen, IdPListen, AppListen string // host:port each
	Redis                        string // redis URL; "" = memory store
	Idle, Warn, Absolute         time.Duration
	AllowRemote                  bool // permit non-loopback listen addresses
	Out                          io.Writer
}

// Run starts everything and blocks until ctx is done.
func Run(ctx context.Context, o Options) error {
	for _, addr := range []string{o.Listen, o.IdPListen, o.AppListen} {
		if err := checkLoopback(addr, o.AllowRemote); err != nil {
			return err
		}
	}
	idpLn, err := net.Listen("tcp", o.IdPListen)
	if err != nil {
		return fmt.Errorf("demo provider: %w", err)
	}
	appLn, err := net.Listen("tcp", o.AppListen)
	if err != nil {
		idpLn.Close()
		return fmt.Errorf("demo app: %w", err)
	}
	issuer := "http://" + idpLn.Addr().String()
	secret := randomSecret()
	idp, err := devidp.New(devidp.Options{
		Issuer: issuer, Users: devidp.DemoUsers(), AllowLoopbackRedirects: true,
		Clients: []devidp.Client{{ID: "sessiongate-demo", Secret: secret}},
	})
	if err != nil {
		return fmt.Errorf("demo provider: %w", err)
	}
	idpSrv := &http.Server{Handler: idp, ReadHeaderTimeout: 10 * time.Second}
	appSrv := &http.Server{Handler: &sampleApp{}, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = idpSrv.Serve(idpLn) }()
	go func() { _ = appSrv.Serve(appLn) }()
	defer idpSrv.Close()
	defer appSrv.Close()

	store := "memory"
	if o.Redis != "" {
		store = "redis " + o.Redis
	}
	site, err := siteFor(o.Listen)
	if err != nil {
		return err
	}
	cf := fmt.Sprintf(`{
	admin off
	auto_https off
	persist_config off
}
%s {
	bind %s
	session_gate {
		issuer %s
		client_id sessiongate-demo
		client_secret %s
		scopes openid profile email groups
		cookie_secret %s
		store %s
		idle_timeout %s
		warn_before %s
		absolute_timeout %s
		absolute_warn_before %s
		identity_headers {
			X-Forwarded-User sub
			X-Forwarded-Name name
			X-Forwarded-Email email
			X-Forwarded-Groups groups
		}
	}
	reverse_proxy %s
}
`, strings.Join(site.addresses, ", "), strings.Join(site.bind, " "), issuer, secret, randomSecret(), store, o.Idle, o.Warn, o.Absolute, min(o.Absolute/2, 2*time.Minute), appLn.Addr())
	cfg, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(cf), nil)
	if err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	if err := caddy.Load(cfg, true); err != nil {
		return fmt.Errorf("demo gateway: %w", err)
	}
	defer caddy.Stop() //nolint:errcheck

	printIntro(o, site.url, issuer)
	<-ctx.Done()
	fmt.Fprintln(o.Out, "\nsessiongate demo: shutting down")
	return nil
}

func printIntro(o Options, url, issuer string) {
	w := o.Out
	fmt.Fprintf(w, "\nsessiongate demo — DEVELOPMENT ONLY\n\n")
	fmt.Fprintf(w, "  Open            %s\n", url)
	fmt.Fprintf(w, "  Provider        %s (development sign-in)\n", issuer)
	fmt.Fprintf(w, "  Timers          idle %s (warning %s before), absolute %s\n\n", o.Idle, o.Warn, o.Absolute)
	fmt.Fprintf(w, "  Demo users (password for all: demo):\n")
	for _, u := range devidp.DemoUsers() {
		fmt.Fprintf(w, "    %-12s %-22s groups: %s\n", u.Username, u.Name, strings.Join(u.Groups, ", "))
	}
	fmt.Fprintf(w, "\n  Try: sign in, leave the tab alone for %s and see the signed-out page;\n", o.Idle)
	fmt.Fprintf(w, "       open the Waiting room: its polling does not keep you signed in;\n")
	fmt.Fprintf(w, "       Chart is a frameset and Strict CSP a hardened page: one banner on each.\n")
	fmt.Fprintf(w, "  Press Ctrl-C to stop.\n")
}

func checkLoopback(addr string, allowRemote bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if allowRemote {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return errors.New("the demo listens on loopback only (" + addr + "); pass --allow-remote to bind " + host)
}

func randomSecret() string {
	b := make([]byte, 36)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
