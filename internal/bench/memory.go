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
	// HashBytes is MEMORY USAGE of one user's hash divided by its sessions,
	// HashEncoding its OBJECT ENCODING; RecordBytes the length of one
	// session's record in it.
	HashBytes    float64
	HashEncoding string
	RecordBytes  int64
	// SIDBytes is MEMORY USAGE of one provider-session index bucket divided
	// by its entries.
	SIDBytes float64
	// OneDevice is the same measurement with one device per user (the
	// user's hash then holds a single session).
	OneDevice *MemoryResult
	// DirectoryPerUser is the used_memory growth per user of RememberUser
	// (the administrator's user directory, written at every sign-in: login
	// name, email and subject) — per user, not per session.
	DirectoryPerUser float64
	// SignedInHashBytes is MEMORY USAGE of the user's hash after a real
	// sign-in through the development provider, SignedInRecord the length
	// of its session record, SignedInCookie the length of the sealed session
	// cookie that carries the display claims instead.
	SignedInHashBytes, SignedInRecord, SignedInCookie int64
	// Rescue is the memory of rescued work (issue #17), when measured.
	Rescue *RescueMemory
}

// sessionIssuer is the issuer the synthetic sessions' user keys derive from.
const sessionIssuer = "https://sso.clinic.example/realms/clinic"

// syntheticSession returns device d of user u with realistic field sizes
// (display claims included: the store decides what it keeps).
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

// noCopy are the store options of the memory measurements: they only write,
// and the local copy's connections would count as client memory.
var noCopy = session.Options{LocalCache: session.LocalCacheOptions{Off: true}}

// createSessions creates sessions (devices per user) through
// session.RedisStore.Create with the benchmark's limits, and measures
// used_memory before and after.
func createSessions(ctx context.Context, rs *redisServer, sessions, devices, firstUser int) (*MemoryResult, error) {
	opt, err := redis.ParseURL(rs.URL)
	if err != nil {
		return nil, fmt.Errorf("redis URL: %w", err)
	}
	const workers = 32
	opt.PoolSize = workers
	client := redis.NewClient(opt)
	defer func() { _ = client.Close() }() // closing twice is harmless
	store := session.NewRedisStore(client, noCopy)
	limits := session.LimitTable{Default: session.Limits{Idle: idleTimeout, Absolute: absoluteTimeout}}
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
		s := syntheticSession(firstUser+i/devices, i%devices)
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
	store = session.NewRedisStore(client, noCopy)

	// breakdown on the first user's hash and a provider-session bucket
	u0 := syntheticSession(firstUser, 0)
	key := "sg:{" + u0.UserKey + "}"
	n, err := client.MemoryUsage(ctx, key, 0).Result()
	if err != nil {
		return nil, fmt.Errorf("redis MEMORY USAGE: %w", err)
	}
	res.HashBytes = float64(n) / float64(devices)
	if res.HashEncoding, err = client.ObjectEncoding(ctx, key).Result(); err != nil {
		return nil, fmt.Errorf("redis OBJECT ENCODING: %w", err)
	}
	if res.RecordBytes, err = client.HStrLen(ctx, key, firstRecordField(ctx, client, key)).Result(); err != nil {
		return nil, fmt.Errorf("redis HSTRLEN: %w", err)
	}
	if res.SIDBytes, err = bucketBytesPerEntry(ctx, client); err != nil {
		return nil, err
	}
	if firstUser != 0 {
		return res, client.Close()
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
	store = session.NewRedisStore(client, noCopy)
	err = forEachParallel(ctx, workers, users, func(u int) error {
		s := syntheticSession(u, 0)
		login := strings.SplitN(s.Email, "@", 2)[0]
		names := []session.UserName{{Kind: session.NameUsername, Value: login}, {Kind: session.NameEmail, Value: s.Email},
			{Kind: session.NameSubject, Value: s.Subject}}
		if err := store.RememberUser(ctx, s.UserKey, s.Subject, names); err != nil {
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
	if res.Rescue, err = measureRescues(ctx, rs, opt, baseClients); err != nil {
		return nil, err
	}
	return res, nil
}

// firstRecordField returns the field of a session record in a user's hash.
func firstRecordField(ctx context.Context, client *redis.Client, key string) string {
	fields, _ := client.HKeys(ctx, key).Result()
	for _, f := range fields {
		if f != "@" && !strings.Contains(f, ":") {
			return f
		}
	}
	return ""
}

// bucketBytesPerEntry is MEMORY USAGE of a provider-session index bucket
// divided by its entries.
func bucketBytesPerEntry(ctx context.Context, client *redis.Client) (float64, error) {
	keys, _, err := client.Scan(ctx, 0, "sg:sid:*", 1000).Result()
	if err != nil {
		return 0, fmt.Errorf("redis SCAN: %w", err)
	}
	if len(keys) == 0 {
		return 0, nil
	}
	n, err := client.MemoryUsage(ctx, keys[0], 0).Result()
	if err != nil {
		return 0, fmt.Errorf("redis MEMORY USAGE: %w", err)
	}
	entries, err := client.HLen(ctx, keys[0]).Result()
	if err != nil || entries == 0 {
		return 0, fmt.Errorf("redis HLEN: %w", err)
	}
	return float64(n) / float64(entries), nil
}

// signedInSession measures what real sign-ins created (before the synthetic
// sessions exist): MEMORY USAGE of one user's hash and its record's length.
func signedInSession(ctx context.Context, rs *redisServer) (hashBytes, record int64, err error) {
	keys, err := rs.client.Keys(ctx, "sg:{*}").Result()
	if err != nil {
		return 0, 0, fmt.Errorf("redis KEYS: %w", err)
	}
	if len(keys) == 0 {
		return 0, 0, fmt.Errorf("no signed-in session in Redis")
	}
	if hashBytes, err = rs.client.MemoryUsage(ctx, keys[0], 0).Result(); err != nil {
		return 0, 0, fmt.Errorf("redis MEMORY USAGE: %w", err)
	}
	f := firstRecordField(ctx, rs.client, keys[0])
	if record, err = rs.client.HStrLen(ctx, keys[0], f).Result(); err != nil {
		return 0, 0, fmt.Errorf("redis HSTRLEN: %w", err)
	}
	return hashBytes, record, nil
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
