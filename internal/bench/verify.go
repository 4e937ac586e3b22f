package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// verify checks once per site, with net/http, that each request of the sweep
// gets what it should: the app's page, with the banner on (d) only.
func (h *harness) verify(ctx context.Context) error {
	client := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer client.CloseIdleConnections()
	for _, s := range sites() {
		spec := h.spec(s.key, 1, h.env.cookie[s.key])
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.env.base[s.key]+pagePath, nil)
		if err != nil {
			return fmt.Errorf("verify (%s): %w", s.key, err)
		}
		for _, line := range strings.Split(spec.Request, "\r\n")[1:] {
			if k, v, ok := strings.Cut(line, ": "); ok && k != "Host" {
				req.Header.Set(k, v)
			}
		}
		resp, err := client.Do(req)
		if err != nil {
			return fmt.Errorf("verify (%s): %w", s.key, err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			return fmt.Errorf("verify (%s): %w", s.key, err)
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("verify (%s): status %s: %.300s", s.key, resp.Status, body)
		}
		injected := strings.Contains(string(body), "banner.js")
		if injected != (s.key == siteInject) {
			return fmt.Errorf("verify (%s): banner injected = %v", s.key, injected)
		}
		if !strings.Contains(string(body), "Waiting room") {
			return fmt.Errorf("verify (%s): not the app's page: %.300s", s.key, body)
		}
	}
	return nil
}
