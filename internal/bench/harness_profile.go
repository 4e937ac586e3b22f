package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// profile takes a CPU profile of the Caddy process during (b) at conns.
func (h *harness) profile(ctx context.Context, conns int) (*ProfileSummary, error) {
	file, err := withCPUProfile(func() error {
		return h.measure(ctx, &Point{}, h.spec(siteRedis, conns, h.env.cookie[siteRedis]))
	})
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	defer func() { _ = os.Remove(file) }()
	if h.cfg.ProfileDir != "" {
		if err := h.keepProfiles(ctx, conns, file); err != nil {
			return nil, err
		}
	}
	return summarizeProfile(ctx, h.cfg.GoBin, file)
}

// keepProfiles copies (b)'s profile to ProfileDir and takes those of (a)
// and (c) alongside.
func (h *harness) keepProfiles(ctx context.Context, conns int, siteB string) error {
	if err := os.MkdirAll(h.cfg.ProfileDir, 0o755); err != nil {
		return fmt.Errorf("profile dir: %w", err)
	}
	data, err := os.ReadFile(siteB)
	if err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	if err := os.WriteFile(filepath.Join(h.cfg.ProfileDir, siteRedis+".pprof"), data, 0o644); err != nil {
		return fmt.Errorf("profile: %w", err)
	}
	for _, site := range []string{siteProxy, siteMemory} {
		file, err := withCPUProfile(func() error {
			return h.measure(ctx, &Point{}, h.spec(site, conns, h.env.cookie[site]))
		})
		if err != nil {
			return fmt.Errorf("profile: %w", err)
		}
		err = os.Rename(file, filepath.Join(h.cfg.ProfileDir, site+".pprof"))
		if err != nil {
			return fmt.Errorf("profile: %w", err)
		}
	}
	h.logf("CPU profiles of (a), (b) and (c) kept in %s", h.cfg.ProfileDir)
	return nil
}
