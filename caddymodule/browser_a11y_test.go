package caddymodule_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// contrastJS measures, in the browser, the WCAG 2.x contrast ratio of every
// visible text element of the banner against the background it is drawn on
// (the first opaque background up the tree, across the shadow boundary), and
// of the keyboard focus outline against the banner. It returns the number of
// elements checked and the failures.
const contrastJS = `(function(){
var root=` + bannerJS + `;
function rgb(s){var m=s.match(/rgba?\(([^)]+)\)/);if(!m)return null;var p=m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);return {r:p[0],g:p[1],b:p[2],a:p.length>3?p[3]:1};}
function lum(c){return [c.r,c.g,c.b].map(function(v){v/=255;return v<=0.03928?v/12.92:Math.pow((v+0.055)/1.055,2.4);}).reduce(function(s,v,i){return s+v*[0.2126,0.7152,0.0722][i];},0);}
function ratio(a,b){var x=lum(a),y=lum(b);return (Math.max(x,y)+0.05)/(Math.min(x,y)+0.05);}
function bgOf(el){while(el){if(el.nodeType===1){var c=rgb(getComputedStyle(el).backgroundColor);if(c&&c.a>=0.99)return c;}
el=el.parentNode||(el.host?el.host:null);if(el&&el.nodeType===11)el=el.host;}return {r:255,g:255,b:255,a:1};}
var out={checked:0,failures:[]};
root.querySelectorAll("h2,p,.time,button").forEach(function(el){
  var r=el.getBoundingClientRect();if(r.width===0||r.height===0||!el.textContent.trim())return;
  var cs=getComputedStyle(el),fg=rgb(cs.color),bg=bgOf(el),size=parseFloat(cs.fontSize),bold=parseInt(cs.fontWeight,10)>=700;
  var need=(size>=24||(size>=18.66&&bold))?3:4.5,got=ratio(fg,bg);out.checked++;
  if(got<need)out.failures.push(el.tagName+"#"+el.id+"."+el.className+": "+got.toFixed(2)+" < "+need+" ("+cs.color+" on "+JSON.stringify(bg)+")");
});
var sheets=root.adoptedStyleSheets&&root.adoptedStyleSheets.length?root.adoptedStyleSheets:root.styleSheets;
for(var i=0;i<sheets.length;i++)for(var j=0;j<sheets[i].cssRules.length;j++){var rule=sheets[i].cssRules[j];
  if(rule.selectorText==="button:focus-visible"){var probe=document.createElement("span");probe.style.color=rule.style.outlineColor;root.appendChild(probe);
    var oc=rgb(getComputedStyle(probe).color);probe.remove();out.checked++;var box=root.querySelector(".box");var got=ratio(oc,bgOf(box));
    if(got<3)out.failures.push("focus outline: "+got.toFixed(2)+" < 3");}}
return JSON.stringify(out);})()`

// evalJSON evaluates an expression that returns a JSON string and decodes it.
func evalJSON[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(eval[string](t, ctx, js)), &v); err != nil {
		t.Fatalf("decode %.80s: %v", js, err)
	}
	return v
}

type contrastResult struct {
	Checked  int      `json:"checked"`
	Failures []string `json:"failures"`
}

// assertBannerContrast fails the test unless every text of the shown banner
// meets WCAG AA (4.5:1, 3:1 for large text) and the focus ring 3:1.
func assertBannerContrast(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	res := evalJSON[contrastResult](t, ctx, contrastJS)
	if res.Checked < 5 { // title, message, countdown, one or two buttons, focus ring
		t.Fatalf("%s: contrast check saw only %d elements", what, res.Checked)
	}
	if len(res.Failures) > 0 {
		t.Fatalf("%s: below WCAG AA contrast:\n%s", what, strings.Join(res.Failures, "\n"))
	}
}

func TestBrowserBannerContrastAndReducedMotion(t *testing.T) {
	st := startStack(t, browserSite)
	ctx := newChrome(t)
	base := st.sites["web"]
	browserSignIn(t, ctx, base, "/patients")
	animation := `(function(){var r=` + bannerJS + `;return getComputedStyle(r.querySelector(".box")).animationName})()`

	waitJS(t, ctx, bannerVisible("document"), 6*time.Second, "the idle warning")
	if a := eval[string](t, ctx, animation); a != "sg-in" {
		t.Fatalf("without a motion preference the banner should slide in, animation-name %q", a)
	}
	assertBannerContrast(t, ctx, "idle warning")

	// the user asks the system for less motion: no entrance animation
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
	}); err != nil {
		t.Fatal(err)
	}
	if !eval[bool](t, ctx, `matchMedia("(prefers-reduced-motion: reduce)").matches`) {
		t.Fatal("reduced-motion emulation not in effect")
	}
	if a := eval[string](t, ctx, animation); a != "none" {
		t.Fatalf("with prefers-reduced-motion the banner still animates: %q", a)
	}
}

// setOffline takes the tab off the network (navigator.onLine, the offline
// event, and every request failing) or puts it back. Going online, the
// "online" event fires a moment before requests work again, as on a real
// reconnect: the banner's first request may fail and must be retried soon.
func setOffline(t *testing.T, ctx context.Context, offline bool) {
	t.Helper()
	if _, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{
		Offline: offline, DownloadThroughput: -1, UploadThroughput: -1,
	}); err != nil {
		t.Fatalf("override network state: %v", err)
	}
	rules := []*network.Conditions{}
	if offline {
		rules = append(rules, &network.Conditions{Offline: true, DownloadThroughput: -1, UploadThroughput: -1})
	}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: rules,
	}); err != nil {
		t.Fatalf("emulate network conditions: %v", err)
	}
}

// While the device is offline the banner neither shows nor redirects (it
// cannot know what the server decided); back online, it asks the server at
// once and follows it: here the session ended while offline.
func TestBrowserOfflineStaysQuietThenResyncs(t *testing.T) {
	st := startStack(t, browserSite)
	ctx := newChrome(t)
	base := st.sites["web"]
	browserSignIn(t, ctx, base, "/patients")
	deadline := time.UnixMilli(int64(serverStatus(t, ctx)["idle_expires_at"].(float64)))
	waitJS(t, ctx, bannerVisible("document"), 6*time.Second, "the idle warning")

	setOffline(t, ctx, true)
	if eval[bool](t, ctx, `navigator.onLine`) {
		t.Fatal("the tab still reports being online")
	}
	waitJS(t, ctx, "!"+bannerVisible("document"), 2*time.Second, "the banner to step aside while offline")
	// stay offline until well past the server's idle deadline
	time.Sleep(time.Until(deadline.Add(2 * time.Second)))
	if p := eval[string](t, ctx, `location.pathname`); p != "/patients" {
		t.Fatalf("moved to %s while offline", p)
	}
	if eval[bool](t, ctx, bannerVisible("document")) {
		t.Fatal("banner shown while offline")
	}

	setOffline(t, ctx, false)
	waitJS(t, ctx, `location.pathname==="/.sessiongate/signed-out"&&document.body.innerText.includes("inactivity")`,
		8*time.Second, "the signed-out page soon after coming back online")
}
