package session

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiongate/sessiongate/internal/testclock"
	"github.com/sessiongate/sessiongate/internal/testredis"
)

// countingHook counts round trips to Redis.
type countingHook struct{ n atomic.Int64 }

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// The user's hash lives until the latest deadline in it: a new session's
// nearest deadline, extended by activity, never shortened.
func TestRedisUserHashTTLCoversLatestDeadline(t *testing.T) {
	srv := testredis.Start(t)
	client := srv.Client(t)
	st := NewRedisStore(client, Options{}) // Redis TIME
	t.Cleanup(func() { _ = st.Close() })
	ctx := context.Background()
	ls := LimitTable{Default: Limits{Idle: 15 * time.Minute, Absolute: 9 * time.Hour}}
	s := &Session{ID: NewID(), UserKey: UserKey("iss", "ttl-user"), Subject: "ttl-user"}
	if _, err := st.Create(ctx, s, ls, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	key := userKeyName(s.UserKey)
	if ttl := client.PTTL(ctx, key).Val(); ttl <= 14*time.Minute || ttl > 15*time.Minute {
		t.Fatalf("new session: hash TTL %v, want the 15m idle deadline", ttl)
	}
	// a longer idle limit (a reload) and activity move the deadline later
	longer := LimitTable{Default: Limits{Idle: 40 * time.Minute, Absolute: 9 * time.Hour}}
	if res, err := st.Check(ctx, s.Ref(), longer, true); err != nil || !res.Valid {
		t.Fatalf("check: %+v %v", res, err)
	}
	if ttl := client.PTTL(ctx, key).Val(); ttl <= 39*time.Minute || ttl > 40*time.Minute {
		t.Fatalf("after activity: hash TTL %v, want 40m", ttl)
	}
	// a second device with a nearer deadline does not shorten it
	s2 := &Session{ID: NewID(), UserKey: s.UserKey, Subject: "ttl-user"}
	if _, err := st.Create(ctx, s2, ls, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if ttl := client.PTTL(ctx, key).Val(); ttl <= 39*time.Minute {
		t.Fatalf("second device shortened the hash TTL to %v", ttl)
	}
	// ending a session keeps its tombstone for the tombstone TTL (24h)
	if err := st.End(ctx, s2.Ref(), ReasonRevoked); err != nil {
		t.Fatal(err)
	}
	if ttl := client.PTTL(ctx, key).Val(); ttl <= 23*time.Hour {
		t.Fatalf("after a tombstone: hash TTL %v, want 24h", ttl)
	}
}

// A user's hash holds one compact record per live session and is pruned at
// sign-in: sessions past a deadline become small tombstones (reported once
// to their device), tombstones past their time go.
func TestRedisUserHashIsPrunedAtSignIn(t *testing.T) {
	srv := testredis.Start(t)
	client := srv.Client(t)
	clock := testclock.New()
	st := NewRedisStore(client, Options{Clock: clock.Now, TombstoneTTL: time.Hour})
	t.Cleanup(func() { _ = st.Close() })
	ctx := context.Background()
	ls := LimitTable{Default: Limits{Idle: 10 * time.Minute, Absolute: 8 * time.Hour}}
	user := UserKey("iss", "prune-user")
	old := &Session{ID: NewID(), UserKey: user, Subject: "prune-user", Device: "Edge | Windows", IP: "10.0.0.1",
		IdPSessionID: "sid-1", Name: "A Long Display Name"}
	if _, err := st.Create(ctx, old, ls, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	rec := client.HGet(ctx, userKeyName(user), old.ID).Val()
	if len(rec) > 64 {
		t.Fatalf("record %q is %d bytes: over Redis's compact-hash value limit (64)", rec, len(rec))
	}
	if strings.Contains(rec, "Long Display Name") {
		t.Fatalf("display claims stored although they travel in the cookie: %q", rec)
	}
	clock.Advance(11 * time.Minute) // old is past its idle deadline
	fresh := &Session{ID: NewID(), UserKey: user, Subject: "prune-user"}
	if _, err := st.Create(ctx, fresh, ls, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if v := client.HGet(ctx, userKeyName(user), old.ID).Val(); !strings.HasPrefix(v, "?idle|") {
		t.Fatalf("expired session pruned to %q, want an unreported idle tombstone", v)
	}
	// its device still learns why, exactly once
	res, err := st.Check(ctx, old.Ref(), ls, false)
	if err != nil || res.Valid || res.Reason != ReasonIdle || !res.Ended || res.Subject != "prune-user" {
		t.Fatalf("first check after pruning: %+v", res)
	}
	if res, _ := st.Check(ctx, old.Ref(), ls, false); res.Ended || res.Reason != ReasonIdle {
		t.Fatalf("second check: %+v", res)
	}
	clock.Advance(2 * time.Hour) // the tombstone's time has passed; fresh expired too
	third := &Session{ID: NewID(), UserKey: user, Subject: "prune-user"}
	if _, err := st.Create(ctx, third, ls, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if client.HExists(ctx, userKeyName(user), old.ID).Val() {
		t.Fatal("tombstone kept past its time")
	}
	if n := client.HLen(ctx, userKeyName(user)).Val(); n != 3 { // fresh's tombstone, third, "@"
		t.Fatalf("hash has %d fields, want 3: %v", n, client.HGetAll(ctx, userKeyName(user)).Val())
	}
}

// Display claims too large for a cookie are kept in the store instead.
func TestRedisKeepsIdentityWhenAsked(t *testing.T) {
	srv := testredis.Start(t)
	client := srv.Client(t)
	st := NewRedisStore(client, Options{})
	t.Cleanup(func() { _ = st.Close() })
	ctx := context.Background()
	ls := LimitTable{Default: Limits{Idle: 10 * time.Minute}}
	groups := make([]string, 300)
	for i := range groups {
		groups[i] = fmt.Sprintf("group-with-a-long-name-%03d", i)
	}
	s := &Session{ID: NewID(), UserKey: UserKey("iss", "big"), Subject: "big", Name: "Big", Groups: groups,
		IdPSessionID: "sid-big", IdentityInStore: true}
	if _, err := st.Create(ctx, s, ls, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ref := s.Ref()
	if ref.Identity != nil {
		t.Fatal("the cookie reference carries claims the store keeps")
	}
	res, err := st.Check(ctx, ref, ls, false)
	if err != nil || !res.Valid {
		t.Fatalf("check: %+v %v", res, err)
	}
	if got := res.Session; got.Name != "Big" || len(got.Groups) != 300 || got.IdPSessionID != "sid-big" {
		t.Fatalf("claims from the store: %+v", got)
	}
	if err := st.End(ctx, ref, ReasonLogout); err != nil {
		t.Fatal(err)
	}
	if client.HExists(ctx, userKeyName(s.UserKey), s.ID+":i").Val() {
		t.Fatal("claims kept after the session ended")
	}
}

func TestRedisStoreDownIsUnavailable(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer client.Close()
	st := NewRedisStore(client, Options{})
	t.Cleanup(func() { _ = st.Close() })
	_, err := st.Check(context.Background(), Ref{ID: NewID(), UserKey: UserKey("i", "s")}, LimitTable{Default: Limits{Idle: time.Minute}}, false)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("want ErrUnavailable, got %v", err)
	}
}

func TestNewRedisClientURLForms(t *testing.T) {
	for _, u := range []string{
		"redis://127.0.0.1:6379/0", "rediss://user:pw@host:6380/1", "unix:///tmp/redis.sock",
		"redis://host:26379?master_name=mymaster&addr=host2:26379", "redis+cluster://h1:6379?addr=h2:6379",
	} {
		c, err := NewRedisClient(u)
		if err != nil {
			t.Errorf("%s: %v", u, err)
			continue
		}
		_ = c.Close()
	}
	for _, u := range []string{"http://x", "redis://h:1?bogus=1", "nourl"} {
		if c, err := NewRedisClient(u); err == nil {
			_ = c.Close()
			t.Errorf("%s: accepted", u)
		}
	}
	if got := redactURL("redis://user:secret@host:1/0"); got != "redis://…@host:1/0" {
		t.Errorf("redact: %s", got)
	}
}

// An unreachable Redis fails a check fast (the gateway answers 503 at once),
// and the URL's own retry parameters are honoured.
func TestRedisClientFailsFast(t *testing.T) {
	c, err := NewRedisClient("redis://127.0.0.1:1/0") // nothing listens on port 1
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	o := c.(*redis.Client).Options()
	if o.MaxRetries != 1 || o.DialerRetries != 1 || o.DialTimeout != time.Second {
		t.Fatalf("defaults: retries %d, dial retries %d, dial timeout %v", o.MaxRetries, o.DialerRetries, o.DialTimeout)
	}
	st := NewRedisStore(c, Options{})
	t.Cleanup(func() { _ = st.Close() })
	start := time.Now()
	_, err = st.Check(context.Background(), Ref{ID: "x", UserKey: UserKey("iss", "u")}, LimitTable{Default: Limits{Idle: time.Minute}}, false)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("want unavailable, got %v", err)
	}
	if d := time.Since(start); d > 800*time.Millisecond {
		t.Fatalf("an unreachable Redis took %v to fail a check", d)
	}
	c2, err := NewRedisClient("redis://127.0.0.1:1/0?max_retries=4&dial_timeout=3s")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if o := c2.(*redis.Client).Options(); o.MaxRetries != 4 || o.DialTimeout != 3*time.Second {
		t.Fatalf("URL parameters not honoured: %d %v", o.MaxRetries, o.DialTimeout)
	}
}
