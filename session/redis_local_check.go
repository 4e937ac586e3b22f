package session

import (
	"context"
	_ "embed"
	"errors"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed lua/touch.lua
var touchLua string

// Check implements Sessions: from the local copy when it can say "valid",
// else by the check script.
func (r *RedisStore) Check(ctx context.Context, ref Ref, limits LimitTable, activity bool) (CheckResult, error) {
	if !validUserKey(ref.UserKey) || !validSessionID(ref.ID) {
		return CheckResult{Reason: ReasonEnded, Now: time.Now()}, nil
	}
	if r.local == nil {
		return r.checkByScript(ctx, ref, limits, activity)
	}
	if res, ok := r.checkLocally(ctx, ref, limits, activity); ok {
		return res, nil
	}
	key := memoKey(ref)
	r.local.memo.awaitTouch(ctx, key)
	res, err := r.checkByScript(ctx, ref, limits, activity)
	if err == nil && !res.Valid {
		r.local.memo.skip(key)
	}
	return res, err
}

// checkLocally decides a check from the local copy. ok is false when the
// copy cannot say "valid" with certainty; the caller then runs the script.
// A session not in the copy yet is read from Redis (one HMGET), so its first
// check on a node costs one round trip as before, and later ones none.
func (r *RedisStore) checkLocally(ctx context.Context, ref Ref, limits LimitTable, activity bool) (CheckResult, bool) {
	l := r.local
	if !l.settled(ctx) { // first: now is read after the wait
		return CheckResult{}, false
	}
	now, margin, ok := l.now()
	key := memoKey(ref)
	if !ok || r.health.down.Load() || l.memo.skipped(key) {
		return CheckResult{}, false
	}
	c, ok := l.session(ctx, userKeyName(ref.UserKey), ref.ID)
	if !ok {
		return CheckResult{}, false
	}
	rec := c.rec
	lim := limits.For(rec.policyGroups)
	if valid, _ := Evaluate(rec.created, rec.lastActivity, lim, now.Add(margin)); !valid {
		return CheckResult{}, false
	}
	la := rec.lastActivity
	if t := l.memo.lastTouch(key); t.After(la) {
		la = t
	}
	if activity && now.After(la) { // one touch of a session on its way at a time; later activity follows it
		r.touchLater(ref, rec, now, limits)
		la = now
	}
	s := &Session{ID: ref.ID, UserKey: ref.UserKey, Subject: ref.Subject, PolicyGroups: rec.policyGroups,
		CreatedAt: rec.created, LastActivity: la}
	if c.claims != "" {
		if err := setStoredIdentity(s, c.claims); err != nil {
			return CheckResult{}, false
		}
	} else {
		s.SetIdentity(ref.Identity)
	}
	out := CheckResult{Valid: true, Session: s, Now: now}
	out.IdleDeadline, out.AbsoluteDeadline = Deadlines(rec.created, la, lim)
	return out, true
}

// touchLater records activity at `at` in the background: the request does
// not wait. A touch that is lost (Redis down, a failover) can only make the
// session end earlier, never later; one on its way makes a check by script
// wait for it, so the script never judges the deadline it moves. Activity
// that comes while a touch is on its way is written right after it.
func (r *RedisStore) touchLater(ref Ref, rec record, at time.Time, limits LimitTable) {
	key := memoKey(ref)
	memo := r.local.memo
	if !memo.startTouch(key, at) {
		return
	}
	keys := []string{userKeyName(ref.UserKey)}
	write := func(ctx context.Context, at time.Time) time.Time {
		ctx, cancel := context.WithTimeout(ctx, localTouchTimeout)
		defer cancel()
		args := append(r.commonArgs(limits), ref.ID, rec.created.UnixMilli(), at.UnixMilli())
		args = append(args, groupLimitArgs(limits)...)
		res, err := r.touch.Run(ctx, keys, args...)
		if err != nil || len(res) != 2 || toInt(res[0]) != 1 {
			return time.Time{}
		}
		return time.UnixMilli(toInt(res[1])) // what Redis stored: never after its own time
	}
	started := r.local.bg.Go(func(ctx context.Context) {
		for !at.IsZero() {
			at = memo.finishTouch(key, write(ctx, at))
		}
	})
	for !started && !memo.finishTouch(key, time.Time{}).IsZero() {
	}
}

// localTouchTimeout bounds a touch (and so how long a check by script may
// wait for one).
const localTouchTimeout = time.Second

// session returns the copy of a session's record (and stored claims),
// reading it from Redis when the copy has none. Only live records are kept:
// anything else is the script's to judge.
func (l *localCopy) session(ctx context.Context, key, id string) (copied, bool) {
	if c, ok := l.table.get(key, id); ok {
		return c, true
	}
	tk := l.table.take(key)
	var v *redis.SliceCmd
	if err := l.read(ctx, func(p redis.Pipeliner) { v = p.HMGet(ctx, key, id, id+":i") }); err != nil {
		return copied{}, false
	}
	vals := v.Val()
	if len(vals) != 2 {
		return copied{}, false
	}
	raw, _ := vals[0].(string)
	rec, ok := parseRecord(raw)
	if !ok {
		return copied{}, false
	}
	c := copied{rec: rec}
	c.claims, _ = vals[1].(string)
	l.table.put(key, id, c, tk)
	return c, true
}

// setting returns the copy of a shared setting ("" when unset), reading it
// from Redis when the copy has none.
func (l *localCopy) setting(ctx context.Context, key string) (string, error) {
	if c, ok := l.table.get(key, ""); ok {
		return c.value, nil
	}
	tk := l.table.take(key)
	var v *redis.StringCmd
	if err := l.read(ctx, func(p redis.Pipeliner) { v = p.Get(ctx, key) }); err != nil {
		return "", err
	}
	l.table.put(key, "", copied{value: v.Val()}, tk)
	return v.Val(), nil
}

// read runs one read for the copy. On a single server or behind Sentinel it
// goes to the tracker's server with its INFO replication in one round trip,
// and counts only from the master the copy follows (by replication ID),
// trusted by the replica guard: a demoted or partitioned master's answer is
// never copied. In a Cluster it goes to the key's master.
func (l *localCopy) read(ctx context.Context, queue func(redis.Pipeliner)) error {
	var p redis.Pipeliner
	trackers := *l.trackers.Load()
	switch {
	case l.cluster != nil:
		p = l.cluster.Pipeline()
	case len(trackers) == 1:
		p = trackers[0].probe.Pipeline()
	default:
		return errors.New("no master the copy follows")
	}
	var info *redis.StringCmd
	if l.trust != nil || l.cluster == nil {
		info = p.Info(ctx, "replication")
	}
	queue(p)
	if _, err := p.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return err
	}
	if info == nil {
		return nil
	}
	repl, err := info.Result()
	if err != nil {
		return err
	}
	if len(trackers) != 1 {
		return errors.New("no master the copy follows")
	}
	if id := trackers[0].replID.Load(); id == nil || infoField(repl, "master_replid") != *id {
		return errors.New("read from another master than the copy follows")
	}
	return l.checkServer(repl)
}
