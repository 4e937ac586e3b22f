package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Keys outside any user's hash tag, each in a slot of its own.
func directoryKey(name string) string { return "sg:who:" + digest(normalizeName(name)) }
func idpSessionKey(sid string) string { return "sg:sid:" + digest(sid) }
func onceKey(key string) string       { return "sg:once:" + digest(key) }
func settingKey(name string) string   { return "sg:setting:" + name }

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// RememberUser implements Store.
func (r *RedisStore) RememberUser(ctx context.Context, userKey string, names []string) error {
	if !validUserKey(userKey) {
		return errors.New("remember user: invalid user key")
	}
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, n := range names {
			if normalizeName(n) != "" {
				p.Set(ctx, directoryKey(n), userKey, directoryTTL)
			}
		}
		return nil
	})
	if err != nil {
		return unavailable("remember user", err)
	}
	return nil
}

// LookupUser implements Store.
func (r *RedisStore) LookupUser(ctx context.Context, name string) (string, error) {
	v, err := r.client.Get(ctx, directoryKey(name)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", unavailable("look up user", err)
	}
	if !validUserKey(v) {
		return "", nil
	}
	return v, nil
}

// maxRefsPerIdPSession bounds the sessions remembered under one provider
// session (one per site of the same Redis, and re-sign-ins).
const maxRefsPerIdPSession = 8

// indexIdPSession records a new session under its provider session ID for
// as long as the session can live.
func (r *RedisStore) indexIdPSession(ctx context.Context, s *Session, l Limits) error {
	if s.IdPSessionID == "" {
		return nil
	}
	ttl := r.opts.TombstoneTTL
	if l.Absolute > ttl {
		ttl = l.Absolute
	}
	if l.Absolute == 0 {
		ttl = directoryTTL
	}
	ref := s.UserKey + "/" + s.ID + "/" + strconv.FormatInt(s.CreatedAt.UnixMilli(), 10)
	err := r.sid.Run(ctx, r.client, []string{idpSessionKey(s.IdPSessionID)}, ref, ttl.Milliseconds(), maxRefsPerIdPSession).Err()
	if err != nil {
		return unavailable("index provider session", err)
	}
	return nil
}

// SessionsForIdPSession implements Store.
func (r *RedisStore) SessionsForIdPSession(ctx context.Context, sid string) ([]Ref, error) {
	v, err := r.client.Get(ctx, idpSessionKey(sid)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable("find provider session", err)
	}
	members := strings.Fields(v)
	var out []Ref
	for _, m := range members {
		parts := strings.SplitN(m, "/", 3)
		if len(parts) != 3 || !validUserKey(parts[0]) {
			continue
		}
		ref := Ref{UserKey: parts[0], ID: parts[1]}
		ref.CreatedAt, _ = strconv.ParseInt(parts[2], 10, 64)
		out = append(out, ref)
	}
	return out, nil
}

// Once implements Store.
func (r *RedisStore) Once(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	ok, err := r.client.SetNX(ctx, onceKey(key), "1", ttl).Result()
	if err != nil {
		return false, unavailable("remember token", err)
	}
	return ok, nil
}

// Setting implements Store.
func (r *RedisStore) Setting(ctx context.Context, name string) (string, error) {
	v, err := r.client.Get(ctx, settingKey(name)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	if err != nil {
		return "", unavailable("read setting", err)
	}
	return v, nil
}

// SetSetting implements Store.
func (r *RedisStore) SetSetting(ctx context.Context, name, value string) error {
	if err := r.client.Set(ctx, settingKey(name), value, 0).Err(); err != nil {
		return unavailable("save setting", err)
	}
	return nil
}

// CountSessions implements Store: it scans the session keys (tombstones,
// which hold only an "end" field, are not counted). On a Cluster it scans
// every master.
func (r *RedisStore) CountSessions(ctx context.Context) (int, error) {
	if c, ok := r.client.(*redis.ClusterClient); ok {
		var total atomic.Int64
		err := c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			n, err := countSessionKeys(ctx, node)
			total.Add(int64(n))
			return err
		})
		if err != nil {
			return 0, unavailable("count sessions", err)
		}
		return int(total.Load()), nil
	}
	n, err := countSessionKeys(ctx, r.client)
	if err != nil {
		return 0, unavailable("count sessions", err)
	}
	return n, nil
}

func countSessionKeys(ctx context.Context, c redis.Cmdable) (int, error) {
	n := 0
	var cursor uint64
	for {
		keys, next, err := c.Scan(ctx, cursor, "sg:{*}:s:*", 1000).Result()
		if err != nil {
			return 0, err
		}
		if len(keys) > 0 {
			cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, k := range keys {
					p.HExists(ctx, k, "ca")
				}
				return nil
			})
			if err != nil && !errors.Is(err, redis.Nil) {
				return 0, err
			}
			for _, cmd := range cmds {
				if b, _ := cmd.(*redis.BoolCmd).Result(); b {
					n++
				}
			}
		}
		if cursor = next; cursor == 0 {
			return n, nil
		}
	}
}
