package session

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/check.lua
	checkLua string
	//go:embed lua/create.lua
	createLua string
	//go:embed lua/end.lua
	endLua string
	//go:embed lua/list.lua
	listLua string
	//go:embed lua/sid.lua
	sidLua string
)

// RedisStore keeps sessions in Redis (single server, Sentinel or Cluster).
// Keys: sg:{<user key>}:s:<id> (hash) and sg:{<user key>}:idx (sorted set of
// the user's session IDs by sign-in time); the hash tag keeps one user's keys
// in one Cluster slot. Every session key expires at its nearest deadline.
// Each operation is one Lua script run (EVALSHA), timed by Redis TIME.
type RedisStore struct {
	client redis.UniversalClient
	opts   Options
	check  *redis.Script
	create *redis.Script
	end    *redis.Script
	list   *redis.Script
	sid    *redis.Script
}

// NewRedisStore returns a store using client; the caller owns the client.
func NewRedisStore(client redis.UniversalClient, opts Options) *RedisStore {
	opts.setDefaults()
	return &RedisStore{
		client: client,
		opts:   opts,
		check:  redis.NewScript(checkLua),
		create: redis.NewScript(createLua),
		end:    redis.NewScript(endLua),
		list:   redis.NewScript(listLua),
		sid:    redis.NewScript(sidLua),
	}
}

// NewRedisClient builds a client from a URL:
//
//	redis://[user:password@]host:port/db       single server (rediss:// for TLS)
//	redis://host:26379?master_name=m&addr=...  Sentinel
//	redis+cluster://host:port?addr=host2:port  Cluster (rediss+cluster:// for TLS)
//	unix:///path/to/redis.sock                  single server over a socket
func NewRedisClient(rawURL string) (redis.UniversalClient, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, fmt.Errorf("redis URL %q has no scheme", redactURL(rawURL))
	}
	switch scheme {
	case "redis+cluster", "rediss+cluster":
		o, err := redis.ParseClusterURL(strings.TrimSuffix(scheme, "+cluster") + "://" + rest)
		if err != nil {
			return nil, fmt.Errorf("redis cluster URL: %w", err)
		}
		failFast(rawURL, &o.MaxRetries, &o.DialerRetries, &o.DialTimeout)
		return redis.NewClusterClient(o), nil
	case "redis", "rediss":
		if strings.Contains(rest, "master_name=") {
			o, err := redis.ParseFailoverURL(rawURL)
			if err != nil {
				return nil, fmt.Errorf("redis sentinel URL: %w", err)
			}
			failFast(rawURL, &o.MaxRetries, &o.DialerRetries, &o.DialTimeout)
			return redis.NewFailoverClient(o), nil
		}
		fallthrough
	case "unix":
		o, err := redis.ParseURL(rawURL)
		if err != nil {
			return nil, fmt.Errorf("redis URL: %w", err)
		}
		failFast(rawURL, &o.MaxRetries, &o.DialerRetries, &o.DialTimeout)
		return redis.NewClient(o), nil
	}
	return nil, fmt.Errorf("redis URL scheme %q is not one of redis, rediss, redis+cluster, rediss+cluster, unix", scheme)
}

// failFast bounds how long a request waits for an unreachable Redis, so that
// the gateway answers 503 within about a second instead of after go-redis's
// default dial and command retries (several seconds): one retry of a command,
// one extra dial attempt, a 1 s dial timeout. Query parameters of the URL
// (max_retries, dial_timeout; dialer_retries for Cluster) take precedence.
func failFast(rawURL string, maxRetries, dialerRetries *int, dialTimeout *time.Duration) {
	q := url.Values{}
	if u, err := url.Parse(rawURL); err == nil {
		q = u.Query()
	}
	if !q.Has("max_retries") {
		*maxRetries = 1
	}
	if !q.Has("dialer_retries") {
		*dialerRetries = 1
	}
	if !q.Has("dial_timeout") {
		*dialTimeout = time.Second
	}
}

func redactURL(s string) string {
	if at := strings.LastIndex(s, "@"); at >= 0 {
		if i := strings.Index(s, "://"); i >= 0 && i < at {
			return s[:i+3] + "…@" + s[at+1:]
		}
	}
	return s
}

func sessionKey(userKey, id string) string { return "sg:{" + userKey + "}:s:" + id }
func sessionPrefix(userKey string) string  { return "sg:{" + userKey + "}:s:" }
func indexKey(userKey string) string       { return "sg:{" + userKey + "}:idx" }

