package auth

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/gorilla/securecookie"
)

// Sealer seals and opens cookie values with securecookie: HMAC-SHA256 for
// integrity, AES-256 for confidentiality, keys derived from the configured
// secrets with HKDF. The first secret seals; all secrets open, so an old
// secret keeps working until it is removed (rotation).
type Sealer struct {
	codecs []securecookie.Codec
	// dataCodecs seal larger values kept server-side (SealData), with
	// their own keys
	dataCodecs []securecookie.Codec
	tokenKeys  [][]byte // per secret, for Token / VerifyToken
}

// NewSealer derives the keys from secrets (the current one first).
func NewSealer(secrets []string) (*Sealer, error) { return NewBoundSealer(secrets, "") }

// NewBoundSealer is NewSealer with the keys also derived from binding (for
// the gateway: the provider's issuer and the client ID), so that values
// sealed for one binding never open under another, even with the same
// secret: two sites that reuse one cookie secret and share a store do not
// accept each other's cookies, whatever the provider assigned to each client.
func NewBoundSealer(secrets []string, binding string) (*Sealer, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("cookie sealer: no secret")
	}
	suffix := ""
	if binding != "" {
		suffix = " for " + binding
	}
	var pairs, dataPairs, tokenKeys [][]byte
	for i, secret := range secrets {
		keys, err := deriveKeys(secret, suffix, "cookie mac", "cookie enc", "data mac", "data enc", "token")
		if err != nil {
			return nil, fmt.Errorf("cookie secret #%d: %w", i, err)
		}
		pairs = append(pairs, keys[0], keys[1])
		dataPairs = append(dataPairs, keys[2], keys[3])
		tokenKeys = append(tokenKeys, keys[4])
	}
	codecs := securecookie.CodecsFromPairs(pairs...)
	for _, c := range codecs {
		sc := c.(*securecookie.SecureCookie)
		sc.SetSerializer(securecookie.JSONEncoder{})
		sc.MaxAge(0) // lifetime is enforced by the value's own timestamps and the store
	}
	dataCodecs := securecookie.CodecsFromPairs(dataPairs...)
	for _, c := range dataCodecs {
		sc := c.(*securecookie.SecureCookie)
		sc.SetSerializer(securecookie.NopEncoder{})
		sc.MaxAge(0)
		sc.MaxLength(MaxSealedData)
	}
	return &Sealer{codecs: codecs, dataCodecs: dataCodecs, tokenKeys: tokenKeys}, nil
}

// deriveKeys derives one 32-byte key per purpose from secret with HKDF
// (info "sessiongate <purpose> v1" and the binding's suffix).
func deriveKeys(secret, suffix string, purposes ...string) ([][]byte, error) {
	keys := make([][]byte, len(purposes))
	for i, p := range purposes {
		k, err := hkdf.Key(sha256.New, []byte(secret), nil, "sessiongate "+p+" v1"+suffix, 32)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	return keys, nil
}

// MaxSealedData bounds a value sealed by SealData (its encoded form).
const MaxSealedData = 2 << 20

// SealData seals data that the gateway keeps server-side (rescued work) under
// name, with keys of its own: a sealed cookie never opens as data, nor the
// reverse.
func (s *Sealer) SealData(name string, data []byte) (string, error) {
	// securecookie encrypts the serialized bytes in place, and NopEncoder
	// serializes to data itself: seal a copy
	out, err := securecookie.EncodeMulti(name, append([]byte(nil), data...), s.dataCodecs...)
	if err != nil {
		return "", fmt.Errorf("seal %s: %w", name, err)
	}
	return out, nil
}

// OpenData opens what SealData sealed under name.
func (s *Sealer) OpenData(name, value string) ([]byte, error) {
	var out []byte
	if err := securecookie.DecodeMulti(name, value, &out, s.dataCodecs...); err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return out, nil
}

// Token derives a token for purpose and value (for example the CSRF token
// of a session ID) with the current secret: nothing needs to be stored.
func (s *Sealer) Token(purpose, value string) string {
	return token(s.tokenKeys[0], purpose, value)
}

// VerifyToken reports, in constant time, whether tok is the token of
// purpose and value under any configured secret (so tokens survive a
// rotation).
func (s *Sealer) VerifyToken(purpose, value, tok string) bool {
	ok := 0
	for _, k := range s.tokenKeys {
		ok |= subtle.ConstantTimeCompare([]byte(token(k, purpose, value)), []byte(tok))
	}
	return tok != "" && ok == 1
}

func token(key []byte, purpose, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(purpose))
	m.Write([]byte{0})
	m.Write([]byte(value))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:24])
}

// Seal encodes v under name (the name is bound into the MAC).
func (s *Sealer) Seal(name string, v any) (string, error) {
	out, err := securecookie.EncodeMulti(name, v, s.codecs...)
	if err != nil {
		return "", fmt.Errorf("seal %s: %w", name, err)
	}
	return out, nil
}

// Open decodes a value sealed under name into dst; any tampering, truncation
// or a value sealed under another name or unknown secret is an error.
func (s *Sealer) Open(name, value string, dst any) error {
	if len(value) > maxCookieValue {
		return fmt.Errorf("open %s: value too long", name)
	}
	if err := securecookie.DecodeMulti(name, value, dst, s.codecs...); err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	return nil
}

// maxCookieValue bounds what is handed to the decoder.
const maxCookieValue = 4096

// loginStateTTL is how long a sign-in may take at the provider.
const loginStateTTL = 15 * time.Minute
