package demo

import (
	"fmt"
	"net"
	"strings"
)

// site is where the demo gateway answers: the Caddy site addresses (every
// name a person may type for the listen address), the addresses it binds
// and the URL printed for the person to open.
type site struct {
	addresses []string // Caddy site addresses, e.g. http://localhost:8080
	bind      []string // arguments of Caddy's bind directive
	url       string   // printed: http://localhost:8080/
}

// siteFor maps the --listen address to the demo's site. A loopback listen
// address answers on every loopback name: localhost, 127.0.0.1 and [::1]
// (where this machine has IPv6 loopback). Each name signs in on its own
// (the provider accepts any loopback redirect URI, and the gateway builds
// its callback URL from the name the browser used). Any other address
// (--allow-remote) answers whatever host name the request carries.
func siteFor(listen string) (site, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return site{}, fmt.Errorf("listen address %q: %w", listen, err)
	}
	ip := net.ParseIP(host)
	loopback := host == "localhost" || ip != nil && ip.IsLoopback()
	if !loopback {
		return site{addresses: []string{"http://:" + port}, bind: []string{host},
			url: "http://" + net.JoinHostPort(host, port) + "/"}, nil
	}
	canonical := "localhost"
	if ip != nil && !ip.Equal(net.IPv4(127, 0, 0, 1)) && !ip.Equal(net.IPv6loopback) {
		// another loopback address (127.0.0.2): answer on it alone
		canonical = ip.String()
		return site{addresses: []string{"http://" + net.JoinHostPort(canonical, port)}, bind: []string{canonical},
			url: "http://" + net.JoinHostPort(canonical, port) + "/"}, nil
	}
	s := site{url: "http://" + net.JoinHostPort(canonical, port) + "/"}
	s.addresses = append(s.addresses, "http://"+net.JoinHostPort("localhost", port))
	if hasIPv4Loopback() {
		s.addresses = append(s.addresses, "http://"+net.JoinHostPort("127.0.0.1", port))
		s.bind = append(s.bind, "127.0.0.1")
	}
	if hasIPv6Loopback() {
		s.addresses = append(s.addresses, "http://"+net.JoinHostPort("::1", port))
		s.bind = append(s.bind, "[::1]")
	}
	if len(s.bind) == 0 {
		return site{}, fmt.Errorf("listen address %q: this machine has no loopback interface", listen)
	}
	return s, nil
}

// hasIPv4Loopback reports whether 127.0.0.1 can be bound here.
func hasIPv4Loopback() bool { return canListen("tcp4", "127.0.0.1:0") }

// hasIPv6Loopback reports whether [::1] can be bound here (containers often
// run without IPv6).
func hasIPv6Loopback() bool { return canListen("tcp6", "[::1]:0") }

func canListen(network, addr string) bool {
	ln, err := net.Listen(network, addr)
	if err != nil {
		return false
	}
	ln.Close()
	return strings.TrimSpace(ln.Addr().String()) != ""
}
