package gateway

import "net/http"

// handleBannerJS serves the banner script; a request naming the current
// version (?v=) may be cached for a year.
func (g *Gateway) handleBannerJS(w http.ResponseWriter, r *http.Request) error {
	if ok, err := g.allowMethods(w, r, http.MethodGet, http.MethodHead); !ok {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "text/javascript; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", `"`+g.banner.Version+`"`)
	if r.URL.Query().Get("v") == g.banner.Version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if r.Header.Get("If-None-Match") == `"`+g.banner.Version+`"` {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	if r.Method == http.MethodHead {
		return nil
	}
	_, _ = w.Write(g.banner.JS)
	return nil
}

// BannerSrc is the injected script's src, with its content hash.
func (g *Gateway) BannerSrc() string {
	return g.endpoint("banner.js") + "?v=" + g.banner.Version
}
