package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Identity is the signed-in user as the provider describes them.
type Identity struct {
	Subject  string
	Name     string
	Email    string
	Groups   []string
	SID      string
	IDToken  string
	AuthTime time.Time
	// Claims are all claims of the ID token merged with userinfo.
	Claims map[string]any
}

// CallbackError is a sign-in failure whose Message can be shown to the user.
type CallbackError struct {
	Message string
	Err     error
}

// Error implements error: the user's message and the cause.
func (e *CallbackError) Error() string { return e.Message + ": " + e.Err.Error() }

// Unwrap returns the cause.
func (e *CallbackError) Unwrap() error { return e.Err }

func callbackErr(msg string, err error) error { return &CallbackError{Message: msg, Err: err} }

// authTimeSkew is how far the provider's clock may lag ours when checking
// that a forced sign-in really happened after it was asked for.
const authTimeSkew = 60 * time.Second

// Exchange completes the sign-in: checks state, redeems the code with the
// PKCE verifier, verifies the ID token (signature, iss, aud, exp, nonce),
// merges userinfo claims, and for forced sign-ins checks auth_time.
func (rp *RelyingParty) Exchange(ctx context.Context, redirectURL string, q url.Values, st LoginState) (*Identity, error) {
	if e := q.Get("error"); e != "" {
		return nil, callbackErr("The identity provider refused the sign-in", fmt.Errorf("%s: %s", e, q.Get("error_description")))
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		return nil, callbackErr("The sign-in could not be matched to this browser", errors.New("state mismatch"))
	}
	if st.Expired(rp.cfg.Now()) {
		return nil, callbackErr("The sign-in took too long", errors.New("login state expired"))
	}
	code := q.Get("code")
	if code == "" {
		return nil, callbackErr("The identity provider sent no authorization code", errors.New("missing code"))
	}
	p, err := rp.discover(ctx)
	if err != nil {
		return nil, err
	}
	oc := rp.oauth2Config(p, redirectURL)
	tok, err := oc.Exchange(rp.ctx(ctx), code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return nil, callbackErr("The identity provider rejected the sign-in code", err)
		}
		return nil, fmt.Errorf("%w: token endpoint: %w", ErrProviderUnavailable, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, callbackErr("The identity provider sent no ID token", errors.New("missing id_token"))
	}
	verifier := p.Verifier(&oidc.Config{ClientID: rp.cfg.ClientID, Now: rp.cfg.Now})
	idt, err := verifier.Verify(rp.ctx(ctx), raw)
	if err != nil {
		return nil, callbackErr("The ID token could not be verified", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return nil, callbackErr("The ID token does not belong to this sign-in", errors.New("nonce mismatch"))
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return nil, callbackErr("The ID token could not be read", err)
	}
	if p.UserInfoEndpoint() != "" {
		ui, err := p.UserInfo(rp.ctx(ctx), oauth2.StaticTokenSource(tok))
		if err != nil {
			return nil, fmt.Errorf("%w: userinfo: %w", ErrProviderUnavailable, err)
		}
		if ui.Subject != idt.Subject {
			return nil, callbackErr("The identity provider's profile does not match the ID token", errors.New("userinfo sub mismatch"))
		}
		extra := map[string]any{}
		if err := ui.Claims(&extra); err == nil {
			for k, v := range extra {
				if _, ok := claims[k]; !ok || k == "groups" || k == "name" || k == "email" {
					claims[k] = v
				}
			}
		}
	}
	id := &Identity{Subject: idt.Subject, IDToken: raw, Claims: claims}
	id.Name, _ = claims["name"].(string)
	if id.Name == "" {
		id.Name, _ = claims["preferred_username"].(string)
	}
	id.Email, _ = claims["email"].(string)
	id.SID, _ = claims["sid"].(string)
	id.Groups = stringList(claims["groups"])
	if at, ok := claims["auth_time"].(float64); ok {
		id.AuthTime = time.Unix(int64(at), 0)
	}
	if st.ForceLogin || st.Renew {
		if id.AuthTime.IsZero() || id.AuthTime.Before(time.Unix(st.Issued, 0).Add(-authTimeSkew)) {
			return nil, callbackErr("The identity provider did not ask for your password again", errors.New("auth_time predates forced login"))
		}
	}
	return id, nil
}
