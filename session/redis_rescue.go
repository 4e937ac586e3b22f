package session

import (
	"context"
	_ "embed"
	"errors"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/rescue_keep.lua
	rescueKeepLua string
	//go:embed lua/rescue_take.lua
	rescueTakeLua string
)

// rescueKeyName is the Redis key of a user's rescues: a hash of slots, in
// the user's Cluster slot.
func rescueKeyName(userKey string) string { return "sg:rescue:{" + userKey + "}" }

// KeepRescue implements Rescues.
func (r *RedisStore) KeepRescue(ctx context.Context, userKey, slot string, data []byte, ttl time.Duration) error {
	if !validUserKey(userKey) {
		return errors.New("keep rescue: invalid user key")
	}
	kept, err := r.rescueKeep.Run(ctx, r.client, []string{rescueKeyName(userKey)}, r.nowArg(), slot, data,
		ttl.Milliseconds(), MaxRescueSlots, MaxRescueBytes).Int()
	if err != nil {
		return unavailable("keep rescue", err)
	}
	if kept != 1 {
		return ErrRescueFull
	}
	return nil
}

// TakeRescue implements Rescues.
func (r *RedisStore) TakeRescue(ctx context.Context, userKey, slot string) ([]byte, error) {
	return r.readRescue(ctx, userKey, slot, "take")
}

// PeekRescue implements Rescues.
func (r *RedisStore) PeekRescue(ctx context.Context, userKey, slot string) ([]byte, error) {
	return r.readRescue(ctx, userKey, slot, "peek")
}

// readRescue reads a slot; mode "take" forgets it.
func (r *RedisStore) readRescue(ctx context.Context, userKey, slot, mode string) ([]byte, error) {
	if !validUserKey(userKey) {
		return nil, nil
	}
	v, err := r.rescueTake.Run(ctx, r.client, []string{rescueKeyName(userKey)}, r.nowArg(), slot, mode).Text()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(mode+" rescue", err)
	}
	return []byte(v), nil
}

// DropRescues implements Rescues.
func (r *RedisStore) DropRescues(ctx context.Context, userKey, prefix string) (int, error) {
	if !validUserKey(userKey) {
		return 0, nil
	}
	key := rescueKeyName(userKey)
	slots, err := r.client.HKeys(ctx, key).Result()
	if err != nil {
		return 0, unavailable("drop rescues", err)
	}
	var drop []string
	for _, s := range slots {
		if strings.HasPrefix(s, prefix) {
			drop = append(drop, s)
		}
	}
	if len(drop) == 0 {
		return 0, nil
	}
	n, err := r.client.HDel(ctx, key, drop...).Result()
	if err != nil {
		return 0, unavailable("drop rescues", err)
	}
	return int(n), nil
}
