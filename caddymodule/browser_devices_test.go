package caddymodule_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const accountJS = `(function(){var h=document.querySelector("sessiongate-account");return h&&h.shadowRoot?h.shadowRoot:null})()`

// The account button (account_menu) leads to My devices; signing out the
// other device there sends that device to the signed-out page at its
// banner's next status check; Switch user asks for a password again.
func TestBrowserDevicesPageAndAccountMenu(t *testing.T) {
	st := startStack(t, site{name: "web", extra: "account_menu"})
	base := st.sites["web"]
	ctx := newChrome(t)
	browserSignIn(t, ctx, base, "/patients")
	// a second device: a separate browser context with its own cookies
	dev2, cancel := chromedp.NewContext(ctx, chromedp.WithNewBrowserContext())
	defer cancel()
	if err := chromedp.Do(dev2); err != nil {
		t.Fatal(err)
	}
	browserSignIn(t, dev2, base, "/patients")

	waitJS(t, ctx, `(function(){var r=`+accountJS+`;if(!r)return false;var b=r.getElementById("sg-chip").getBoundingClientRect();return b.width>=44&&b.height>=44})()`,
		5*time.Second, "the account button")
	if name := eval[string](t, ctx, accountJS+`.getElementById("sg-chip").innerText`); !strings.Contains(name, "Alice Adams") {
		t.Fatalf("account button: %q", name)
	}
	clickIn(t, ctx, accountJS, "sg-chip")
	waitJS(t, ctx, `!`+accountJS+`.getElementById("sg-menu").hidden`, 3*time.Second, "the account menu")
	screenshot(t, ctx, "account-menu.png")
	if admin := eval[bool](t, ctx, `getComputedStyle(`+accountJS+`.getElementById("sg-admin")).display!=="none"`); admin {
		t.Fatal("a non-manager's menu shows Session policy")
	}
	clickIn(t, ctx, accountJS, "sg-devices")
	waitJS(t, ctx, `location.pathname==="/.sessiongate/sessions"&&document.querySelectorAll("li[data-device]").length===2`,
		5*time.Second, "My devices with two devices")
	if !eval[bool](t, ctx, `document.querySelector("li[data-this] .badge").innerText.includes("This device")`) {
		t.Fatal("this device is not marked")
	}
	screenshot(t, ctx, "devices.png")
	run(t, ctx, chromedp.Click(chromedp.CSS(`li[data-device]:not([data-this]) button`)))
	waitJS(t, ctx, `(document.getElementById("notice")||{}).innerText==="1 device was signed out."&&document.querySelectorAll("li[data-device]").length===1`,
		5*time.Second, "the other device signed out")

	// device 2's banner learns it at its next status check (here: the tab regains focus)
	eval[bool](t, dev2, `window.dispatchEvent(new Event("focus"))||true`)
	waitJS(t, dev2, `location.pathname==="/.sessiongate/signed-out"&&document.body.innerText.includes("ended from another device")`,
		5*time.Second, "device 2 on the signed-out page")

	// Switch user: this session ends and the provider asks for a password
	run(t, ctx, chromedp.Navigate(base+"/patients"))
	waitJS(t, ctx, accountJS+`!==null`, 5*time.Second, "the account button")
	clickIn(t, ctx, accountJS, "sg-chip")
	clickIn(t, ctx, accountJS, "sg-switch")
	waitJS(t, ctx, `!!document.querySelector("#password")`, 8*time.Second, "the provider's sign-in form after Switch user")
	run(t, ctx, chromedp.Navigate(base+"/patients"))
	waitJS(t, ctx, `!!document.querySelector("#password")`, 8*time.Second, "the old session to be over")
}

// clickIn clicks, with the real mouse, the element with id inside the shadow
// root that rootJS evaluates to.
func clickIn(t *testing.T, ctx context.Context, rootJS, id string) {
	t.Helper()
	xy := eval[[]float64](t, ctx, `(function(){var b=`+rootJS+`.getElementById("`+id+`").getBoundingClientRect();return [b.x+b.width/2,b.y+b.height/2]})()`)
	run(t, ctx, chromedp.MouseClickXY(xy[0], xy[1]))
}

// The logout page's form continues at the provider's end_session_endpoint
// after a redirect; its CSP (form-action) must allow that in a real browser.
func TestBrowserLogoutPageReachesProvider(t *testing.T) {
	st := startStack(t, site{name: "web"})
	base := st.sites["web"]
	ctx := newChrome(t)
	browserSignIn(t, ctx, base, "/patients")
	calls := st.idp.EndSessionCalls()
	run(t, ctx, chromedp.Navigate(base+"/.sessiongate/logout"))
	run(t, ctx, chromedp.Click(chromedp.CSS(`#logout`)))
	waitJS(t, ctx, `location.pathname==="/.sessiongate/signed-out"&&document.body.innerText.includes("You have signed out")`,
		8*time.Second, "the signed-out page back from the provider")
	if st.idp.EndSessionCalls() != calls+1 {
		t.Fatal("the provider's end_session_endpoint was not reached")
	}
}
