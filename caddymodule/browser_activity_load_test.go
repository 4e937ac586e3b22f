package caddymodule_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// TestActivityUnderLoad: three devices used in parallel — a key pressed every
// second, a link clicked every three seconds, for three idle periods — on a
// machine kept busy by spinning goroutines: no device is signed out, and
// each one's idle deadline follows its latest action.
func TestActivityUnderLoad(t *testing.T) {
	st, browser := matrix(t)
	base := st.sites["act"]
	stop := make(chan struct{})
	var spin sync.WaitGroup
	for range runtime.NumCPU() {
		spin.Add(1)
		go func() {
			defer spin.Done()
			for x := 0; ; x++ {
				select {
				case <-stop:
					return
				default:
					_ = x * x
				}
			}
		}()
	}
	defer func() { close(stop); spin.Wait() }()
	var wg sync.WaitGroup
	errs := make(chan string, 3)
	for d := range 3 {
		ctx := isolatedTab(t, browser)
		browserSignIn(t, ctx, base, "/person")
		wg.Add(1)
		go func() {
			defer wg.Done()
			end := time.Now().Add(3 * matrixIdle)
			for i := 1; time.Now().Before(end); i++ {
				time.Sleep(time.Second)
				tctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				var err error
				if i%3 == 0 {
					err = chromedp.Do(tctx, chromedp.Click(chromedp.CSS("#l")))
				} else {
					err = chromedp.Do(tctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 50, float64(400+i)), chromedp.KeyEvent("k"))
				}
				loc, _ := chromedp.Run(tctx, chromedp.Location())
				cancel()
				if strings.Contains(loc, "/.sessiongate/") {
					errs <- fmt.Sprintf("device %d was signed out after %d actions (at %s)", d, i, loc)
					return
				}
				if err != nil && i%3 != 0 {
					errs <- fmt.Sprintf("device %d: %v", d, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// TestActivityNagiosFrameRefreshingEvery10s is the case that was reported:
// a status board sending `Refresh: 10`, opened in a frameset frame by a click
// (so its refreshes inherit the click's user activation), on a site with a
// 25 s idle limit: the session still ends on time, with one warning drawn,
// and the whole window leaves for the signed-out page.
func TestActivityNagiosFrameRefreshingEvery10s(t *testing.T) {
	const idle = 25 * time.Second
	st := startStack(t, site{name: "nagios", extra: fmt.Sprintf("idle_timeout %s\n\t\twarn_before 10s", idle)})
	ctx := newChrome(t)
	base := st.sites["nagios"]
	browserSignIn(t, ctx, base, "/nagios")
	clickAt(t, ctx, `document.getElementsByName("nav")[0]`, "#l")
	last := time.Now()
	w := watch(ctx, last, idle+12*time.Second)
	if !w.left() {
		t.Fatalf("still signed in %v after the click (at %s, idle deadline %v after the click)", idle+12*time.Second, w.path,
			w.latestEnd.Sub(last).Round(time.Millisecond))
	}
	if ext := w.latestEnd.Sub(last) - idle; ext > 800*time.Millisecond {
		t.Errorf("the idle deadline moved %v past the click's: a refresh counted as activity", ext.Round(time.Millisecond))
	}
	if w.signedOutAt > idle+4*time.Second || !w.sawBanner || w.maxBanners > 1 {
		t.Errorf("signed out after %v; warning seen %v, at most %d at once", w.signedOutAt.Round(time.Millisecond), w.sawBanner, w.maxBanners)
	}
}
