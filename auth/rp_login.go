package auth

import (
	"context"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// LoginState is what the browser carries (sealed) between the redirect to
// the provider and the callback.
type LoginState struct {
	State      string `json:"s"`
	Nonce      string `json:"n"`
	Verifier   string `json:"v"`
	ReturnTo   string `json:"r"`
	ForceLogin bool   `json:"f,omitempty"`
	// Renew marks a re-authentication in place ("Continue session" at the
	// absolute warning): the provider is asked for fresh credentials
	// (prompt=login and max_age=0, so auth_time is checked at the callback)
	// and the callback renews the browser's session instead of starting a
	// page's sign-in.
	Renew bool `json:"w,omitempty"`
	// Popup: the renewal runs in a small window, which the callback answers
	// with a page that tells the opener and closes itself.
	Popup  bool  `json:"o,omitempty"`
	Issued int64 `json:"t"` // unix seconds
}

// Expired reports whether the sign-in took longer than allowed.
func (s LoginState) Expired(now time.Time) bool {
	return now.Sub(time.Unix(s.Issued, 0)) > loginStateTTL
}

// NewLoginState creates fresh state, nonce and PKCE verifier.
func (rp *RelyingParty) NewLoginState(returnTo string, forceLogin bool) LoginState {
	return LoginState{
		State:      randomToken(),
		Nonce:      randomToken(),
		Verifier:   oauth2.GenerateVerifier(),
		ReturnTo:   returnTo,
		ForceLogin: forceLogin,
		Issued:     rp.cfg.Now().Unix(),
	}
}

// AuthCodeURL is where the browser goes to sign in.
func (rp *RelyingParty) AuthCodeURL(ctx context.Context, redirectURL string, st LoginState) (string, error) {
	p, err := rp.discover(ctx)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)}
	if st.ForceLogin || st.Renew {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", "login"))
	}
	if st.Renew {
		opts = append(opts, oauth2.SetAuthURLParam("max_age", "0"))
	}
	return rp.oauth2Config(p, redirectURL).AuthCodeURL(st.State, opts...), nil
}
