package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/sessiongate/sessiongate/config"
	"github.com/sessiongate/sessiongate/session"
)

// OrgAbsoluteTimeout is the organization's absolute timer as a manager set
// it on the admin page; it is kept in the shared store so that every gateway
// node applies it.
type OrgAbsoluteTimeout struct {
	// Enabled turns the absolute timer on; off, sessions end only when idle
	// (or on sign-out).
	Enabled bool `json:"enabled"`
	// Absolute is the chosen absolute timeout, one of absolute_timeout_choices.
	Absolute config.Duration `json:"absolute"`
	// ChangedBy and ChangedAt say who set it and when.
	ChangedBy string    `json:"changed_by,omitempty"`
	ChangedAt time.Time `json:"changed_at"`
}

// orgTimeoutRefreshEvery is how often a node re-reads the organization's
// absolute timeout from the shared store: a change reaches every node within this time, and
// no request waits for the store because of it.
const orgTimeoutRefreshEvery = 2 * time.Second

// orgTimeoutCatchUp bounds how long a check waits for this node to re-read
// the organization's absolute timeout after the store announced a setting's
// change (currentLimits); normally one read from the local copy.
const orgTimeoutCatchUp = 500 * time.Millisecond

// limitsInForce is the limit table in force and the manager's choice it was
// built from, swapped atomically on change.
type limitsInForce struct {
	limits session.LimitTable
	org    *OrgAbsoluteTimeout // nil: the Caddyfile's absolute_timeout
	// version is the store's settings version the choice was read at
	// (settingsAnnouncer); replaced is closed when this is replaced
	version  uint64
	replaced chan struct{}
}

// orgSettingName is the shared-store setting that holds the
// OrgAbsoluteTimeout of this site's client (its name predates the type's).
func (g *Gateway) orgSettingName() string { return "org-policy:" + g.cfg.ClientID }

// buildLimits resolves the Caddyfile's timers and group policies with the
// organization's absolute timer (absolute 0 = none).
func buildLimits(cfg *config.Settings, org *OrgAbsoluteTimeout) session.LimitTable {
	abs := cfg.AbsoluteTimeout.Std()
	if org != nil {
		abs = 0
		if org.Enabled {
			abs = org.Absolute.Std()
		}
	}
	ls := session.LimitTable{Default: session.Limits{Idle: cfg.IdleTimeout.Std(), Absolute: abs}}
	for name := range cfg.GroupPolicies {
		idle, gabs := cfg.GroupLimits(name, abs)
		if ls.Groups == nil {
			ls.Groups = make(map[string]session.Limits, len(cfg.GroupPolicies))
		}
		ls.Groups[name] = session.Limits{Idle: idle, Absolute: gabs}
	}
	return ls
}

// limits returns the limit table in force.
func (g *Gateway) limits() session.LimitTable { return g.inForce.Load().limits }

// currentLimits returns the limit table for a session check. When the
// store answers checks from its local copy and has announced a setting's
// change this node has not re-read yet, it first waits for the re-read (at
// most orgTimeoutCatchUp): so a manager's lower absolute timeout applies to
// every check after it reached the node, not from the next re-read on.
func (g *Gateway) currentLimits(ctx context.Context) session.LimitTable {
	in := g.inForce.Load()
	announcer, ok := g.shared.(settingsAnnouncer)
	if !ok || g.cfg.AdminGroup == "" {
		return in.limits
	}
	want, _ := announcer.SettingsVersion()
	if in.version >= want || !announcer.ReadsLocally() {
		return in.limits
	}
	timer := time.NewTimer(orgTimeoutCatchUp)
	defer timer.Stop()
	for in.version < want {
		select {
		case <-in.replaced:
		case <-timer.C:
			return in.limits
		case <-ctx.Done():
			return in.limits
		}
		in = g.inForce.Load()
	}
	return in.limits
}

// putInForce makes in the limits in force.
func (g *Gateway) putInForce(in *limitsInForce) {
	in.replaced = make(chan struct{})
	if old := g.inForce.Swap(in); old != nil {
		close(old.replaced)
	}
}

// Limits returns the session limits in force: the configured policies with
// the organisation's runtime absolute timer applied.
func (g *Gateway) Limits() session.LimitTable { return g.limits() }

// orgAbsoluteTimeout returns the manager's choice in force, nil when a manager
// has not set one.
func (g *Gateway) orgAbsoluteTimeout() *OrgAbsoluteTimeout { return g.inForce.Load().org }

