package bench

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiongate/sessiongate/session"
)

// MemoryResult is Redis memory per session.
type MemoryResult struct {
	// Sessions created, Users they belong to.
	Sessions, Users int
	// UsedBefore and UsedAfter are INFO memory used_memory around the creation.
	UsedBefore, UsedAfter int64
	// PerSession is (UsedAfter − UsedBefore) / Sessions.
	PerSession float64
	// HashBytes is MEMORY USAGE of one session hash (average over a user's
	// sessions); IndexBytes of a user's index (sorted set) divided by its
	// sessions; SIDBytes of one provider-session index (set).
	HashBytes, IndexBytes, SIDBytes float64
	// DirectoryPerUser is the used_memory growth per user of RememberUser
	// (the administrator's user directory, written at every sign-in: login
	// name, email and subject) — per user, not per session.
	DirectoryPerUser float64
	// SignedInHashBytes is MEMORY USAGE of the hash of a session created by
	// a real sign-in through the development provider; SignedInIDToken the
	// length of an ID token kept in it (0 when the store keeps none).
	SignedInHashBytes int64
	SignedInIDToken   int64
}

// sessionIssuer is the issuer the synthetic sessions' user keys derive from.
const sessionIssuer = "https://sso.clinic.example/realms/clinic"

// syntheticSession returns device d of user u with realistic field sizes.
func syntheticSession(u, d int) *session.Session {
	first := []string{"Maria", "James", "Aisha", "Chen", "Olivia", "Kwame", "Sofia", "Liam"}[u%8]
	last := []string{"Lopez", "Okafor", "Nguyen", "Schmidt", "Patel", "Johansson", "Rossi", "Kim"}[(u/8)%8]
	sub := fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", u*2654435761%(1<<32), u%65536, u%4096, d, u)
	groups := []string{"clinicians", "front-desk"}
	if u%2 == 0 {
		groups = append(groups, "ehr-users")
	}
	device := []string{"Chrome on Windows", "Edge on Windows", "Safari on iOS", "Firefox on macOS"}[d%4]
	return &session.Session{
		ID:           session.NewID(),
		UserKey:      session.UserKey(sessionIssuer, sub),
		Subject:      sub,
		Name:         first + " " + last,
		Email:        fmt.Sprintf("%s.%s%05d@clinic.example", strings.ToLower(first), strings.ToLower(last), u),
		Groups:       groups,
		IdPSessionID: fmt.Sprintf("%08x-%04x-4%03x-9%03x-%012x", u, d, u%4096, (u*7+d)%4096, u*4+d),
		Device:       device,
		IP:           fmt.Sprintf("10.%d.%d.%d", (u>>16)&255, (u>>8)&255, u&255),
	}
}

