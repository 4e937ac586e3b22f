package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// renewLease probes Redis every localProbeEvery until the store closes.
func (l *localCopy) renewLease(ctx context.Context) {
	t := time.NewTicker(localProbeEvery)
	defer t.Stop()
	for {
		start := l.table.since()
		pctx, cancel := context.WithTimeout(ctx, localProbeTimeout)
		gen, err := l.probe(pctx)
		cancel()
		if err != nil {
			l.drop()
		} else {
			l.grant(gen, start+localLease)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// grant extends the lease to until, unless the copy was dropped since the
// probe's checks began (gen).
func (l *localCopy) grant(gen uint64, until time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gen == gen {
		l.lease.Store(int64(until))
	}
}

// drop empties the copy and ends the lease: until the next good probe,
// every check takes the round trip.
func (l *localCopy) drop() {
	l.mu.Lock()
	l.gen++
	l.lease.Store(0)
	l.mu.Unlock()
	l.table.flush()
	l.memo.clear()
}

// generation counts the drops.
func (l *localCopy) generation() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.gen
}

// probe checks that the copy can be trusted: the invalidation connection
// is subscribed and the tracking connection announces to it, both on the
// server this node reads from; what that server is (role, replication ID,
// the replica guard's judgement); and Redis's time. gen is the generation of
// the copy the checks vouch for.
func (l *localCopy) probe(ctx context.Context) (gen uint64, err error) {
	listen, track := l.listenID.Load(), l.trackingID.Load()
	if listen == 0 || track == 0 {
		return 0, errors.New("the tracking connections are not set up yet")
	}
	list, err := l.reads.Do(ctx, "CLIENT", "LIST", "ID", listen, track).Text()
	if err != nil {
		return 0, err
	}
	if err := trackingListed(list, listen, track); err != nil {
		return 0, err
	}
	repl, err := l.reads.Info(ctx, "replication").Result()
	if err != nil {
		return 0, err
	}
	l.checkMaster(repl)
	gen = l.generation()
	if err := l.checkServer(repl); err != nil {
		return 0, err
	}
	t0 := time.Now()
	srv, err := l.reads.Time(ctx).Result()
	if err != nil {
		return 0, err
	}
	rtt := time.Since(t0)
	l.addSample(clockSample{offset: srv.Sub(t0.Add(rtt / 2)), uncertainty: rtt / 2})
	return gen, nil
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

// holdTracking keeps the tracking connection: it turns tracking on
// (redirected to the invalidation connection, broadcasting writes under
// trackedPrefixes), empties the copy (what was read before was not
// announced), then keeps a blocking read on the connection, so that its loss
// — after which Redis announces nothing — is seen at once and empties the
// copy. When the invalidation connection changes, tracking is turned on
// again towards the new one.
func (l *localCopy) holdTracking(ctx context.Context) {
	for ctx.Err() == nil {
		listen := l.listenID.Load()
		conn, err := l.track(ctx, listen)
		if err != nil {
			l.drop()
			select {
			case <-ctx.Done():
			case <-time.After(10 * time.Millisecond):
			}
			continue
		}
		for ctx.Err() == nil && l.listenID.Load() == listen {
			// (BLPop would round the timeout up to a second)
			if err := conn.Do(ctx, "BLPOP", localWaitKey, localWaitEvery.Seconds()).Err(); err != nil && !errors.Is(err, redis.Nil) {
				break
			}
		}
		l.drop()
		l.trackingID.Store(0)
		_ = conn.Close()
	}
}

// track opens a tracking connection towards the invalidation connection
// listen and empties the copy.
func (l *localCopy) track(ctx context.Context, listen int64) (*redis.Conn, error) {
	if listen == 0 {
		return nil, errors.New("no invalidation connection yet")
	}
	conn := l.reads.Conn()
	id, err := conn.ClientID(ctx).Result()
	if err == nil {
		err = conn.ClientTrackingOn(ctx, &redis.ClientTrackingOptions{Redirect: listen, Bcast: true,
			Prefixes: trackedPrefixes}).Err()
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("turn tracking on: %w", err)
	}
	l.drop()
	l.trackingID.Store(id)
	return conn, nil
}

// checkMaster empties the copy when the server is not the master it was
// read from (by replication ID).
func (l *localCopy) checkMaster(repl string) {
	id := infoField(repl, "master_replid")
	if old := l.replID.Load(); old == nil || *old != id {
		l.replID.Store(&id)
		l.drop()
	}
}

// checkServer judges the server from its INFO replication: a master,
// trusted by the replica guard.
func (l *localCopy) checkServer(repl string) error {
	if infoField(repl, "role") != "master" {
		return errors.New("redis is not a master")
	}
	if l.trust != nil {
		return l.trust(repl)
	}
	return nil
}

// infoField reads one field of an INFO section.
func infoField(info, name string) string {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}
