package config

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// validatePolicies checks max_sessions, groups_claim, the group policies,
// admin_group and absolute_timeout_choices.
func (s *Settings) validatePolicies() error {
	if s.MaxSessions < 0 || s.MaxSessions > MaxSessionsLimit {
		return optionErrorf("max_sessions", "%d must be between 0 (unlimited) and %d", s.MaxSessions, MaxSessionsLimit)
	}
	if strings.TrimSpace(s.GroupsClaim) == "" {
		return optionErrorf("groups_claim", "must not be empty")
	}
	for _, name := range slices.Sorted(maps.Keys(s.GroupPolicies)) {
		if err := validGroupName(name); err != nil {
			return optionErrorf("policy", "%w", err)
		}
		p := s.GroupPolicies[name]
		if p.IdleTimeout < 0 || p.AbsoluteTimeout < 0 {
			return optionErrorf("policy", "%s: timeouts must be positive", name)
		}
		if p.IdleTimeout == 0 && p.AbsoluteTimeout == 0 {
			return optionErrorf("policy", "%s sets neither idle_timeout nor absolute_timeout", name)
		}
		idle, abs := s.GroupLimits(name, s.AbsoluteTimeout.Std())
		if idle <= s.WarnBefore.Std() {
			return optionErrorf("policy", "%s: idle_timeout %s must be longer than warn_before %s", name, Duration(idle), s.WarnBefore)
		}
		if idle > abs {
			return optionErrorf("policy", "%s: idle_timeout %s is longer than its absolute_timeout %s", name, Duration(idle), Duration(abs))
		}
		if abs <= s.AbsoluteWarnBefore.Std() {
			return optionErrorf("policy", "%s: absolute_timeout %s must be longer than absolute_warn_before %s", name, Duration(abs), s.AbsoluteWarnBefore)
		}
	}
	if s.AdminGroup != "" {
		if err := validGroupName(s.AdminGroup); err != nil {
			return optionErrorf("admin_group", "%w", err)
		}
	}
	if len(s.AbsoluteTimeoutChoices) > 0 && s.AdminGroup == "" {
		return optionErrorf("absolute_timeout_choices", "only used with admin_group (who may choose?)")
	}
	for _, c := range s.AbsoluteTimeoutChoices {
		if c < s.IdleTimeout || c <= s.AbsoluteWarnBefore {
			return optionErrorf("absolute_timeout_choices", "%s must be at least idle_timeout %s and longer than absolute_warn_before %s", c, s.IdleTimeout, s.AbsoluteWarnBefore)
		}
	}
	return nil
}

// GroupLimits resolves a group policy's timers: the policy's own, or the
// site's idle timeout and the given absolute timeout (the organization's,
// which a manager may change at runtime) where it sets none.
func (s *Settings) GroupLimits(group string, siteAbsolute time.Duration) (idle, absolute time.Duration) {
	p := s.GroupPolicies[group]
	idle, absolute = p.IdleTimeout.Std(), p.AbsoluteTimeout.Std()
	if idle == 0 {
		idle = s.IdleTimeout.Std()
	}
	if absolute == 0 {
		absolute = siteAbsolute
	}
	return idle, absolute
}

// PolicyNames returns the group policies that apply to a user in groups, sorted.
func (s *Settings) PolicyNames(groups []string) []string {
	var out []string
	for _, g := range groups {
		if _, ok := s.GroupPolicies[g]; ok && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	slices.Sort(out)
	return out
}

// IsAdmin reports whether a user in groups may use the admin page.
func (s *Settings) IsAdmin(groups []string) bool {
	return s.AdminGroup != "" && slices.Contains(groups, s.AdminGroup)
}

// validGroupName rejects names that cannot be stored in a session's
// comma-separated list of group policies.
func validGroupName(name string) error {
	if name == "" || strings.ContainsAny(name, ", \t\r\n") || len(name) > 256 {
		return fmt.Errorf("%q is not a usable group name (no commas or spaces, at most 256 bytes)", name)
	}
	return nil
}

func containsDuration(list []Duration, d Duration) bool { return slices.Contains(list, d) }
