package session_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessiongate/sessiongate/internal/testredis"
	"github.com/sessiongate/sessiongate/session"
)

// Store.Check, the one store call of every authenticated request, measured
// by `make bench` (internal/bench) and on its own with
//
//	go test -run '^$' -bench 'Benchmark(Redis|Memory)StoreCheck' -benchmem ./session

// benchLimits are the default timers (idle 15m, absolute 9h).
func benchLimits() session.LimitTable {
	return session.LimitTable{Default: session.Limits{Idle: 15 * time.Minute, Absolute: 9 * time.Hour}}
}

// benchSession has the fields of a typical sign-in.
func benchSession() *session.Session {
	const sub = "3f2c9a4e-7b1d-4c8e-9f60-2a5d8e1b7c34"
	return &session.Session{ID: session.NewID(), UserKey: session.UserKey("https://idp.invalid", sub), Subject: sub,
		Name: "Maria Lopez", Email: "maria.lopez@clinic.example", Groups: []string{"clinicians", "front-desk", "ehr-users"},
		IdPSessionID: "5b7e0c1a-9d2f-4e3b-8a6c-1f4d7e9b2a05", Device: "Chrome on Windows", IP: "10.1.2.3"}
}

// checkedSession creates a session in store and checks it once.
func checkedSession(b *testing.B, store session.Store) (session.Ref, session.LimitTable) {
	b.Helper()
	s := benchSession()
	limits := benchLimits()
	if _, err := store.Create(context.Background(), s, limits, session.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	ref := s.Ref()
	if res, err := store.Check(context.Background(), ref, limits, false); err != nil || !res.Valid {
		b.Fatalf("check: %+v %v", res, err)
	}
	return ref, limits
}

// awaitLocalCopy waits until store's local copy is trusted.
func awaitLocalCopy(b *testing.B, store *session.RedisStore) {
	b.Helper()
	for deadline := time.Now().Add(5 * time.Second); !store.ReadsLocally(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatal("the local copy was not trusted within 5 s")
		}
	}
}

// benchCheck creates a session in store and checks it b.N times, as a
// background request does (no activity).
func benchCheck(b *testing.B, store session.Store) {
	b.Helper()
	ctx := context.Background()
	ref, limits := checkedSession(b, store)
	b.ReportAllocs()
	for b.Loop() {
		res, err := store.Check(ctx, ref, limits, false)
		if err != nil || !res.Valid {
			b.Fatalf("check: %+v %v", res, err)
		}
	}
}

// BenchmarkRedisStoreCheck is a check on a private redis-server on
// loopback: from the local copy (no round trip), and with local_cache off
// (one EVALSHA round trip).
func BenchmarkRedisStoreCheck(b *testing.B) {
	for _, off := range []bool{false, true} {
		name := "local"
		if off {
			name = "local_cache_off"
		}
		b.Run(name, func(b *testing.B) {
			srv := testredis.Start(b)
			store := session.NewRedisStore(srv.Client(b), session.Options{LocalCache: session.LocalCacheOptions{Off: off}})
			b.Cleanup(func() { _ = store.Close() })
			if !off {
				awaitLocalCopy(b, store)
			}
			benchCheck(b, store)
		})
	}
}

// BenchmarkMemoryStoreCheck is the memory store's check (a map lookup under
// a mutex and the timer rules).
func BenchmarkMemoryStoreCheck(b *testing.B) {
	store := session.NewMemoryStore(session.Options{}, 0)
	b.Cleanup(func() { _ = store.Close() })
	benchCheck(b, store)
}

// replicatedPair starts a master and a replica of it, in sync.
func replicatedPair(b *testing.B) *testredis.Server {
	b.Helper()
	master := testredis.Start(b)
	replica := testredis.StartWith(b, testredis.Options{Args: []string{"--replicaof", "127.0.0.1", master.Port()}})
	testredis.WaitInSync(b, replica, master)
	return master
}

// BenchmarkRedisStoreCheckReplicaGuard is BenchmarkRedisStoreCheck on a
// master with a replica, without and with the replica guard (min_replicas 1:
// INFO replication in the same round trip, and the master's replicas
// judged).
func BenchmarkRedisStoreCheckReplicaGuard(b *testing.B) {
	master := replicatedPair(b)
	for _, min := range []int{0, 1} {
		b.Run(fmt.Sprintf("min_replicas=%d", min), func(b *testing.B) {
			store := session.NewRedisStore(master.Client(b), session.Options{Replicas: session.ReplicaOptions{Min: min}})
			b.Cleanup(func() { _ = store.Close() }) // its local copy's goroutines would outlive the server
			benchCheck(b, store)
		})
	}
}

// BenchmarkRedisStoreSignInOut is one sign-in (Create) and one sign-out
// (End) on a master with a replica, without and with WAIT for the replica.
func BenchmarkRedisStoreSignInOut(b *testing.B) {
	master := replicatedPair(b)
	ctx := context.Background()
	for _, min := range []int{0, 1} {
		b.Run(fmt.Sprintf("min_replicas=%d", min), func(b *testing.B) {
			store := session.NewRedisStore(master.Client(b), session.Options{Replicas: session.ReplicaOptions{Min: min}})
			b.Cleanup(func() { _ = store.Close() }) // its local copy's goroutines would outlive the server
			limits := benchLimits()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s := benchSession()
				i++ // a user of its own each time: one user's hash keeps its sign-outs for a day
				s.Subject = fmt.Sprintf("bench-user-%d-%d", min, i)
				s.UserKey = session.UserKey("https://idp.invalid", s.Subject)
				if _, err := store.Create(ctx, s, limits, session.CreateOptions{}); err != nil {
					b.Fatal(err)
				}
				if err := store.End(ctx, s.Ref(), session.ReasonLogout); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRedisStoreCheckParallel is BenchmarkRedisStoreCheck (local copy)
// from many goroutines at once, as under load, and reports how many checks
// still ran the script (scripts/op): with the copy trusted, none should.
func BenchmarkRedisStoreCheckParallel(b *testing.B) {
	srv := testredis.Start(b)
	rdb := srv.Client(b)
	store := session.NewRedisStore(rdb, session.Options{})
	b.Cleanup(func() { _ = store.Close() })
	awaitLocalCopy(b, store)
	ctx := context.Background()
	ref, limits := checkedSession(b, store)
	scripts := func() int {
		info, err := rdb.Info(ctx, "commandstats").Result()
		if err != nil {
			b.Fatal(err)
		}
		_, rest, _ := strings.Cut(info, "cmdstat_evalsha:calls=")
		n, _ := strconv.Atoi(strings.SplitN(rest, ",", 2)[0])
		return n
	}
	before := scripts()
	b.ReportAllocs()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			res, err := store.Check(ctx, ref, limits, false)
			if err != nil || !res.Valid {
				b.Errorf("check: %+v %v", res, err)
				return
			}
		}
	})
	b.ReportMetric(float64(scripts()-before)/float64(b.N), "scripts/op")
}
