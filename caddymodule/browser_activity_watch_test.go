package caddymodule_test

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

const (
	mainFrame   = `document.getElementsByName("main")[0]`
	iframeFrame = `document.querySelector("iframe")`
)

// watchJS reports the top window's path, how many documents (top and
// frames) show the banner, and the session's idle deadline as the server
// last gave it: from /status (which never counts as activity) and from the
// banner's last answer kept in the tab (a page that replaces itself every
// second may not live through a fetch).
const watchJS = `(async function(withStatus){
var vis=function(d){try{var h=d.querySelector("sessiongate-banner");if(!h||!h.shadowRoot)return false;var b=h.shadowRoot.querySelector("[role=alertdialog]");
if(!b)return false;var r=b.getBoundingClientRect();return getComputedStyle(h).display!=="none"&&r.width>100&&r.height>40;}catch(e){return false}};
var seen="0";try{seen=sessionStorage.getItem("test.bannerSeen")||"0"}catch(e){}
var n=vis(document)?1:0;var fr=document.querySelectorAll("frame,iframe");for(var i=0;i<fr.length;i++){try{if(fr[i].contentDocument&&vis(fr[i].contentDocument))n++}catch(e){}}
var exp=0,la=0;try{var c=JSON.parse(sessionStorage.getItem("sessiongate.status")||"null");if(c&&c.status){exp=c.status.idle_expires_at||0;la=c.status.last_activity||0}}catch(e){}
if(withStatus&&!location.pathname.startsWith("/.sessiongate/")){try{var r=await fetch("/.sessiongate/status",{credentials:"same-origin",cache:"no-store"});
if(r.ok){var s=await r.json();exp=Math.max(exp,s.idle_expires_at||0);la=Math.max(la,s.last_activity||0)}}catch(e){}}
return [location.pathname+location.search, String(n), String(exp), String(la), seen]})`

// left reports whether the top window has left the app at the end: for the
// signed-out page (reason idle), or — when a page's own navigation raced the
// banner's and the signed-out page was already shown — the provider's
// sign-in form (the gateway asks it for the password: prompt=login).
func (w watched) left() bool {
	return strings.HasPrefix(w.path, "/.sessiongate/signed-out") && strings.Contains(w.path, "reason=idle") ||
		strings.HasPrefix(w.path, "/login?authRequestID=")
}

type watched struct {
	path        string        // top window's path at the end
	maxBanners  int           // most documents showing the banner at once
	sawBanner   bool          // the warning was drawn at some point
	latestEnd   time.Time     // the latest idle deadline /status reported
	signedOutAt time.Duration // since start, when the top window reached the signed-out page
	paths       []string      // the top window's paths, in order (for failure messages)
	activities  []time.Time   // the server's last_activity values seen, in order of first sight
}

// appendNew appends t unless it is already the last element.
func appendNew(ts []time.Time, t time.Time) []time.Time {
	if n := len(ts); n > 0 && ts[n-1].Equal(t) {
		return ts
	}
	return append(ts, t)
}

// personEnd is the idle deadline the person's own actions set: the server's
// record of the last one, which is the first last_activity seen after the
// one before it (a report may reach the server a moment after the input).
func (w watched) personEnd(before time.Time) time.Time {
	for _, la := range w.activities {
		if la.After(before) {
			return la.Add(matrixIdle)
		}
	}
	return before.Add(matrixIdle)
}

// watch polls the tab until the top window shows the signed-out page or
// timeout passes.
func watch(ctx context.Context, start time.Time, timeout time.Duration) watched {
	var w watched
	for i := 0; time.Since(start) < timeout; i++ {
		tctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		v, err := chromedp.Run(tctx, chromedp.Evaluate[[]string](watchJS+"("+strconv.FormatBool(i%4 == 0)+")", chromedp.EvalAwaitPromise))
		cancel()
		if err == nil && len(v) == 5 {
			if w.path != v[0] && len(w.paths) < 20 {
				w.paths = append(w.paths, v[0])
			}
			w.path = v[0]
			n, _ := strconv.Atoi(v[1])
			w.maxBanners = max(w.maxBanners, n)
			w.sawBanner = w.sawBanner || n > 0 || v[4] == "1"
			if ms, _ := strconv.ParseFloat(v[2], 64); ms > 0 {
				if end := time.UnixMilli(int64(ms)); end.After(w.latestEnd) {
					w.latestEnd = end
				}
			}
			if ms, _ := strconv.ParseFloat(v[3], 64); ms > 0 {
				w.activities = appendNew(w.activities, time.UnixMilli(int64(ms)))
			}
			if w.left() {
				w.signedOutAt = time.Since(start)
				return w
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return w
}
