package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// connections checks that the invalidation connection is subscribed and the
// tracking connection announces to it, both on this server (CLIENT LIST);
// that the invalidation connection this node reads is that one and alive:
// a PING sent on it comes back, after every announcement before it, and
// neither connection was replaced meanwhile (a connection can die without
// a word, and the server then lists it for minutes); and returns the
// server's INFO replication.
func (t *tracker) connections(ctx context.Context) (string, error) {
	listen, track := t.listenID.Load(), t.trackingID.Load()
	if listen == 0 || track == 0 {
		return "", errors.New("the tracking connections are not set up yet")
	}
	list, err := t.probe.Do(ctx, "CLIENT", "LIST", "ID", listen, track).Text()
	if err != nil {
		return "", err
	}
	if err := trackingListed(list, listen, track); err != nil {
		return "", err
	}
	repl, err := t.probe.Info(ctx, "replication").Result()
	if err != nil {
		return "", err
	}
	if err := t.pingThrough(ctx); err != nil {
		return "", err
	}
	if t.listenID.Load() != listen || t.trackingID.Load() != track {
		return "", errors.New("a tracking connection was replaced while it was checked")
	}
	return repl, nil
}

// pingThrough sends a PING on the invalidation connection and waits until
// the tracker has applied its answer. A connection that took the PING and
// does not answer in time is silent: it is cut, and go-redis dials anew.
func (t *tracker) pingThrough(ctx context.Context) error {
	token := "sg-" + strconv.FormatUint(t.pinged.Add(1), 10)
	conn := t.listenConn.conn.Load()
	if err := t.sub.Ping(ctx, token); err != nil {
		return fmt.Errorf("ping the invalidation connection: %w", err)
	}
	for {
		pongs := *t.pongs.Load()
		if p := t.pong.Load(); p != nil && *p == token {
			return nil
		}
		select {
		case <-ctx.Done():
			if conn != nil && t.listenConn.conn.Load() == conn {
				_ = conn.Close()
			}
			return fmt.Errorf("the invalidation connection did not answer: %w", ctx.Err())
		case <-pongs:
		}
	}
}

// checkMaster empties the copy when the server is not the master it was
// read from (by replication ID).
func (t *tracker) checkMaster(repl string) {
	id := infoField(repl, "master_replid")
	if old := t.replID.Load(); old == nil || *old != id {
		t.replID.Store(&id)
		t.copy.drop()
	}
}

// trackingListed reads CLIENT LIST's lines of the invalidation connection
// (subscribed to one channel) and the tracking connection (tracking in
// broadcast mode, redirecting to the former, which Redis still finds).
func trackingListed(list string, listen, track int64) error {
	var listenLine, trackLine string
	for line := range strings.SplitSeq(list, "\n") {
		switch {
		case strings.HasPrefix(line, "id="+strconv.FormatInt(listen, 10)+" "):
			listenLine = line
		case strings.HasPrefix(line, "id="+strconv.FormatInt(track, 10)+" "):
			trackLine = line
		}
	}
	if !strings.Contains(listenLine, " sub=1 ") {
		return errors.New("the invalidation connection is not subscribed on this server")
	}
	flags := clientField(trackLine, "flags")
	if !strings.Contains(flags, "t") || !strings.Contains(flags, "B") || strings.Contains(flags, "R") ||
		clientField(trackLine, "redir") != strconv.FormatInt(listen, 10) {
		return errors.New("this server does not announce writes to the invalidation connection")
	}
	return nil
}

// clientField reads one field of a CLIENT LIST line.
func clientField(line, name string) string {
	for f := range strings.FieldsSeq(line) {
		if v, ok := strings.CutPrefix(f, name+"="); ok {
			return v
		}
	}
	return ""
}
