package caddymodule_test

import (
	"context"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/sessiongate/sessiongate/internal/browsertest"
)

// TestActivityMatrixSelfRefreshDoesNotExtend: every self-refresh mechanism ×
// {top, frame, iframe} × {before, after a click into it}: the session ends
// at the idle limit counted from the person's last action, the warning is
// drawn in exactly one document, and the whole window leaves for the
// signed-out page.
func TestActivityMatrixSelfRefreshDoesNotExtend(t *testing.T) {
	st, browser := matrix(t)
	for mech := range selfRefreshing {
		for _, where := range []string{"top", "frame", "iframe"} {
			for _, when := range []string{"before", "after"} {
				t.Run(mech+"/"+where+"/"+when+"-click", func(t *testing.T) {
					t.Parallel()
					base := st.sites["act"]
					ctx := isolatedTab(t, browser)
					path := map[string]string{"top": "/m/", "frame": "/fs/", "iframe": "/if/"}[where]
					if when == "after" && where != "top" {
						path = map[string]string{"frame": "/fsnav/", "iframe": "/iflink/"}[where]
					}
					browserSignIn(t, ctx, base, path+mech)
					last := time.Now()
					before := serverActivityAfter(t, ctx, time.Time{}) // the sign-in
					if when == "after" {
						// a person's first click comes after the page has asked the
						// gateway for its status (and so knows where to report)
						switch where {
						case "top":
							waitToken(t, ctx, "window")
							clickAt(t, ctx, "", "#t")
						case "frame": // the Nagios case: a click in one frame opens the board in another
							waitToken(t, ctx, `document.getElementsByName("nav")[0].contentWindow`)
							clickAt(t, ctx, `document.getElementsByName("nav")[0]`, "#l")
							before = serverActivityAfter(t, ctx, before) // the first click, as recorded
							waitToken(t, ctx, mainFrame+".contentWindow")
							clickAt(t, ctx, mainFrame, "#t")
						case "iframe":
							waitToken(t, ctx, "window")
							clickAt(t, ctx, "", "#l")
							before = serverActivityAfter(t, ctx, before) // the first click, as recorded
							waitToken(t, ctx, iframeFrame+".contentWindow")
							clickAt(t, ctx, iframeFrame, "#t")
						}
						last = time.Now()
					}
					w := watch(ctx, last, matrixIdle+8*time.Second)
					if !w.left() {
						t.Fatalf("not on the signed-out page %v after the last action (top window at %s, idle deadline %v after it; paths %q)",
							matrixIdle+8*time.Second, w.path, w.latestEnd.Sub(last).Round(time.Millisecond), w.paths)
					}
					if w.latestEnd.IsZero() {
						t.Fatal("never saw the server's idle deadline (neither /status nor the banner's last answer)")
					}
					// the person's last action: the sign-in ("before"), or the
					// click as the server recorded it ("after")
					personEnd := before.Add(matrixIdle)
					if when == "after" {
						personEnd = w.personEnd(before)
					}
					if ext := w.latestEnd.Sub(personEnd); ext > 300*time.Millisecond {
						t.Errorf("the idle deadline moved %v past the one the person's last action set (activity seen: %v): a self-refresh counted as activity",
							ext.Round(time.Millisecond), w.activities)
					}
					if out := last.Add(w.signedOutAt); out.Before(w.latestEnd.Add(-300*time.Millisecond)) || out.After(w.latestEnd.Add(4*time.Second)) {
						t.Errorf("the window left %v after the idle deadline; want within 4s", out.Sub(w.latestEnd).Round(time.Millisecond))
					}
					if !w.sawBanner || w.maxBanners > 1 {
						t.Errorf("warning drawn: seen %v, at most %d at once; want exactly one", w.sawBanner, w.maxBanners)
					}
				})
			}
		}
	}
}

