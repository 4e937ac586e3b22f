package session

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

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
		if IsSentinelURL(rawURL) {
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

// IsSentinelURL tells whether a redis:// or rediss:// URL names a Sentinel
// set (it has master_name=) rather than a single server.
func IsSentinelURL(rawURL string) bool {
	scheme, rest, _ := strings.Cut(rawURL, "://")
	return (scheme == "redis" || scheme == "rediss") && strings.Contains(rest, "master_name=")
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
