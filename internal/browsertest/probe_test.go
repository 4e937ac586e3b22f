package browsertest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

type hit struct {
	at                     time.Duration
	path                   string
	site, mode, dest, user string
}

// TestProbeFetchMetadata measures the Fetch Metadata of every self-refresh
// mechanism in the top window, frames and iframes, before and after a click
// (the table in docs/activity.md) and checks the fact the activity rule rests
// on: no self-refresh is ever Sec-Fetch-Site: none. About 4 minutes, so only
// with PROBE=1 (go test -run Probe -v ./internal/browsertest); the
// activity matrix in caddymodule covers the product's behaviour in make test.
func TestProbeFetchMetadata(t *testing.T) {
	if os.Getenv("PROBE") == "" {
		t.Skip("set PROBE=1 to measure (about 4 minutes)")
	}
	var mu sync.Mutex
	var hits []hit
	start := time.Now()
	mechs := map[string]struct {
		head, body string
		hdr        string
	}{
		"refresh-hdr":       {hdr: "1"},
		"refresh-hdr-other": {hdr: "1; url=?x"},
		"meta":              {head: `<meta http-equiv="refresh" content="1">`},
		"meta-other":        {head: `<meta http-equiv="refresh" content="1;url=?x">`},
		"reload":            {body: `<script>setTimeout(function(){location.reload()},1000)</script>`},
		"href":              {body: `<script>setTimeout(function(){location.href="?x"+Date.now()},1000)</script>`},
		"submit":            {body: `<form id=f action="?sub"><input name=a value=1></form><script>setTimeout(function(){document.getElementById("f").submit()},1000)</script>`},
		"submit-post":       {body: `<form id=f method=post action="?subp"><input name=a value=1></form><script>setTimeout(function(){document.getElementById("f").submit()},1000)</script>`},
		"historygo":         {body: `<script>setTimeout(function(){history.go(0)},1000)</script>`},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		hits = append(hits, hit{time.Since(start), r.Method + " " + r.URL.RequestURI(), r.Header.Get("Sec-Fetch-Site"), r.Header.Get("Sec-Fetch-Mode"), r.Header.Get("Sec-Fetch-Dest"), r.Header.Get("Sec-Fetch-User")})
		mu.Unlock()
		p := r.URL.Path
		w.Header().Set("Content-Type", "text/html")
		switch {
		case strings.HasPrefix(p, "/fs/"): // frameset: nav + main
			m := strings.TrimPrefix(p, "/fs/")
			fmt.Fprintf(w, `<frameset cols="30%%,70%%"><frame name=nav src="/nav/%s"><frame name=main src="/blank"></frameset>`, m)
		case strings.HasPrefix(p, "/fsdirect/"):
			m := strings.TrimPrefix(p, "/fsdirect/")
			fmt.Fprintf(w, `<frameset cols="30%%,70%%"><frame name=nav src="/blank"><frame name=main src="/p/%s"></frameset>`, m)
		case strings.HasPrefix(p, "/if/"):
			m := strings.TrimPrefix(p, "/if/")
			fmt.Fprintf(w, `<html><body><a id=l href="/p/%s" target=ifr>open</a><iframe name=ifr src="/blank" width=600 height=400></iframe></body></html>`, m)
		case strings.HasPrefix(p, "/ifdirect/"):
			m := strings.TrimPrefix(p, "/ifdirect/")
			fmt.Fprintf(w, `<html><body><iframe name=ifr src="/p/%s" width=600 height=400></iframe></body></html>`, m)
		case strings.HasPrefix(p, "/nav/"):
			m := strings.TrimPrefix(p, "/nav/")
			fmt.Fprintf(w, `<html><body><a id=l href="/p/%s" target=main style="font-size:40px">open</a></body></html>`, m)
		case strings.HasPrefix(p, "/p/"):
			m := mechs[strings.TrimPrefix(p, "/p/")]
			if m.hdr != "" {
				w.Header().Set("Refresh", m.hdr)
			}
			fmt.Fprintf(w, `<html><head>%s</head><body><p id=t style="font-size:40px">text</p><a id=self href="%s" style="font-size:40px">self</a>%s</body></html>`, m.head, p, m.body)
		default:
			fmt.Fprint(w, `<html><body>blank</body></html>`)
		}
	}))
	defer srv.Close()
	ctx := New(t)
	clickID := func(sel string) {
		xy := Eval[[]float64](t, ctx, `(function(){var e=`+sel+`.getBoundingClientRect();return [e.x+e.width/2,e.y+e.height/2]})()`)
		Run(t, ctx, chromedp.MouseClickXY(xy[0], xy[1]))
	}
	names := make([]string, 0, len(mechs))
	for k := range mechs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, m := range names {
		for _, variant := range []string{"top", "top-click", "frame-direct", "frame-direct-click", "frame-link", "iframe-direct", "iframe-link"} {
			mu.Lock()
			hits = nil
			mu.Unlock()
			switch variant {
			case "top", "top-click":
				Run(t, ctx, chromedp.Navigate(srv.URL+"/p/"+m))
				if variant == "top-click" {
					time.Sleep(200 * time.Millisecond)
					clickID(`document.getElementById("t")`)
				}
			case "frame-direct", "frame-direct-click":
				Run(t, ctx, chromedp.Navigate(srv.URL+"/fsdirect/"+m))
				if variant == "frame-direct-click" {
					time.Sleep(300 * time.Millisecond)
					// click inside the main frame's text
					xy := Eval[[]float64](t, ctx, `(function(){var f=document.getElementsByTagName("frame")[1];var fr=f.getBoundingClientRect();var e=f.contentDocument.getElementById("t").getBoundingClientRect();return [fr.x+e.x+e.width/2,fr.y+e.y+e.height/2]})()`)
					Run(t, ctx, chromedp.MouseClickXY(xy[0], xy[1]))
				}
			case "frame-link":
				Run(t, ctx, chromedp.Navigate(srv.URL+"/fs/"+m))
				time.Sleep(300 * time.Millisecond)
				xy := Eval[[]float64](t, ctx, `(function(){var f=document.getElementsByTagName("frame")[0];var fr=f.getBoundingClientRect();var e=f.contentDocument.getElementById("l").getBoundingClientRect();return [fr.x+e.x+e.width/2,fr.y+e.y+e.height/2]})()`)
				Run(t, ctx, chromedp.MouseClickXY(xy[0], xy[1]))
			case "iframe-direct":
				Run(t, ctx, chromedp.Navigate(srv.URL+"/ifdirect/"+m))
			case "iframe-link":
				Run(t, ctx, chromedp.Navigate(srv.URL+"/if/"+m))
				time.Sleep(200 * time.Millisecond)
				clickID(`document.getElementById("l")`)
			}
			time.Sleep(3500 * time.Millisecond)
			mu.Lock()
			var b strings.Builder
			for i, h := range hits {
				if i > 0 && h.site == "none" {
					t.Errorf("%s / %s: a self-refresh was sent as Sec-Fetch-Site: none: %+v", m, variant, h)
				}
				if strings.Contains(h.path, "/p/") || strings.Contains(h.path, "?") {
					fmt.Fprintf(&b, "  %5.1fs %-28s site=%-11s mode=%-8s dest=%-8s user=%s\n", h.at.Seconds(), h.path, h.site, h.mode, h.dest, h.user)
				}
			}
			mu.Unlock()
			t.Logf("%s / %s\n%s", m, variant, b.String())
			start = time.Now()
		}
	}
}
