package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Create implements Sessions.
func (r *RedisStore) Create(ctx context.Context, s *Session, limits LimitTable, opts CreateOptions) ([]string, error) {
	if !validUserKey(s.UserKey) {
		return nil, fmt.Errorf("create session: invalid user key")
	}
	stored := ""
	if s.IdentityInStore {
		b, err := json.Marshal(s.Identity())
		if err != nil {
			return nil, fmt.Errorf("create session: %w", err)
		}
		stored = string(b)
	}
	tail := sidTag(s.IdPSessionID) + "|" + recordSafe(s.Device) + "|" + recordSafe(s.IP)
	args := append(r.commonArgs(limits), s.ID, recordSafe(s.PolicyGroups), tail, opts.MaxSessions, s.Subject, stored)
	args = append(args, groupLimitArgs(limits)...)
	// a try that Redis carried out but no replica confirmed has already
	// ended what max_sessions ends: the next ends nothing more (the script
	// leaves the new session out of the count), and both lists are reported
	var ended []string
	collect := func(c redis.Cmder) {
		res, _ := c.(*redis.Cmd).Slice()
		for _, v := range res[min(1, len(res)):] {
			if id := toString(v); !slices.Contains(ended, id) {
				ended = append(ended, id)
				if r.local != nil {
					r.local.memo.skip(memoKey(Ref{UserKey: s.UserKey, ID: id}))
				}
			}
		}
	}
	cmd, err := r.runScript(ctx, r.create, []string{userKeyName(s.UserKey)}, args, collect)
	if err != nil {
		return ended, unavailable("create session", err)
	}
	res, err := cmd.Slice()
	if err != nil {
		return ended, unavailable("create session", err)
	}
	if len(res) == 0 {
		return ended, unavailable("create session", errors.New("empty reply"))
	}
	now := time.UnixMilli(toInt(res[0]))
	s.CreatedAt, s.LastActivity = now, now
	if err := r.indexIdPSession(ctx, s, limits.For(s.PolicyGroups)); err != nil {
		return ended, err
	}
	return ended, nil
}

// commonArgs are the first script arguments on a user's hash: now, the
// default limits and the tombstone TTL (see lua/limits.lua).
func (r *RedisStore) commonArgs(limits LimitTable) []any {
	return []any{r.nowArg(), limits.Default.Idle.Milliseconds(), limits.Default.Absolute.Milliseconds(),
		r.tombstone.get().Milliseconds()}
}

// recordSafe keeps the record's separator out of a field.
func recordSafe(v string) string { return strings.ReplaceAll(v, "|", "/") }

// sidTag is a short digest of a provider session ID kept in the record, to
// find a user's sessions of one provider session.
func sidTag(sid string) string {
	if sid == "" {
		return ""
	}
	return digest("sid\x00" + sid)[:10]
}

// groupLimitArgs lists the group policies as script arguments: triples of
// name, idle ms, absolute ms.
func groupLimitArgs(limits LimitTable) []any {
	args := make([]any, 0, 3*len(limits.Groups))
	for name, l := range limits.Groups {
		args = append(args, name, l.Idle.Milliseconds(), l.Absolute.Milliseconds())
	}
	return args
}