// personActions are what a person does; each must extend the session.
var personActions = map[string]func(t *testing.T, ctx context.Context, base, frame string){
	"link-click": func(t *testing.T, ctx context.Context, base, frame string) { clickAt(t, ctx, frame, "#l") },
	"button-click": func(t *testing.T, ctx context.Context, base, frame string) {
		clickAt(t, ctx, frame, "#b")
	},
	"typing": func(t *testing.T, ctx context.Context, base, frame string) {
		// a script's focus is not input; the keys that follow are
		focus, focused := `(document.getElementById("q").focus(),true)`, `document.activeElement&&document.activeElement.id==="q"`
		if frame != "" {
			focus = `(` + frame + `.contentWindow.focus(),` + frame + `.contentDocument.getElementById("q").focus(),true)`
			focused = `document.activeElement===` + frame + `&&` + frame + `.contentDocument.activeElement.id==="q"`
		}
		for until := time.Now().Add(3 * time.Second); !browsertest.Eval[bool](t, ctx, `(`+focus+`)&&(`+focused+`)`); {
			if time.Now().After(until) {
				t.Fatal("could not focus the text field")
			}
			time.Sleep(50 * time.Millisecond)
		}
		browsertest.Run(t, ctx, chromedp.KeyEvent("abc"))
	},
	"touch": func(t *testing.T, ctx context.Context, base, frame string) {
		x, y := frameXY(t, ctx, frame, "#q")
		browsertest.Run(t, ctx, chromedp.TapXY(x, y))
	},
	"wheel": func(t *testing.T, ctx context.Context, base, frame string) {
		x, y := frameXY(t, ctx, frame, "#q")
		browsertest.Run(t, ctx, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseWheel, x, y, func(p *input.DispatchMouseEventParams) { p.DeltaX, p.DeltaY = 0.001, 120 }))
	},
	"address-bar": func(t *testing.T, ctx context.Context, base, frame string) {
		path := "/person2"
		if frame != "" {
			path = "/fsperson?again"
		}
		browsertest.Run(t, ctx, chromedp.Navigate(base+path))
	},
	"back-forward": func(t *testing.T, ctx context.Context, base, frame string) {
		browsertest.Run(t, ctx, chromedp.NavigateBack())
	},
	"continue-session": func(t *testing.T, ctx context.Context, base, frame string) {
		// the document that draws the warning: the top window, or a frame of a frameset
		const find = `(function(){var docs=[[document,{x:0,y:0}]];var fr=document.querySelectorAll("frame,iframe");
for(var i=0;i<fr.length;i++){try{docs.push([fr[i].contentDocument,fr[i].getBoundingClientRect()])}catch(e){}}
for(var j=0;j<docs.length;j++){var d=docs[j][0],o=docs[j][1];var h=d&&d.querySelector("sessiongate-banner");if(!h||!h.shadowRoot||getComputedStyle(h).display==="none")continue;
var b=h.shadowRoot.getElementById("sg-continue");if(!b)continue;var r=b.getBoundingClientRect();if(r.width<10)continue;return [o.x+r.x+r.width/2,o.y+r.y+r.height/2]}
return null})()`
		browsertest.WaitJS(t, ctx, "!!"+find, 4*time.Second, "the warning's Continue button")
		// the warning slides in: click once the button has stopped moving
		xy := browsertest.Eval[[]float64](t, ctx, find)
		for until := time.Now().Add(3 * time.Second); time.Now().Before(until); {
			time.Sleep(150 * time.Millisecond)
			next := browsertest.Eval[[]float64](t, ctx, find)
			if len(next) == 2 && len(xy) == 2 && next[0] == xy[0] && next[1] == xy[1] {
				break
			}
			xy = next
		}
		if len(xy) != 2 {
			t.Fatal("the warning's Continue button went away")
		}
		browsertest.Run(t, ctx, chromedp.MouseClickXY(xy[0], xy[1]))
	},
}

// TestActivityMatrixPersonExtends: every person action × {top, frame}
// moves the idle deadline to the action's time plus the idle limit.
func TestActivityMatrixPersonExtends(t *testing.T) {
	st, browser := matrix(t)
	for action, do := range personActions {
		for _, where := range []string{"top", "frame"} {
			t.Run(action+"/"+where, func(t *testing.T) {
				t.Parallel()
				base := st.sites["act"]
				ctx := isolatedTab(t, browser)
				frame, start := "", "/person"
				if where == "frame" {
					frame, start = mainFrame, "/fsperson"
				}
				browserSignIn(t, ctx, base, start)
				if action == "back-forward" { // a history entry to go back to, typed in the address bar
					browsertest.Run(t, ctx, chromedp.Navigate(base+"/person2"), chromedp.Navigate(base+start))
				}
				// act relative to the deadline set by the sign-in (or the typed
				// navigations), read from the server
				var first time.Time
				for until := time.Now().Add(3 * time.Second); first.IsZero() && time.Now().Before(until); {
					first = watch(ctx, time.Now(), 250*time.Millisecond).latestEnd
				}
				if first.IsZero() {
					t.Fatal("no idle deadline from /status after sign-in")
				}
				lead := matrixIdle - matrixWarn - 500*time.Millisecond // in the warning period, for Continue
				if action != "continue-session" {
					lead = matrixIdle - time.Second // before the warning covers the page and takes the focus
				}
				time.Sleep(time.Until(first.Add(-lead)))
				acted := time.Now()
				do(t, ctx, base, frame)
				var end time.Time
				deadline := time.Now().Add(5 * time.Second)
				for time.Now().Before(deadline) {
					w := watch(ctx, time.Now(), 250*time.Millisecond)
					if !w.latestEnd.IsZero() && w.latestEnd.After(end) {
						end = w.latestEnd
					}
					if !end.IsZero() && end.Sub(acted) >= matrixIdle-300*time.Millisecond {
						return
					}
				}
				loc, _ := chromedp.Run(ctx, chromedp.Location())
				t.Fatalf("%s in the %s did not extend the session: idle deadline %v after the action (want ≈ %v; at %s)",
					action, where, end.Sub(acted).Round(time.Millisecond), matrixIdle, loc)
			})
		}
	}
}
