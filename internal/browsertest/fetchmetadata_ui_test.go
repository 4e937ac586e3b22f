package browsertest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestChromiumFetchMetadataOfBrowserActions pins the Chromium behaviour the
// activity rule rests on (docs/activity.md): only navigations started in the
// browser's interface carry Sec-Fetch-Site: none with Sec-Fetch-User: ?1; a
// script's reload or history.go(0) is same-origin; history traversal replays
// the entry's original headers. A Chromium that changes this fails here.
func TestChromiumFetchMetadataOfBrowserActions(t *testing.T) {
	var mu sync.Mutex
	var log []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/favicon.ico" {
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		log = append(log, fmt.Sprintf("%s site=%s dest=%s user=%s", r.URL.Path, r.Header.Get("Sec-Fetch-Site"),
			r.Header.Get("Sec-Fetch-Dest"), r.Header.Get("Sec-Fetch-User")))
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, `<html><body><a id=l href="/b" style="font-size:40px">b</a> %s</body></html>`, r.URL.Path)
	}))
	defer srv.Close()
	ctx := New(t)
	evalAction := func(js string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(c context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](js)(c, tg)
			return err
		})
	}
	for _, step := range []struct {
		name   string
		action chromedp.Action[chromedp.Void]
		want   string // the request the step must make
		cached bool   // or none: the page may come from the back/forward cache
	}{
		{"address bar", chromedp.Navigate(srv.URL + "/a"), "/a site=none dest=document user=?1", false},
		{"link click", chromedp.Click(chromedp.CSS("#l")), "/b site=same-origin dest=document user=?1", false},
		{"reload button", chromedp.Reload(), "/b site=same-origin dest=document user=?1", false},
		{"script reload", evalAction(`setTimeout(function(){location.reload()},50),true`), "/b site=same-origin dest=document user=", false},
		{"script history.go(0)", evalAction(`setTimeout(function(){history.go(0)},50),true`), "/b site=same-origin dest=document user=", false},
		{"back button to a typed entry", historyStep(-1), "/a site=none dest=document user=?1", true},
		{"forward button to a clicked entry", historyStep(+1), "/b site=same-origin dest=document user=", true},
		{"typed with a link transition", chromedp.Func(func(c context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(c, tg, page.Navigate, page.NavigateParams{URL: srv.URL + "/c", TransitionType: page.TransitionTypeLink})
			return err
		}), "/c site=none dest=document user=", false},
	} {
		mu.Lock()
		log = nil
		mu.Unlock()
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := chromedp.Do(sctx, step.action)
		cancel()
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			got := strings.Join(log, " | ")
			mu.Unlock()
			path, _, _ := strings.Cut(step.want, " ")
			if got == "" && step.cached && Eval[bool](t, ctx, `location.pathname===`+strconv.Quote(path)+`&&document.readyState==="complete"`) &&
				time.Until(deadline) < 3*time.Second {
				t.Logf("%s: restored from the back/forward cache (no request)", step.name)
				break
			}
			if got == step.want {
				WaitJS(t, ctx, `location.pathname===`+strconv.Quote(path)+`&&document.readyState==="complete"`, 5*time.Second, step.name+" to load")
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: Chromium sent %q, want %q", step.name, got, step.want)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// historyStep goes back (-1) or forward (+1) as the browser's buttons do,
// without waiting for a load event (a page restored from the back/forward
// cache fires none).
func historyStep(delta int64) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(c context.Context, tg *chromedp.Target) error {
		h, err := cdp.Call(c, tg, page.GetNavigationHistory, cdp.Empty{})
		if err != nil {
			return err
		}
		i := h.CurrentIndex + delta
		if i < 0 || i >= int64(len(h.Entries)) {
			return fmt.Errorf("no history entry at %d", i)
		}
		_, err = cdp.Call(c, tg, page.NavigateToHistoryEntry, page.NavigateToHistoryEntryParams{EntryID: h.Entries[i].ID})
		return err
	})
}