// applyOrgAbsoluteTimeout puts org (nil: the Caddyfile's absolute_timeout),
// read at the store's settings version, in force.
// A stored choice that the Caddyfile no longer offers is ignored.
func (g *Gateway) applyOrgAbsoluteTimeout(org *OrgAbsoluteTimeout, version uint64) {
	if org != nil && org.Enabled && !slices.Contains(g.cfg.AbsoluteTimeoutChoices, org.Absolute) {
		g.log.Warn("ignoring the stored organization absolute timeout: not among absolute_timeout_choices",
			zap.Stringer("absolute", org.Absolute))
		org = nil
	}
	g.putInForce(&limitsInForce{limits: buildLimits(g.cfg, org), org: org, version: version})
}

// loadOrgAbsoluteTimeout reads the manager's choice from the shared store.
func (g *Gateway) loadOrgAbsoluteTimeout(ctx context.Context) (*OrgAbsoluteTimeout, error) {
	raw, err := g.shared.Setting(ctx, g.orgSettingName())
	if err != nil || raw == "" {
		return nil, err
	}
	var org OrgAbsoluteTimeout
	if err := json.Unmarshal([]byte(raw), &org); err != nil {
		return nil, fmt.Errorf("organization absolute timeout: %w", err)
	}
	return &org, nil
}

// saveOrgAbsoluteTimeout stores a manager's choice and applies it on this node at once.
func (g *Gateway) saveOrgAbsoluteTimeout(ctx context.Context, org OrgAbsoluteTimeout) error {
	raw, err := json.Marshal(org)
	if err != nil {
		return err
	}
	g.orgMu.Lock()
	defer g.orgMu.Unlock()
	if err := g.shared.SetSetting(ctx, g.orgSettingName(), string(raw)); err != nil {
		return err
	}
	g.applyOrgAbsoluteTimeout(&org, g.inForce.Load().version)
	return nil
}

// followOrgAbsoluteTimeout follows the manager's choice in the shared store
// until ctx is done: every orgTimeoutRefreshEvery, and at once when a store
// with a local copy says a setting may have changed on any node (so a
// manager's change reaches every node within the invalidation latency).
func (g *Gateway) followOrgAbsoluteTimeout(ctx context.Context) {
	announcer, _ := g.shared.(settingsAnnouncer)
	t := time.NewTicker(orgTimeoutRefreshEvery)
	defer t.Stop()
	var last string
	var warnedAt time.Time
	for {
		var changed <-chan struct{}
		var version uint64
		if announcer != nil {
			version, changed = announcer.SettingsVersion() // before the read: a change after it wakes the next wait
		}
		g.orgMu.Lock() // a save on this node comes wholly before or after this read and apply
		loadCtx, cancel := context.WithTimeout(ctx, orgTimeoutRefreshEvery)
		org, err := g.loadOrgAbsoluteTimeout(loadCtx)
		cancel()
		switch key := orgTimeoutKey(org); {
		case err != nil:
			if time.Since(warnedAt) >= orgTimeoutRefreshEvery {
				warnedAt = time.Now()
				g.log.Warn("cannot read the organization's absolute timeout; keeping the one in force", zap.Error(err))
			}
		case key != last:
			last = key
			g.applyOrgAbsoluteTimeout(org, version)
		default: // the same choice, read at this version
			in := *g.inForce.Load()
			in.version = version
			g.putInForce(&in)
		}
		g.orgMu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-changed: // nil without a local copy: never
		}
	}
}

// settingsAnnouncer is a store that tells when a shared setting may have
// changed (the Redis store's local copy, see session.RedisStore's
// SettingsVersion) and whether it answers checks from its copy now.
type settingsAnnouncer interface {
	SettingsVersion() (uint64, <-chan struct{})
	ReadsLocally() bool
}

func orgTimeoutKey(org *OrgAbsoluteTimeout) string {
	if org == nil {
		return ""
	}
	return fmt.Sprintf("%t/%d/%s/%d", org.Enabled, org.Absolute, org.ChangedBy, org.ChangedAt.UnixNano())
}

// policyGroupsOf names the group policies that apply to a user's groups.
func (g *Gateway) policyGroupsOf(groups []string) string {
	return strings.Join(g.cfg.PolicyNames(groups), ",")
}
