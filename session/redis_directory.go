package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Keys outside any user's hash tag, each in a slot of its own.
func directoryKey(name string) string { return "sg:who2:" + digest(name) }

// idpSessionBucket and idpSessionField place a provider session in one of
// 4,096 bucket hashes: small hashes that Redis keeps compact (listpack) up
// to about half a million live provider sessions.
func idpSessionBucket(sid string) string { return "sg:sid:" + digest(sid)[:3] }
func idpSessionField(sid string) string  { return digest(sid)[3:19] }
func onceKey(key string) string          { return "sg:once:" + digest(key) }
func settingKey(name string) string      { return "sg:setting:" + name }

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// RememberUser implements Store: one set per kind and name, of
// "<user key> <subject>" members, living directoryTTL after the last sign-in
// that recorded it.
func (r *RedisStore) RememberUser(ctx context.Context, userKey, subject string, names []UserName) error {
	if !validUserKey(userKey) {
		return errors.New("remember user: invalid user key")
	}
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, n := range names {
			name := directoryName(n.Kind, n.Value)
			if name == "" {
				continue
			}
			key := directoryKey(name)
			p.SAdd(ctx, key, userKey+" "+subject)
			p.Expire(ctx, key, directoryTTL)
		}
		return nil
	})
	if err != nil {
		return unavailable("remember user", err)
	}
	return nil
}

// LookupUser implements Store.
func (r *RedisStore) LookupUser(ctx context.Context, kind NameKind, name string) ([]UserMatch, error) {
	dn := directoryName(kind, name)
	if dn == "" {
		return nil, nil
	}
	members, err := r.client.SMembers(ctx, directoryKey(dn)).Result()
	if err != nil {
		return nil, unavailable("look up user", err)
	}
	var out []UserMatch
	for _, m := range members {
		userKey, subject, _ := strings.Cut(m, " ")
		if validUserKey(userKey) {
			out = append(out, UserMatch{UserKey: userKey, Subject: subject})
		}
	}
	sortMatches(out)
	return out, nil
}

// indexIdPSession records which user a provider session belongs to, for
// as long as its sessions can live.
func (r *RedisStore) indexIdPSession(ctx context.Context, s *Session, l Limits) error {
	if s.IdPSessionID == "" {
		return nil
	}
	ttl := r.tombstone.get()
	if l.Absolute > ttl {
		ttl = l.Absolute
	}
	if l.Absolute == 0 {
		ttl = directoryTTL
	}
	err := r.sid.Run(ctx, r.client, []string{idpSessionBucket(s.IdPSessionID)}, r.nowArg(),
		idpSessionField(s.IdPSessionID), s.UserKey, ttl.Milliseconds()).Err()
	if err != nil {
		return unavailable("index provider session", err)
	}
	return nil
}

// SessionsForIdPSession implements Store: the index names the user, whose
// hash names the sessions (by a digest of the sid in each record).
func (r *RedisStore) SessionsForIdPSession(ctx context.Context, sid string) ([]Ref, error) {
	v, err := r.client.HGet(ctx, idpSessionBucket(sid), idpSessionField(sid)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable("find provider session", err)
	}
	users, _, _ := strings.Cut(v, "|")
	tag := sidTag(sid)
	var out []Ref
	for _, userKey := range strings.Fields(users) {
		if !validUserKey(userKey) {
			continue
		}
		all, err := r.client.HGetAll(ctx, userKeyName(userKey)).Result()
		if err != nil {
			return nil, unavailable("find provider session", err)
		}
		for id, val := range all {
			if rec, ok := parseRecord(val); ok && rec.sidTag == tag {
				out = append(out, Ref{ID: id, UserKey: userKey, CreatedAt: rec.created.UnixMilli(), PolicyGroups: rec.policyGroups})
			}
		}
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

// CountSessions implements Store: it scans the users' hashes and counts the
// sessions within their deadlines. On a Cluster it scans every master.
func (r *RedisStore) CountSessions(ctx context.Context, limits LimitTable) (int, error) {
	now := time.Now()
	if r.opts.Clock != nil {
		now = r.opts.Clock()
	}
	if c, ok := r.client.(*redis.ClusterClient); ok {
		var total atomic.Int64
		err := c.ForEachMaster(ctx, func(ctx context.Context, node *redis.Client) error {
			n, err := countSessions(ctx, node, limits, now)
			total.Add(int64(n))
			return err
		})
		if err != nil {
			return 0, unavailable("count sessions", err)
		}
		return int(total.Load()), nil
	}
	n, err := countSessions(ctx, r.client, limits, now)
	if err != nil {
		return 0, unavailable("count sessions", err)
	}
	return n, nil
}

func countSessions(ctx context.Context, c redis.Cmdable, limits LimitTable, now time.Time) (int, error) {
	n := 0
	var cursor uint64
	for {
		keys, next, err := c.ScanType(ctx, cursor, "sg:{*}", 1000, "hash").Result()
		if err != nil {
			return 0, err
		}
		if len(keys) > 0 {
			cmds, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, k := range keys {
					p.HVals(ctx, k)
				}
				return nil
			})
			if err != nil && !errors.Is(err, redis.Nil) {
				return 0, err
			}
			for _, cmd := range cmds {
				vals, _ := cmd.(*redis.StringSliceCmd).Result()
				for _, v := range vals {
					if rec, ok := parseRecord(v); ok && rec.live(limits, now) {
						n++
					}
				}
			}
		}
		if cursor = next; cursor == 0 {
			return n, nil
		}
	}
}
