package caddymodule_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// serveStream is the app's long-lived responses: /stream/ws switches
// protocols (as a WebSocket server does) and echoes lines; /stream/events
// sends a server-sent event every 50 ms for up to 30 s.
func serveStream(w http.ResponseWriter, r *http.Request) bool {
	switch r.URL.Path {
	case "/stream/ws":
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return true
		}
		defer func() { _ = conn.Close() }()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return true
			}
			if _, err := brw.WriteString(line); err != nil || brw.Flush() != nil {
				return true
			}
		}
	case "/stream/events":
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		for i := 0; i < 600; i++ {
			if _, err := fmt.Fprintf(w, "data: tick %d\n\n", i); err != nil || rc.Flush() != nil {
				return true
			}
			select {
			case <-r.Context().Done():
				return true
			case <-time.After(50 * time.Millisecond):
			}
		}
		return true
	}
	return false
}

// openSocket opens /stream/ws through the gateway with b's session cookie
// and checks that a line goes to the app and back.
func openSocket(t *testing.T, b *browser) (net.Conn, *bufio.Reader) {
	t.Helper()
	u, _ := url.Parse(b.base)
	conn, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	c := b.cookie("sessiongate")
	if c == nil {
		t.Fatal("no session cookie")
	}
	fmt.Fprintf(conn, "GET /stream/ws HTTP/1.1\r\nHost: %s\r\nCookie: %s=%s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: %s\r\n\r\n", u.Host, c.Name, c.Value, b.base)
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade through the gateway: %s", resp.Status)
	}
	fmt.Fprint(conn, "hello\n")
	if line, err := br.ReadString('\n'); err != nil || line != "hello\n" {
		t.Fatalf("echo through the socket: %q %v", line, err)
	}
	return conn, br
}

// expectClosedWithin checks that the connection is closed by the far end
// within d (not merely idle).
func expectClosedWithin(t *testing.T, conn net.Conn, br *bufio.Reader, d time.Duration, what string) {
	t.Helper()
	start := time.Now()
	_ = conn.SetDeadline(start.Add(d))
	_, _ = io.Copy(io.Discard, br)
	if err := stillOpen(conn); err != nil {
		t.Fatalf("%s: still open after %s (%v)", what, d, err)
	}
	t.Logf("%s: closed after %s", what, time.Since(start).Round(time.Millisecond))
}

// stillOpen returns the timeout error of a short read if the connection is
// still open (idle), nil if the far end closed it.
func stillOpen(conn net.Conn) error {
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	var one [1]byte
	_, err := conn.Read(one[:])
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	return nil
}

// A session's end closes what it opened: a WebSocket when the user signs
// out on another device of the same gateway (at once) or on another node
// (at the next re-check), and a server-sent events stream likewise.
func TestSessionEndClosesWebSocketsAndEventStreams(t *testing.T) {
	st := startStack(t, site{name: "main"}, site{name: "node2"})
	b1, b2 := st.newBrowser("main"), st.newBrowser("main")
	expectApp(t, b1.signIn("/patients", "alice", "pw-alice"), "/patients")
	expectApp(t, b2.signIn("/patients", "alice", "pw-alice"), "/patients")

	// signed out from another device through the same gateway: closed at once
	conn, br := openSocket(t, b2)
	_, csrf := b1.page("/.sessiongate/sessions")
	resp := b1.post("/.sessiongate/sessions", url.Values{"csrf": {csrf}, "action": {"end_others"}})
	if body := readBody(t, resp); !strings.Contains(body, "1 device was signed out") {
		t.Fatalf("sign out the other device: %.500s", body)
	}
	expectClosedWithin(t, conn, br, 1500*time.Millisecond, "WebSocket of a device signed out on this node")

	// signed out on another node (same Redis): closed at the next re-check
	b3 := st.newBrowser("node2")
	expectApp(t, b3.signIn("/patients", "alice", "pw-alice"), "/patients")
	b4 := st.newBrowser("main")
	expectApp(t, b4.signIn("/patients", "alice", "pw-alice"), "/patients")
	conn, br = openSocket(t, b4)
	events := b4.background(http.MethodGet, "/stream/events", map[string]string{"Accept": "text/event-stream"})
	defer func() { _ = events.Body.Close() }()
	evr := bufio.NewReader(events.Body)
	if line, err := evr.ReadString('\n'); err != nil || !strings.HasPrefix(line, "data: tick") {
		t.Fatalf("event stream through the gateway: %s %q %v", events.Status, line, err)
	}
	time.Sleep(2500 * time.Millisecond) // the stream is long-lived (watched) by now
	_, csrf = b3.page("/.sessiongate/sessions")
	resp = b3.post("/.sessiongate/sessions", url.Values{"csrf": {csrf}, "action": {"end_others"}})
	if body := readBody(t, resp); !strings.Contains(body, "devices were signed out") {
		t.Fatalf("sign out the other devices from node2: %.500s", body)
	}
	expectClosedWithin(t, conn, br, 3*time.Second, "WebSocket of a device signed out on another node")
	done := make(chan error, 1)
	go func() { _, err := io.Copy(io.Discard, evr); done <- err }()
	select {
	case err := <-done:
		t.Logf("event stream ended (%v)", err)
	case <-time.After(3 * time.Second):
		t.Fatal("event stream still running 3 s after its session ended on another node")
	}
	// and the device is told why when it reconnects
	resp = b4.background(http.MethodGet, "/stream/events", map[string]string{"Accept": "text/event-stream"})
	if body := readBody(t, resp); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "revoked") {
		t.Fatalf("reconnecting the event stream: %s %.300s", resp.Status, body)
	}
}
