package session

import (
	"context"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

func onceKey(key string) string { return "sg:once:" + digest(key) }

func settingKey(name string) string { return "sg:setting:" + name }

// Once implements SharedState.
func (r *RedisStore) Once(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ok, err := r.client.SetNX(ctx, onceKey(key), "1", ttl).Result()
	if err != nil {
		return false, unavailable("remember token", err)
	}
	return ok, nil
}

// Forget implements SharedState.
func (r *RedisStore) Forget(ctx context.Context, key string) error {
	if err := r.client.Del(ctx, onceKey(key)).Err(); err != nil {
		return unavailable("forget token", err)
	}
	return nil
}

// Setting implements SharedState: from the local copy while it is
// trusted, so that following a setting closely costs no round trip.
func (r *RedisStore) Setting(ctx context.Context, name string) (string, error) {
	if r.ReadsLocally() && !r.local.memo.skipped(settingMemoKey(name)) {
		if v, err := r.local.setting(ctx, settingKey(name)); err == nil {
			return v, nil
		}
	}
	v, err := r.client.Get(ctx, settingKey(name)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", unavailable("read setting", err)
	}
	return v, nil
}

// SetSetting implements SharedState.
func (r *RedisStore) SetSetting(ctx context.Context, name, value string) error {
	key := settingKey(name)
	if r.local != nil {
		r.local.memo.skip(settingMemoKey(name))
	}
	err := r.guard.run(ctx, guardedWrite{key: key, queue: func(p redis.Pipeliner) { p.Set(ctx, key, value, 0) }})
	if err != nil {
		return unavailable("save setting", err)
	}
	return nil
}
