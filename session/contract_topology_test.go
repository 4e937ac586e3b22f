package session_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sessiongate/sessiongate/internal/testredis"
	"github.com/sessiongate/sessiongate/session"
)

// topologyFactories starts a Redis Sentinel set and a Redis Cluster for a
// parent test (its subtests share them: starting one takes a moment) and
// returns factories of stores on them, each emptied first.
func topologyFactories(t *testing.T) map[string]storeFactory {
	t.Helper()
	return map[string]storeFactory{
		"sentinel": sharedStore(testredis.StartSentinel(t).URL),
		"cluster":  sharedStore(testredis.StartCluster(t).URL),
	}
}

// sharedStore returns a factory of stores on the Redis at url, emptied first.
func sharedStore(url string) storeFactory {
	return func(t *testing.T, clock session.Clock) session.Store {
		client, err := session.NewRedisClient(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = client.Close() })
		if err := flushAll(context.Background(), client); err != nil {
			t.Fatalf("empty the store: %v", err)
		}
		return readingLocally(t, session.NewRedisStore(client, session.Options{Clock: clock,
			Replicas: session.ReplicaOptions{Min: session.AutoReplicas, SentinelURL: sentinelURL(url)}}))
	}
}

// flushAll empties every master behind client.
func flushAll(ctx context.Context, client redis.UniversalClient) error {
	if c, ok := client.(*redis.ClusterClient); ok {
		return c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return m.FlushAll(ctx).Err() })
	}
	return client.FlushAll(ctx).Err()
}
