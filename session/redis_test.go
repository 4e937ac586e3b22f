package session

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

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

func TestRedisKeyTTLFollowsNearestDeadline(t *testing.T) {
	srv := testredis.Start(t)
	client := srv.Client(t)
	st := NewRedisStore(client, Options{}) // Redis TIME
	ctx := context.Background()
	ls := LimitSet{Default: Limits{Idle: 15 * time.Minute, Absolute: 9 * time.Hour}}
	s := &Session{ID: NewID(), UserKey: UserKey("iss", "ttl-user"), Subject: "ttl-user"}
	if _, err := st.Create(ctx, s, ls, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ttl := client.PTTL(ctx, sessionKey(s.UserKey, s.ID)).Val()
	if ttl <= 14*time.Minute || ttl > 15*time.Minute {
		t.Fatalf("new session TTL %v, want the 15m idle deadline", ttl)
	}
	// when the absolute deadline is nearer, it is the TTL
	short := LimitSet{Default: Limits{Idle: 15 * time.Minute, Absolute: 10 * time.Minute}}
	if res, err := st.Check(ctx, s.Ref(), short, true); err != nil || !res.Valid {
		t.Fatalf("check: %+v %v", res, err)
	}
	ttl = client.PTTL(ctx, sessionKey(s.UserKey, s.ID)).Val()
	if ttl <= 9*time.Minute || ttl > 10*time.Minute {
		t.Fatalf("TTL %v, want the 10m absolute deadline", ttl)
	}
	if idx := client.PTTL(ctx, indexKey(s.UserKey)).Val(); idx <= 8*time.Hour {
		t.Fatalf("index TTL %v, want about the absolute limit", idx)
	}
}

func TestRedisCheckIsOneRoundTrip(t *testing.T) {
	srv := testredis.Start(t)
	client := srv.Client(t)
	hook := &countingHook{}
	client.AddHook(hook)
	st := NewRedisStore(client, Options{})
	ctx := context.Background()
	ls := LimitSet{Default: Limits{Idle: 15 * time.Minute, Absolute: 9 * time.Hour}}
	s := &Session{ID: NewID(), UserKey: UserKey("iss", "rt-user"), Subject: "rt-user"}
	if _, err := st.Create(ctx, s, ls, CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Check(ctx, s.Ref(), ls, false); err != nil { // loads the script (EVALSHA miss → EVAL)
		t.Fatal(err)
	}
	for _, activity := range []bool{false, true, false} {
		before := hook.n.Load()
		res, err := st.Check(ctx, s.Ref(), ls, activity)
		if err != nil || !res.Valid {
			t.Fatalf("check: %+v %v", res, err)
		}
		if n := hook.n.Load() - before; n != 1 {
			t.Fatalf("check took %d round trips, want 1", n)
		}
	}
	// a missing session is one round trip too
	before := hook.n.Load()
	if res, _ := st.Check(ctx, Ref{ID: NewID(), UserKey: s.UserKey}, ls, true); res.Valid {
		t.Fatal("unknown session valid")
	}
	if n := hook.n.Load() - before; n != 1 {
		t.Fatalf("missing-session check took %d round trips", n)
	}
}

func TestRedisStoreDownIsUnavailable(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer client.Close()
	st := NewRedisStore(client, Options{})
	_, err := st.Check(context.Background(), Ref{ID: NewID(), UserKey: UserKey("i", "s")}, LimitSet{Default: Limits{Idle: time.Minute}}, false)
	if !IsUnavailable(err) {
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
	start := time.Now()
	_, err = st.Check(context.Background(), Ref{ID: "x", UserKey: UserKey("iss", "u")}, LimitSet{Default: Limits{Idle: time.Minute}}, false)
	if !IsUnavailable(err) {
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
