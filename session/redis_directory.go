package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
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

// indexIdPSession records a new session under its provider session ID.
func (r *RedisStore) indexIdPSession(ctx context.Context, s *Session) error {
	if s.IdPSessionID == "" {
		return nil
	}
	k := idpSessionKey(s.IdPSessionID)
	_, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.SAdd(ctx, k, s.UserKey+"/"+s.ID+"/"+strconv.FormatInt(s.CreatedAt.UnixMilli(), 10))
		p.Expire(ctx, k, directoryTTL)
		return nil
	})
	if err != nil {
		return unavailable("index provider session", err)
	}
	return nil
}

// SessionsForIdPSession implements Store.
func (r *RedisStore) SessionsForIdPSession(ctx context.Context, sid string) ([]Ref, error) {
	members, err := r.client.SMembers(ctx, idpSessionKey(sid)).Result()
	if err != nil {
		return nil, unavailable("find provider session", err)
	}
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
