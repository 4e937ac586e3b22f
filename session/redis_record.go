package session

import (
	"strconv"
	"strings"
	"time"
)

// record is a live session as the Redis store keeps it in its user's hash:
// "created|last-activity|policy groups|sid tag|device|ip", times in unix
// milliseconds, base 36 (see lua/limits.lua).
type record struct {
	created, lastActivity time.Time
	policyGroups, sidTag  string
	device, ip            string
}

// parseRecord reads a live record; tombstones and malformed values are not.
func parseRecord(v string) (record, bool) {
	parts := strings.SplitN(v, "|", 6)
	if len(parts) != 6 || v[0] == '!' || v[0] == '?' {
		return record{}, false
	}
	ca, err1 := strconv.ParseInt(parts[0], 36, 64)
	la, err2 := strconv.ParseInt(parts[1], 36, 64)
	if err1 != nil || err2 != nil {
		return record{}, false
	}
	return record{created: time.UnixMilli(ca), lastActivity: time.UnixMilli(la),
		policyGroups: parts[2], sidTag: parts[3], device: parts[4], ip: parts[5]}, true
}

// session returns the record as a Session (without display claims).
func (rec record) session(id, userKey, subject string) *Session {
	return &Session{ID: id, UserKey: userKey, Subject: subject, PolicyGroups: rec.policyGroups,
		CreatedAt: rec.created, LastActivity: rec.lastActivity, Device: rec.device, IP: rec.ip}
}

// live reports whether the record's session is within both deadlines at now.
func (rec record) live(limits LimitTable, now time.Time) bool {
	valid, _ := Evaluate(rec.created, rec.lastActivity, limits.For(rec.policyGroups), now)
	return valid
}
