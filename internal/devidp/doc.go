// Package devidp is a DEVELOPMENT-ONLY OpenID Provider.
//
// It exists so that end-to-end tests can run a real, spec-following OpenID
// Connect provider inside the test process, and so that a demo mode can show
// sessiongate working without an external identity provider. It must never be
// used to protect anything real: users, passwords, clients, sessions and keys
// live in memory, passwords are compared in plain text, the signing key is
// generated at start-up and lost at exit, and the sign-in page has no CSRF or
// brute-force protection.
//
// All protocol work (discovery, authorization endpoint validation, the token
// endpoint, PKCE, ID token signing, userinfo, JWKS and end_session) is done by
// github.com/zitadel/oidc/v3/pkg/op. This package only supplies the in-memory
// storage, the client definitions, a minimal sign-in page and an SSO session
// cookie, so that the provider behaves like a real identity provider: a
// browser that signed in once is signed in silently on later authorization
// requests until it signs out through end_session, unless the relying party
// asks for prompt=login (or a max_age that has elapsed).
//
// Only the authorization code flow is supported. Confidential clients
// authenticate at the token endpoint with client_secret_basic or
// client_secret_post; a client registered without a secret is a public client
// and must use PKCE.
package devidp