// createSessions creates sessions (devices per user) through
// session.RedisStore.Create with the benchmark's limits, and measures
// used_memory before and after.
func createSessions(ctx context.Context, rs *redisServer, sessions, devices int) (*MemoryResult, error) {
	opt, err := redis.ParseURL(rs.URL)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	const workers = 32
	opt.PoolSize = workers
	client := redis.NewClient(opt)
	defer func() { _ = client.Close() }() // closing twice is harmless
	store := session.NewRedisStore(client, session.Options{})
	limits := session.LimitSet{Default: session.Limits{Idle: idleTimeout, Absolute: absoluteTimeout}}
	users := (sessions + devices - 1) / devices
	res := &MemoryResult{Sessions: sessions, Users: users}
	baseClients, err := connectedClients(ctx, rs)
	if err != nil {
		return nil, err
	}
	if res.UsedBefore, err = rs.usedMemory(ctx); err != nil {
		return nil, err
	}
	err = forEachParallel(ctx, workers, sessions, func(i int) error {
		s := syntheticSession(i/devices, i%devices)
		if _, err := store.Create(ctx, s, limits, session.CreateOptions{}); err != nil {
			return fmt.Errorf("create session %d: %w", i, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// the pool's connections (and their buffers) are not session memory
	if err := client.Close(); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	if res.UsedAfter, err = usedMemorySettled(ctx, rs, baseClients); err != nil {
		return nil, err
	}
	res.PerSession = float64(res.UsedAfter-res.UsedBefore) / float64(sessions)
	client = redis.NewClient(opt)
	store = session.NewRedisStore(client, session.Options{})

	// breakdown on user 0's keys
	u0 := syntheticSession(0, 0)
	prefix := "sg:{" + u0.UserKey + "}:"
	keys, err := client.Keys(ctx, prefix+"s:*").Result()
	if err != nil {
		return nil, fmt.Errorf("redis KEYS: %w", err)
	}
	var hashTotal int64
	for _, k := range keys {
		n, err := client.MemoryUsage(ctx, k, 0).Result()
		if err != nil {
			return nil, fmt.Errorf("redis MEMORY USAGE: %w", err)
		}
		hashTotal += n
	}
	if len(keys) > 0 {
		res.HashBytes = float64(hashTotal) / float64(len(keys))
		idx, err := client.MemoryUsage(ctx, prefix+"idx", 0).Result()
		if err != nil {
			return nil, fmt.Errorf("redis MEMORY USAGE: %w", err)
		}
		res.IndexBytes = float64(idx) / float64(len(keys))
	}
	sids, err := client.Keys(ctx, "sg:sid:*").Result()
	if err != nil {
		return nil, fmt.Errorf("redis KEYS: %w", err)
	}
	if len(sids) > 0 {
		n, err := client.MemoryUsage(ctx, sids[0], 0).Result()
		if err != nil {
			return nil, fmt.Errorf("redis MEMORY USAGE: %w", err)
		}
		res.SIDBytes = float64(n)
	}

	// the user directory, per user
	if err := client.Close(); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	before, err := usedMemorySettled(ctx, rs, baseClients)
	if err != nil {
		return nil, err
	}
	client = redis.NewClient(opt)
	store = session.NewRedisStore(client, session.Options{})
	err = forEachParallel(ctx, workers, users, func(u int) error {
		s := syntheticSession(u, 0)
		login := strings.SplitN(s.Email, "@", 2)[0]
		if err := store.RememberUser(ctx, s.UserKey, []string{login, s.Email, s.Subject}); err != nil {
			return fmt.Errorf("remember user %d: %w", u, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := client.Close(); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	after, err := usedMemorySettled(ctx, rs, baseClients)
	if err != nil {
		return nil, err
	}
	res.DirectoryPerUser = float64(after-before) / float64(users)
	return res, nil
}

// signedInSession measures the sessions that real sign-ins created (before
// the synthetic ones exist): MEMORY USAGE of one hash and its ID token's size.
func signedInSession(ctx context.Context, rs *redisServer) (hashBytes, idToken int64, err error) {
	keys, err := rs.client.Keys(ctx, "sg:{*}:s:*").Result()
	if err != nil {
		return 0, 0, fmt.Errorf("redis KEYS: %w", err)
	}
	if len(keys) == 0 {
		return 0, 0, fmt.Errorf("no signed-in session in Redis")
	}
	if hashBytes, err = rs.client.MemoryUsage(ctx, keys[0], 0).Result(); err != nil {
		return 0, 0, fmt.Errorf("redis MEMORY USAGE: %w", err)
	}
	if idToken, err = rs.client.HStrLen(ctx, keys[0], "idt").Result(); err != nil {
		return 0, 0, fmt.Errorf("redis HSTRLEN: %w", err)
	}
	return hashBytes, idToken, nil
}

// usedMemorySettled returns used_memory once at most clients connections
// are open (closed clients go away asynchronously, and their buffers are not
// session memory).
func usedMemorySettled(ctx context.Context, rs *redisServer, clients int64) (int64, error) {
	deadline := time.Now().Add(3 * time.Second)
	for {
		n, err := connectedClients(ctx, rs)
		if err != nil {
			return 0, err
		}
		if n <= clients || time.Now().After(deadline) {
			return rs.usedMemory(ctx)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// connectedClients returns INFO clients' connected_clients.
func connectedClients(ctx context.Context, rs *redisServer) (int64, error) {
	info, err := rs.info(ctx, "clients")
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(info["connected_clients"], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("redis connected_clients %q: %w", info["connected_clients"], err)
	}
	return n, nil
}

// forEachParallel calls fn for 0..n-1 from workers goroutines and returns
// the first error (the others stop at their next item).
func forEachParallel(ctx context.Context, workers, n int, fn func(i int) error) error {
	var next atomic.Int64
	var failed atomic.Bool
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil || failed.Load() {
					return
				}
				if err := fn(i); err != nil {
					failed.Store(true)
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}
