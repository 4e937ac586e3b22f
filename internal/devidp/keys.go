package devidp

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// signingKey implements op.SigningKey and op.Key.
type signingKey struct {
	id  string
	key *rsa.PrivateKey
}

// SignatureAlgorithm returns RS256.
func (k *signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }

// Key returns the private key.
func (k *signingKey) Key() any { return k.key }

// ID returns the key id (the JWK thumbprint).
func (k *signingKey) ID() string { return k.id }

// publicKey is the public half of a signingKey, for the JWKS endpoint.
type publicKey struct{ *signingKey }

// Algorithm returns RS256.
func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }

// Use returns "sig".
func (k publicKey) Use() string { return "sig" }

// Key returns the public key.
func (k publicKey) Key() any { return &k.key.PublicKey }

// SigningKey returns the RSA key that signs ID tokens.
func (s *storage) SigningKey(context.Context) (op.SigningKey, error) { return s.currentKey(), nil }

// currentKey is the key that signs now.
func (s *storage) currentKey() *signingKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.key
}

// SignatureAlgorithms returns RS256.
func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

// KeySet returns the public signing keys for the JWKS endpoint: the current
// one and those retired by RotateSigningKey (tokens they signed still verify).
func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	keys := []op.Key{publicKey{s.key}}
	for _, k := range s.retired {
		keys = append(keys, publicKey{k})
	}
	return keys, nil
}

// Health always reports healthy.
func (s *storage) Health(context.Context) error { return nil }

// newSigningKey wraps key (a new 2048-bit key when nil) with its thumbprint as kid.
func newSigningKey(key *rsa.PrivateKey) (*signingKey, error) {
	if key == nil {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, fmt.Errorf("devidp: generate signing key: %w", err)
		}
	}
	thumb, err := (&jose.JSONWebKey{Key: &key.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("devidp: signing key thumbprint: %w", err)
	}
	return &signingKey{id: base64.RawURLEncoding.EncodeToString(thumb), key: key}, nil
}

// RotateSigningKey starts signing with a new key (new kid); the old key
// stays in the JWKS so that tokens it signed still verify, as providers do.
func (p *Provider) RotateSigningKey() error {
	k, err := newSigningKey(nil)
	if err != nil {
		return err
	}
	p.store.mu.Lock()
	defer p.store.mu.Unlock()
	p.store.retired = append(p.store.retired, p.store.key)
	p.store.key = k
	return nil
}

// SigningKeyID returns the kid of the key that signs now.
func (p *Provider) SigningKeyID() string { return p.store.currentKey().id }
