package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/redis/go-redis/v9"
)

// Keys outside any user's hash tag, each in a slot of its own.
func directoryKey(name string) string { return "sg:who2:" + digest(name) }

// idpSessionBucket and idpSessionField place a provider session in one of
// 4,096 bucket hashes: small hashes that Redis keeps compact (listpack) up
// to about half a million live provider sessions.
func idpSessionBucket(sid string) string { return "sg:sid:" + digest(sid)[:3] }
func idpSessionField(sid string) string  { return digest(sid)[3:19] }

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:16])
}

// RememberUser implements Directory: one set per kind and name, of
// "<user key> <subject>" members, living directoryTTL after the last sign-in
// that recorded it.
func (r *RedisStore) RememberUser(ctx context.Context, userKey, subject string, names []UserName) error {
	if !validUserKey(userKey) {
		return errors.New("remember user: invalid user key")
	}
	// one write per name: each name's set is in a Cluster slot of its own,
	// and a revocation by name must find it after a failover
	for _, n := range names {
		name := directoryName(n.Kind, n.Value)
		if name == "" {
			continue
		}
		key := directoryKey(name)
		err := r.guard.run(ctx, guardedWrite{key: key, queue: func(p redis.Pipeliner) {
			p.SAdd(ctx, key, userKey+" "+subject)
			p.Expire(ctx, key, directoryTTL)
		}})
		if err != nil {
			return unavailable("remember user", err)
		}
	}
	return nil
}

// LookupUser implements Directory.
func (r *RedisStore) LookupUser(ctx context.Context, kind NameKind, name string) ([]UserMatch, error) {
	dn := directoryName(kind, name)
	if dn == "" {
		return nil, nil
	}
	key := directoryKey(dn)
	var cmd *redis.StringSliceCmd
	err := r.trustedRead(ctx, key, func(p redis.Pipeliner) { cmd = p.SMembers(ctx, key) })
	if err != nil {
		return nil, unavailable("look up user", err)
	}
	members, err := cmd.Result()
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
	_, err := r.runScript(ctx, r.sid, []string{idpSessionBucket(s.IdPSessionID)},
		[]any{r.nowArg(), idpSessionField(s.IdPSessionID), s.UserKey, ttl.Milliseconds()}, nil)
	if err != nil {
		return unavailable("index provider session", err)
	}
	return nil
}

// SessionsForIdPSession implements Directory: the index names the user, whose
// hash names the sessions (by a digest of the sid in each record).
func (r *RedisStore) SessionsForIdPSession(ctx context.Context, sid string) ([]Ref, error) {
	bucket := idpSessionBucket(sid)
	var get *redis.StringCmd
	if err := r.trustedRead(ctx, bucket, func(p redis.Pipeliner) { get = p.HGet(ctx, bucket, idpSessionField(sid)) }); err != nil {
		return nil, unavailable("find provider session", err)
	}
	v, err := get.Result()
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
		key := userKeyName(userKey)
		var cmd *redis.MapStringStringCmd
		if err := r.trustedRead(ctx, key, func(p redis.Pipeliner) { cmd = p.HGetAll(ctx, key) }); err != nil {
			return nil, unavailable("find provider session", err)
		}
		all, err := cmd.Result()
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
