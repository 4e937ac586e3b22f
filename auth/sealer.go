package auth

import (
	"crypto/hkdf"
	"crypto/sha256"
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
}

// NewSealer derives the keys from secrets (the current one first).
func NewSealer(secrets []string) (*Sealer, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("cookie sealer: no secret")
	}
	var pairs [][]byte
	for i, s := range secrets {
		hashKey, err := hkdf.Key(sha256.New, []byte(s), nil, "sessiongate cookie mac v1", 32)
		if err != nil {
			return nil, fmt.Errorf("cookie secret #%d: %w", i, err)
		}
		blockKey, err := hkdf.Key(sha256.New, []byte(s), nil, "sessiongate cookie enc v1", 32)
		if err != nil {
			return nil, fmt.Errorf("cookie secret #%d: %w", i, err)
		}
		pairs = append(pairs, hashKey, blockKey)
	}
	codecs := securecookie.CodecsFromPairs(pairs...)
	for _, c := range codecs {
		sc := c.(*securecookie.SecureCookie)
		sc.SetSerializer(securecookie.JSONEncoder{})
		sc.MaxAge(0) // lifetime is enforced by the value's own timestamps and the store
	}
	return &Sealer{codecs: codecs}, nil
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
