package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/sessiongate/sessiongate/config"
	"github.com/sessiongate/sessiongate/session"
)

// OrgPolicy is the organization's absolute timer as a manager set it on the
// admin page; it is kept in the shared store so that every gateway node
// applies it.
type OrgPolicy struct {
	// Enabled turns the absolute timer on; off, sessions end only when idle
	// (or on sign-out).
	Enabled bool `json:"enabled"`
	// Absolute is the chosen absolute timeout, one of absolute_timeout_choices.
	Absolute config.Duration `json:"absolute"`
	// ChangedBy and ChangedAt say who set it and when.
	ChangedBy string    `json:"changed_by,omitempty"`
	ChangedAt time.Time `json:"changed_at"`
}

// policyRefreshEvery is how often a node re-reads the organization policy
// from the shared store: a change reaches every node within this time, and
// no request waits for the store because of it.
const policyRefreshEvery = 2 * time.Second

// policyState is the policy in force, swapped atomically on change.
type policyState struct {
	limits session.LimitSet
	org    *OrgPolicy // nil: the Caddyfile's absolute_timeout
}

// orgSettingName is the shared-store setting that holds the OrgPolicy of
// this site's client.
func (g *Gateway) orgSettingName() string { return "org-policy:" + g.cfg.ClientID }

// buildLimits resolves the Caddyfile's timers and group policies with the
// organization's absolute timer (absolute 0 = none).
func buildLimits(cfg *config.Settings, org *OrgPolicy) session.LimitSet {
	abs := cfg.AbsoluteTimeout.Std()
	if org != nil {
		abs = 0
		if org.Enabled {
			abs = org.Absolute.Std()
		}
	}
	ls := session.LimitSet{Default: session.Limits{Idle: cfg.IdleTimeout.Std(), Absolute: abs}}
	for name := range cfg.Policies {
		idle, gabs := cfg.GroupLimits(name, abs)
		if ls.Groups == nil {
			ls.Groups = make(map[string]session.Limits, len(cfg.Policies))
		}
		ls.Groups[name] = session.Limits{Idle: idle, Absolute: gabs}
	}
	return ls
}

// limits returns the policy in force.
func (g *Gateway) limits() session.LimitSet { return g.policy.Load().limits }

// Limits returns the session limits in force: the configured policies with
// the organisation's runtime absolute timer applied.
func (g *Gateway) Limits() session.LimitSet { return g.limits() }

// orgPolicy returns the organization policy in force, nil when a manager
// has not set one.
func (g *Gateway) orgPolicy() *OrgPolicy { return g.policy.Load().org }

// applyOrgPolicy installs org (nil: the Caddyfile's) as the policy in force.
// A stored choice that the Caddyfile no longer offers is ignored.
func (g *Gateway) applyOrgPolicy(org *OrgPolicy) {
	if org != nil && org.Enabled && !slices.Contains(g.cfg.AbsoluteTimeoutChoices, org.Absolute) {
		g.log.Warn("ignoring the stored organization absolute timeout: not among absolute_timeout_choices",
			zap.Stringer("absolute", org.Absolute))
		org = nil
	}
	g.policy.Store(&policyState{limits: buildLimits(g.cfg, org), org: org})
}

// loadOrgPolicy reads the organization policy from the shared store.
func (g *Gateway) loadOrgPolicy(ctx context.Context) (*OrgPolicy, error) {
	raw, err := g.store.Setting(ctx, g.orgSettingName())
	if err != nil || raw == "" {
		return nil, err
	}
	var org OrgPolicy
	if err := json.Unmarshal([]byte(raw), &org); err != nil {
		return nil, fmt.Errorf("organization policy: %w", err)
	}
	return &org, nil
}

// saveOrgPolicy stores a manager's choice and applies it on this node at once.
func (g *Gateway) saveOrgPolicy(ctx context.Context, org OrgPolicy) error {
	raw, err := json.Marshal(org)
	if err != nil {
		return err
	}
	if err := g.store.SetSetting(ctx, g.orgSettingName(), string(raw)); err != nil {
		return err
	}
	g.applyOrgPolicy(&org)
	return nil
}

// refreshPolicy follows the shared organization policy until ctx is done.
func (g *Gateway) refreshPolicy(ctx context.Context) {
	t := time.NewTicker(policyRefreshEvery)
	defer t.Stop()
	var last string
	for {
		loadCtx, cancel := context.WithTimeout(ctx, policyRefreshEvery)
		org, err := g.loadOrgPolicy(loadCtx)
		cancel()
		if err != nil {
			g.log.Warn("cannot read the organization policy; keeping the one in force", zap.Error(err))
		} else if key := policyKey(org); key != last {
			last = key
			g.applyOrgPolicy(org)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func policyKey(org *OrgPolicy) string {
	if org == nil {
		return ""
	}
	return fmt.Sprintf("%t/%d/%s/%d", org.Enabled, org.Absolute, org.ChangedBy, org.ChangedAt.UnixNano())
}

// sessionPolicy names the group policies that apply to a user's groups.
func (g *Gateway) sessionPolicy(groups []string) string {
	return strings.Join(g.cfg.PolicyNames(groups), ",")
}

// policyHolder is embedded in Gateway.
type policyHolder struct {
	policy atomic.Pointer[policyState]
}
