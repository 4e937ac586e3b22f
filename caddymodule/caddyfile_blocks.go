package caddymodule

import (
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/sessiongate/sessiongate/config"
)

// parsePolicy reads `policy <group> { idle_timeout … absolute_timeout … }`.
func (h *Handler) parsePolicy(d *caddyfile.Dispenser) error {
	if !d.NextArg() {
		return d.Errf("policy: a group name is required: policy <group> { idle_timeout … }")
	}
	group := d.Val()
	if d.NextArg() {
		return d.Errf("policy: takes one group name, then a block")
	}
	if _, dup := h.GroupPolicies[group]; dup {
		return d.Errf("policy: group %q has two policy blocks", group)
	}
	var p config.GroupPolicy
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		v, err := singleArg(d)
		if err != nil {
			return err
		}
		dur, err := config.ParseDuration(v)
		if err != nil {
			return d.Errf("policy %s: %s: %v", group, opt, err)
		}
		switch opt {
		case "idle_timeout":
			p.IdleTimeout = config.Duration(dur)
		case "absolute_timeout":
			p.AbsoluteTimeout = config.Duration(dur)
		default:
			return d.Errf("policy %s: unknown option %q (idle_timeout, absolute_timeout)", group, opt)
		}
	}
	if h.GroupPolicies == nil {
		h.GroupPolicies = map[string]config.GroupPolicy{}
	}
	h.GroupPolicies[group] = p
	return nil
}

// parseStore reads `store memory` or
// `store redis <url> [{ min_replicas <n>; local_cache on|off }]`.
func (h *Handler) parseStore(d *caddyfile.Dispenser) error {
	args := d.RemainingArgs()
	switch {
	case len(args) == 1 && args[0] == config.StoreMemory:
		h.Store = config.StoreConfig{Kind: config.StoreMemory}
	case len(args) == 2 && args[0] == config.StoreRedis:
		h.Store = config.StoreConfig{Kind: config.StoreRedis, URL: args[1]}
	default:
		return d.Errf("store: want 'memory' or 'redis <url>', got %q", strings.Join(args, " "))
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if h.Store.Kind != config.StoreRedis {
			return d.Errf("store: unknown option %q (store memory takes none)", opt)
		}
		switch opt {
		case "min_replicas":
			v, err := singleArg(d)
			if err != nil {
				return err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return d.Errf("store: min_replicas: %q is not a whole number of replicas (0 turns the guard off)", v)
			}
			h.Store.MinReplicas = &n
		case "local_cache":
			on, err := onOff(d, true)
			if err != nil {
				return err
			}
			h.Store.LocalCache = &on
		default:
			return d.Errf("store: unknown option %q (store redis <url> takes min_replicas, local_cache)", opt)
		}
	}
	return nil
}

// onOff reads an optional on/off argument; a bare option means bare (on).
func onOff(d *caddyfile.Dispenser, bare bool) (bool, error) {
	opt := d.Val()
	if !d.NextArg() {
		return bare, nil
	}
	v := d.Val()
	if d.NextArg() {
		return false, d.Errf("%s: takes on or off", opt)
	}
	switch v {
	case "on", "true":
		return true, nil
	case "off", "false":
		return false, nil
	}
	return false, d.Errf("%s: %q is not on or off", opt, v)
}

func isPlaceholder(v string) bool { return strings.Contains(v, "{") && strings.Contains(v, "}") }

func singleArg(d *caddyfile.Dispenser) (string, error) {
	opt := d.Val()
	if !d.NextArg() {
		return "", d.Errf("%s: a value is required", opt)
	}
	v := d.Val()
	if d.NextArg() {
		return "", d.Errf("%s: takes one value, got more", opt)
	}
	return v, nil
}
