package auth

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

const (
	secretOld   = "old-secret-0123456789abcdef0123456789abcdef"
	secretNew   = "new-secret-fedcba9876543210fedcba9876543210"
	secretOther = "unrelated-secret-00000000000000000000000000"
)

type sealedRef struct {
	ID      string `json:"id"`
	UserKey string `json:"u"`
	N       int    `json:"n"`
}

func mustSealer(t *testing.T, secrets ...string) *Sealer {
	t.Helper()
	s, err := NewSealer(secrets)
	if err != nil {
		t.Fatalf("NewSealer: %v", err)
	}
	return s
}

func mustSeal(t *testing.T, s *Sealer, name string, v any) string {
	t.Helper()
	out, err := s.Seal(name, v)
	if err != nil {
		t.Fatalf("Seal(%s): %v", name, err)
	}
	return out
}

func TestNewSealerNeedsASecret(t *testing.T) {
	if _, err := NewSealer(nil); err == nil {
		t.Error("NewSealer(nil) succeeded")
	}
	if _, err := NewSealer([]string{}); err == nil {
		t.Error("NewSealer([]) succeeded")
	}
}

func TestSealerRoundTrip(t *testing.T) {
	s := mustSealer(t, secretNew)
	in := sealedRef{ID: "sess-123", UserKey: "alice@clinic.test", N: 42}
	v := mustSeal(t, s, "sessiongate-session", in)

	var out sealedRef
	if err := s.Open("sessiongate-session", v, &out); err != nil {
		t.Fatalf("Open: %v", err)
	}
	if out != in {
		t.Errorf("round trip: got %+v, want %+v", out, in)
	}

	// a fresh Sealer with the same secret opens it too (keys are derived,
	// not random)
	var out2 sealedRef
	if err := mustSealer(t, secretNew).Open("sessiongate-session", v, &out2); err != nil || out2 != in {
		t.Errorf("another Sealer with the same secret: %+v, %v", out2, err)
	}

	// strings and maps too
	vs := mustSeal(t, s, "n", "hello")
	var str string
	if err := s.Open("n", vs, &str); err != nil || str != "hello" {
		t.Errorf("string round trip: %q, %v", str, err)
	}
}

func TestSealerValueIsCookieSafeAndConfidential(t *testing.T) {
	s := mustSealer(t, secretNew)
	in := sealedRef{ID: "sess-123", UserKey: "alice@clinic.test"}
	a := mustSeal(t, s, "n", in)
	b := mustSeal(t, s, "n", in)
	if a == b {
		t.Error("sealing the same value twice gave the same output (no random IV?)")
	}
	for _, c := range a {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '=') {
			t.Fatalf("sealed value %q contains %q, not cookie-safe", a, c)
		}
	}
	raw, err := base64.URLEncoding.DecodeString(a)
	if err != nil {
		t.Fatal(err)
	}
	for _, secretPart := range []string{"alice@clinic.test", "sess-123", `"u"`} {
		if strings.Contains(a, secretPart) || bytes.Contains(raw, []byte(secretPart)) {
			t.Errorf("sealed value reveals %q", secretPart)
		}
	}
	// the inner (encrypted) part must not reveal it either; securecookie's
	// format is date|value|mac, and the binary MAC may itself contain '|'
	parts := bytes.SplitN(raw, []byte("|"), 3)
	if len(parts) != 3 {
		t.Fatalf("unexpected securecookie format: %d parts", len(parts))
	}
	inner, err := base64.URLEncoding.DecodeString(string(parts[1]))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(inner, []byte("alice")) {
		t.Error("the value is not encrypted")
	}
}

func TestSealerTokens(t *testing.T) {
	s := mustSealer(t, secretNew)
	tok := s.Token("csrf", "session-1")
	if len(tok) < 32 || tok != s.Token("csrf", "session-1") {
		t.Fatalf("token not stable or too short: %q", tok)
	}
	if !s.VerifyToken("csrf", "session-1", tok) {
		t.Fatal("own token refused")
	}
	for _, bad := range []struct{ purpose, value, tok string }{
		{"csrf", "session-2", tok}, {"other", "session-1", tok}, {"csrf", "session-1", ""},
		{"csrf", "session-1", tok[:len(tok)-1]}, {"csrf", "session-1", tok + "A"},
	} {
		if s.VerifyToken(bad.purpose, bad.value, bad.tok) {
			t.Errorf("accepted %+v", bad)
		}
	}
	// after a rotation the old secret's tokens still verify; new ones use the new secret
	rotated := mustSealer(t, secretNew+"-next", secretNew)
	if !rotated.VerifyToken("csrf", "session-1", tok) {
		t.Fatal("a token of the older secret is refused after rotation")
	}
	if rotated.Token("csrf", "session-1") == tok {
		t.Fatal("new tokens still use the old secret")
	}
	if other := mustSealer(t, secretNew+"-other"); other.VerifyToken("csrf", "session-1", tok) {
		t.Fatal("a token of an unknown secret verified")
	}
}
