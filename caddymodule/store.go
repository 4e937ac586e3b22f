package caddymodule

import (
	"fmt"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/redis/go-redis/v9"

	"github.com/sessiongate/sessiongate/config"
	"github.com/sessiongate/sessiongate/session"
)

// stores shares session stores across config reloads: the memory store
// keeps its sessions, and a Redis client keeps its connections, as long as
// some loaded config uses them.
var stores = caddy.NewUsagePool()

// pooledStore adapts a store to caddy.Destructor.
type pooledStore struct {
	session.Store
	client redis.UniversalClient
}

// Destruct closes the store when the last config using it is unloaded.
func (p pooledStore) Destruct() error {
	err := p.Store.Close()
	if p.client != nil {
		if cerr := p.client.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}

func loadStore(sc config.StoreConfig, tombstoneTTL time.Duration) (session.Store, string, error) {
	replicas := session.ReplicaOptions{Min: session.AutoReplicas}
	if session.IsSentinelURL(sc.URL) {
		replicas.SentinelURL = sc.URL
	}
	if sc.MinReplicas != nil {
		replicas.Min = *sc.MinReplicas
	}
	local := session.LocalCacheOptions{Off: sc.LocalCache != nil && !*sc.LocalCache}
	key := fmt.Sprintf("%s:%s:%d:%t", sc.Kind, sc.URL, replicas.Min, local.Off)
	v, _, err := stores.LoadOrNew(key, func() (caddy.Destructor, error) {
		opts := session.Options{TombstoneTTL: tombstoneTTL, LocalCache: local}
		switch sc.Kind {
		case config.StoreMemory:
			return pooledStore{Store: session.NewMemoryStore(opts, time.Minute)}, nil
		case config.StoreRedis:
			client, err := session.NewRedisClient(sc.URL)
			if err != nil {
				return nil, err
			}
			opts.Replicas = replicas
			return pooledStore{Store: session.NewRedisStore(client, opts), client: client}, nil
		}
		return nil, fmt.Errorf("unknown store %q", sc.Kind)
	})
	if err != nil {
		return nil, "", err
	}
	// the store outlives configurations: a later one may need reasons kept longer
	if s, ok := v.(pooledStore).Store.(interface{ RaiseTombstoneTTL(time.Duration) }); ok {
		s.RaiseTombstoneTTL(tombstoneTTL)
	}
	return v.(pooledStore).Store, key, nil
}