// checkByScript runs the check script: one round trip.
func (r *RedisStore) checkByScript(ctx context.Context, ref Ref, limits LimitTable, activity bool) (CheckResult, error) {
	act := "0"
	if activity {
		act = "1"
	}
	own := limits.For(ref.PolicyGroups)
	args := append(r.commonArgs(limits), act, ref.ID, ref.CreatedAt, own.Idle.Milliseconds(), own.Absolute.Milliseconds(),
		ref.Subject)
	args = append(args, groupLimitArgs(limits)...)
	res, err := r.check.Run(ctx, []string{userKeyName(ref.UserKey)}, args...)
	if err != nil {
		return CheckResult{}, unavailable("check session", err)
	}
	out := CheckResult{Now: time.UnixMilli(toInt(res[0]))}
	switch toString(res[1]) {
	case "V":
		la, idleAt, absAt := toInt(res[2]), toInt(res[3]), toInt(res[4])
		s := &Session{
			ID: ref.ID, UserKey: ref.UserKey, Subject: ref.Subject, PolicyGroups: toString(res[5]),
			CreatedAt: time.UnixMilli(toInt(res[6])), LastActivity: time.UnixMilli(la),
		}
		if stored := toString(res[7]); stored != "" {
			if err := setStoredIdentity(s, stored); err != nil {
				return CheckResult{}, fmt.Errorf("check session: %w", err)
			}
		} else {
			s.SetIdentity(ref.Identity)
		}
		out.Valid, out.Session = true, s
		out.IdleDeadline = time.UnixMilli(idleAt)
		if absAt > 0 {
			out.AbsoluteDeadline = time.UnixMilli(absAt)
		}
	default: // "X" (this check found the end) or "E" (ended earlier)
		out.Ended = toString(res[1]) == "X"
		if out.Ended {
			out.Subject = ref.Subject
		}
		out.Reason = Reason(toString(res[2]))
		if !out.Reason.Valid() {
			out.Reason = ReasonEnded
		}
	}
	return out, nil
}

// validSessionID guards field names: session IDs are base64url.
func validSessionID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Get implements Sessions: the session's timers, policy groups and device (and its
// display claims only when the store keeps them).
func (r *RedisStore) Get(ctx context.Context, ref Ref) (*Session, error) {
	if !validUserKey(ref.UserKey) || !validSessionID(ref.ID) {
		return nil, nil
	}
	v, err := r.client.HMGet(ctx, userKeyName(ref.UserKey), ref.ID, "@", ref.ID+":i").Result()
	if err != nil {
		return nil, unavailable("get session", err)
	}
	rec, ok := parseRecord(toString(v[0]))
	if !ok {
		return nil, nil
	}
	s := rec.session(ref.ID, ref.UserKey, toString(v[1]))
	if stored := toString(v[2]); stored != "" {
		if err := setStoredIdentity(s, stored); err != nil {
			return nil, fmt.Errorf("get session: %w", err)
		}
	}
	return s, nil
}

// setStoredIdentity gives s the display claims the store kept for it
// (JSON of an Identity, written by Create when IdentityInStore).
func setStoredIdentity(s *Session, stored string) error {
	var id Identity
	if err := json.Unmarshal([]byte(stored), &id); err != nil {
		return fmt.Errorf("corrupt claims: %w", err)
	}
	s.SetIdentity(&id)
	s.IdentityInStore = true
	return nil
}

// End implements Sessions.
func (r *RedisStore) End(ctx context.Context, ref Ref, reason Reason) error {
	if !validUserKey(ref.UserKey) || !validSessionID(ref.ID) {
		return nil
	}
	if r.local != nil { // before the write: no check on this node may see it live after
		r.local.memo.skip(memoKey(ref))
	}
	args := append(r.commonArgs(LimitTable{}), ref.ID, string(reason))
	if _, err := r.runScript(ctx, r.end, []string{userKeyName(ref.UserKey)}, args, nil); err != nil {
		return unavailable("end session", err)
	}
	return nil
}

// List implements Sessions.
func (r *RedisStore) List(ctx context.Context, userKey string, limits LimitTable) ([]*Session, error) {
	if !validUserKey(userKey) {
		return nil, nil
	}
	args := append(r.commonArgs(limits), groupLimitArgs(limits)...)
	// under the guard: a device list decides what "sign out" ends
	cmd, err := r.runScript(ctx, r.list, []string{userKeyName(userKey)}, args, nil)
	if err != nil {
		return nil, unavailable("list sessions", err)
	}
	res, err := cmd.Slice()
	if err != nil {
		return nil, unavailable("list sessions", err)
	}
	subject := toString(res[1])
	var out []*Session
	for i := 2; i+1 < len(res); i += 2 {
		if rec, ok := parseRecord(toString(res[i+1])); ok {
			out = append(out, rec.session(toString(res[i]), userKey, subject))
		}
	}
	return out, nil
}

// CountSessions implements Sessions: it scans the users' hashes and counts the
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