func (r *RedisStore) nowArg() string {
	if r.opts.Clock == nil {
		return ""
	}
	return strconv.FormatInt(r.opts.Clock().UnixMilli(), 10)
}

func unavailable(op string, err error) error {
	return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
}

// validUserKey guards key construction: user keys are hex digests.
func validUserKey(k string) bool {
	if len(k) == 0 || len(k) > 64 {
		return false
	}
	for _, c := range k {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Create implements Store.
func (r *RedisStore) Create(ctx context.Context, s *Session, limits LimitSet, opts CreateOptions) ([]string, error) {
	if !validUserKey(s.UserKey) {
		return nil, fmt.Errorf("create session: invalid user key")
	}
	l := limits.For(s.Policy)
	groups, err := json.Marshal(s.Groups)
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	claims, err := json.Marshal(s.Claims)
	if err != nil {
		return nil, fmt.Errorf("create session: %w", err)
	}
	args := []any{r.nowArg(), s.ID, l.Idle.Milliseconds(), l.Absolute.Milliseconds(), opts.MaxSessions,
		r.opts.TombstoneTTL.Milliseconds()}
	// only fields with a value: every byte is kept once per live session
	for _, f := range [][2]string{{"sub", s.Subject}, {"name", s.Name}, {"email", s.Email}, {"groups", string(groups)},
		{"pol", s.Policy}, {"sid", s.IdPSessionID}, {"dev", s.Device}, {"ip", s.IP}, {"xc", string(claims)}} {
		if f[1] != "" && f[1] != "null" && f[1] != "{}" {
			args = append(args, f[0], f[1])
		}
	}
	res, err := r.create.Run(ctx, r.client,
		[]string{sessionKey(s.UserKey, s.ID), indexKey(s.UserKey), sessionPrefix(s.UserKey)}, args...).Slice()
	if err != nil {
		return nil, unavailable("create session", err)
	}
	now := time.UnixMilli(toInt(res[0]))
	s.CreatedAt, s.LastActivity = now, now
	var ended []string
	for _, v := range res[1:] {
		ended = append(ended, toString(v))
	}
	if err := r.indexIdPSession(ctx, s, l); err != nil {
		return ended, err
	}
	return ended, nil
}

// groupLimitArgs lists the group policies as script arguments: triples of
// name, idle ms, absolute ms.
func groupLimitArgs(limits LimitSet) []any {
	args := make([]any, 0, 3*len(limits.Groups))
	for name, l := range limits.Groups {
		args = append(args, name, l.Idle.Milliseconds(), l.Absolute.Milliseconds())
	}
	return args
}

// Check implements Store.
func (r *RedisStore) Check(ctx context.Context, ref Ref, limits LimitSet, activity bool) (CheckResult, error) {
	if !validUserKey(ref.UserKey) {
		return CheckResult{Reason: ReasonEnded, Now: time.Now()}, nil
	}
	act := "0"
	if activity {
		act = "1"
	}
	args := []any{r.nowArg(), act, ref.ID, limits.Default.Idle.Milliseconds(), limits.Default.Absolute.Milliseconds(),
		r.opts.TombstoneTTL.Milliseconds(), ref.CreatedAt}
	own := limits.For(ref.Policy)
	args = append(args, own.Idle.Milliseconds(), own.Absolute.Milliseconds(), ref.Subject)
	args = append(args, groupLimitArgs(limits)...)
	res, err := r.check.Run(ctx, r.client, []string{sessionKey(ref.UserKey, ref.ID), indexKey(ref.UserKey)}, args...).Slice()
	if err != nil {
		return CheckResult{}, unavailable("check session", err)
	}
	out := CheckResult{Now: time.UnixMilli(toInt(res[0]))}
	switch toString(res[1]) {
	case "V":
		la, idleAt, absAt := toInt(res[2]), toInt(res[3]), toInt(res[4])
		s := &Session{
			ID: ref.ID, UserKey: ref.UserKey,
			Subject: toString(res[5]), Name: toString(res[6]), Email: toString(res[7]),
			IdPSessionID: toString(res[9]), Policy: toString(res[10]),
			CreatedAt: time.UnixMilli(toInt(res[11])), LastActivity: time.UnixMilli(la),
		}
		if g := toString(res[8]); g != "" && g != "null" {
			if err := json.Unmarshal([]byte(g), &s.Groups); err != nil {
				return CheckResult{}, fmt.Errorf("check session: corrupt groups: %w", err)
			}
		}
		if err := unmarshalClaims(toString(res[12]), s); err != nil {
			return CheckResult{}, fmt.Errorf("check session: %w", err)
		}
		out.Valid, out.Session = true, s
		out.IdleDeadline = time.UnixMilli(idleAt)
		if absAt > 0 {
			out.AbsoluteDeadline = time.UnixMilli(absAt)
		}
	default: // "X" (this check found the end) or "E" (ended earlier)
		out.Ended = toString(res[1]) == "X"
		if out.Ended && len(res) > 3 {
			out.Subject = toString(res[3])
		}
		out.Reason = Reason(toString(res[2]))
		if !out.Reason.Valid() {
			out.Reason = ReasonEnded
		}
	}
	return out, nil
}

// Get implements Store.
func (r *RedisStore) Get(ctx context.Context, ref Ref) (*Session, error) {
	if !validUserKey(ref.UserKey) {
		return nil, nil
	}
	m, err := r.client.HGetAll(ctx, sessionKey(ref.UserKey, ref.ID)).Result()
	if err != nil {
		return nil, unavailable("get session", err)
	}
	if m["ca"] == "" || m["end"] != "" {
		return nil, nil
	}
	s, err := sessionFromFields(ref.ID, ref.UserKey, m)
	if err != nil {
		return nil, fmt.Errorf("get session: %w", err)
	}
	return s, nil
}

func sessionFromFields(id, userKey string, m map[string]string) (*Session, error) {
	ca, _ := strconv.ParseInt(m["ca"], 10, 64)
	la, _ := strconv.ParseInt(m["la"], 10, 64)
	s := &Session{
		ID: id, UserKey: userKey, Subject: m["sub"], Name: m["name"], Email: m["email"],
		Policy: m["pol"], IdPSessionID: m["sid"], Device: m["dev"], IP: m["ip"],
		CreatedAt: time.UnixMilli(ca), LastActivity: time.UnixMilli(la),
	}
	if g := m["groups"]; g != "" && g != "null" {
		if err := json.Unmarshal([]byte(g), &s.Groups); err != nil {
			return nil, fmt.Errorf("corrupt groups: %w", err)
		}
	}
	if err := unmarshalClaims(m["xc"], s); err != nil {
		return nil, err
	}
	return s, nil
}

// End implements Store.
func (r *RedisStore) End(ctx context.Context, ref Ref, reason Reason) error {
	if !validUserKey(ref.UserKey) {
		return nil
	}
	err := r.end.Run(ctx, r.client, []string{sessionKey(ref.UserKey, ref.ID), indexKey(ref.UserKey)},
		ref.ID, string(reason), r.opts.TombstoneTTL.Milliseconds()).Err()
	if err != nil {
		return unavailable("end session", err)
	}
	return nil
}

// List implements Store.
func (r *RedisStore) List(ctx context.Context, userKey string, limits LimitSet) ([]*Session, error) {
	if !validUserKey(userKey) {
		return nil, nil
	}
	res, err := r.list.Run(ctx, r.client, []string{indexKey(userKey), sessionPrefix(userKey)}, r.nowArg()).Slice()
	if err != nil {
		return nil, unavailable("list sessions", err)
	}
	now := time.UnixMilli(toInt(res[0]))
	names := []string{"ca", "la", "pol", "sub", "name", "email", "groups", "sid", "dev", "ip"}
	var out []*Session
	for i := 1; i+1 < len(res); i += 2 {
		vals, _ := res[i+1].([]any)
		m := make(map[string]string, len(names))
		for j, n := range names {
			if j < len(vals) {
				m[n] = toString(vals[j])
			}
		}
		s, err := sessionFromFields(toString(res[i]), userKey, m)
		if err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		if valid, _ := Evaluate(s.CreatedAt, s.LastActivity, limits.For(s.Policy), now); valid {
			out = append(out, s)
		}
	}
	return out, nil
}

func unmarshalClaims(raw string, s *Session) error {
	if raw == "" || raw == "null" {
		return nil
	}
	if err := json.Unmarshal([]byte(raw), &s.Claims); err != nil {
		return fmt.Errorf("corrupt claims: %w", err)
	}
	return nil
}

// Close implements Store; the client belongs to the caller and stays open.
func (r *RedisStore) Close() error { return nil }

// Ping reports whether Redis answers.
func (r *RedisStore) Ping(ctx context.Context) error {
	if err := r.client.Ping(ctx).Err(); err != nil {
		return unavailable("ping", err)
	}
	return nil
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

// IsUnavailable reports whether err means the store could not be reached.
func IsUnavailable(err error) bool { return errors.Is(err, ErrUnavailable) }
