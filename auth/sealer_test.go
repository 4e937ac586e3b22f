package auth

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/gorilla/securecookie"
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

func TestSealerRejectsTampering(t *testing.T) {
	s := mustSealer(t, secretNew)
	in := sealedRef{ID: "sess-123", UserKey: "alice", N: 1}
	v := mustSeal(t, s, "n", in)
	orig, err := base64.URLEncoding.DecodeString(v)
	if err != nil {
		t.Fatal(err)
	}
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	rejected := 0
	for i := 0; i < len(v); i++ {
		if v[i] == '=' {
			continue
		}
		// replace the character with its neighbour in the alphabet
		j := strings.IndexByte(alphabet, v[i])
		b := []byte(v)
		b[i] = alphabet[(j+1)%len(alphabet)]
		tampered := string(b)
		var out sealedRef
		if err := s.Open("n", tampered, &out); err == nil {
			// only acceptable when the change was in base64 padding bits,
			// i.e. the decoded bytes are exactly the original ones
			dec, derr := base64.URLEncoding.DecodeString(tampered)
			if derr != nil || !bytes.Equal(dec, orig) {
				t.Errorf("tampered value (char %d) opened as %+v", i, out)
			}
			continue
		}
		rejected++
	}
	if rejected < len(v)-4 {
		t.Errorf("only %d of %d single-character changes were rejected", rejected, len(v))
	}

	// a bit flip in the decoded bytes (date, ciphertext or MAC)
	for _, pos := range []int{0, len(orig) / 3, len(orig) / 2, len(orig) - 1} {
		b := append([]byte(nil), orig...)
		b[pos] ^= 0x01
		var out sealedRef
		if err := s.Open("n", base64.URLEncoding.EncodeToString(b), &out); err == nil {
			t.Errorf("bit flip at decoded byte %d accepted: %+v", pos, out)
		}
	}
}

func TestSealerRejectsTruncation(t *testing.T) {
	s := mustSealer(t, secretNew)
	v := mustSeal(t, s, "n", sealedRef{ID: "sess-123", UserKey: "alice"})
	trimmed := strings.TrimRight(v, "=")
	for _, tv := range []string{
		"", v[:1], v[:len(v)/2], v[:len(v)-1], trimmed[:len(trimmed)-1],
		trimmed[:len(trimmed)-4], v[4:], v[len(v)/2:],
	} {
		var out sealedRef
		if err := s.Open("n", tv, &out); err == nil {
			t.Errorf("truncated value %q (of %d chars) opened as %+v", tv, len(v), out)
		}
	}
	// appended garbage
	var out sealedRef
	if err := s.Open("n", v+"AAAA", &out); err == nil {
		t.Errorf("value with appended data opened as %+v", out)
	}
}

func TestSealerBindsName(t *testing.T) {
	s := mustSealer(t, secretNew)
	v := mustSeal(t, s, "sessiongate-login", sealedRef{ID: "x", UserKey: "y"})
	for _, other := range []string{"sessiongate-session", "sessiongate-login2", "sessiongate-logi", ""} {
		var out sealedRef
		if err := s.Open(other, v, &out); err == nil {
			t.Errorf("value sealed under sessiongate-login opened under %q", other)
		}
	}
	var out sealedRef
	if err := s.Open("sessiongate-login", v, &out); err != nil {
		t.Errorf("value does not open under its own name: %v", err)
	}
}

func TestSealerRejectsUnknownSecret(t *testing.T) {
	v := mustSeal(t, mustSealer(t, secretOther), "n", sealedRef{ID: "x", UserKey: "y"})
	var out sealedRef
	if err := mustSealer(t, secretNew).Open("n", v, &out); err == nil {
		t.Errorf("value sealed with another secret opened: %+v", out)
	}
	if err := mustSealer(t, secretNew, secretOld).Open("n", v, &out); err == nil {
		t.Errorf("value sealed with another secret opened by [new, old]: %+v", out)
	}
	// a value sealed by raw securecookie with the secret itself as key (no
	// HKDF) is not accepted either
	raw := securecookie.New([]byte(secretNew), []byte(secretNew[:32]))
	raw.SetSerializer(securecookie.JSONEncoder{})
	rv, err := raw.Encode("n", sealedRef{ID: "x", UserKey: "y"})
	if err != nil {
		t.Fatal(err)
	}
	if err := mustSealer(t, secretNew).Open("n", rv, &out); err == nil {
		t.Errorf("value sealed with un-derived keys opened: %+v", out)
	}
}

func TestSealerRotation(t *testing.T) {
	in := sealedRef{ID: "sess-1", UserKey: "alice", N: 7}
	oldOnly := mustSealer(t, secretOld)
	rotated := mustSealer(t, secretNew, secretOld)
	newOnly := mustSealer(t, secretNew)

	byOld := mustSeal(t, oldOnly, "n", in)

	var out sealedRef
	if err := rotated.Open("n", byOld, &out); err != nil || out != in {
		t.Errorf("[new, old] cannot open a value sealed by [old]: %+v, %v", out, err)
	}
	out = sealedRef{}
	if err := newOnly.Open("n", byOld, &out); err == nil {
		t.Errorf("[new] opened a value sealed by [old]: %+v", out)
	}

	// the rotated Sealer seals with the new (first) secret
	byRotated := mustSeal(t, rotated, "n", in)
	out = sealedRef{}
	if err := newOnly.Open("n", byRotated, &out); err != nil || out != in {
		t.Errorf("[new] cannot open a value sealed by [new, old]: %+v, %v", out, err)
	}
	if err := oldOnly.Open("n", byRotated, &out); err == nil {
		t.Error("[old] opened a value sealed by [new, old]: the old secret still seals")
	}
}

func TestSealerRejectsLongValues(t *testing.T) {
	s := mustSealer(t, secretNew)

	// Seal refuses to produce a value the browser may drop.
	big := sealedRef{ID: strings.Repeat("x", 5000), UserKey: "u"}
	if v, err := s.Seal("n", big); err == nil {
		t.Errorf("Seal of a large value succeeded (%d chars)", len(v))
	}

	// A validly sealed value longer than 4096 characters is rejected by Open.
	// Build one with a Sealer of the same secret whose codec has no limit.
	unlimited := mustSealer(t, secretNew)
	for _, c := range unlimited.codecs {
		c.(*securecookie.SecureCookie).MaxLength(0)
	}
	long, err := unlimited.Seal("n", big)
	if err != nil {
		t.Fatal(err)
	}
	if len(long) <= 4096 {
		t.Fatalf("test value is only %d chars", len(long))
	}
	var out sealedRef
	if err := unlimited.Open("n", long, &out); err == nil {
		t.Errorf("a %d-char value was opened", len(long))
	} else if !strings.Contains(err.Error(), "too long") {
		t.Errorf("a %d-char value: error %q, want \"too long\"", len(long), err)
	}
	if err := s.Open("n", long, &out); err == nil {
		t.Errorf("a %d-char value was opened", len(long))
	}

	// garbage just over the limit is rejected before decoding
	if err := s.Open("n", strings.Repeat("A", 4097), &out); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("4097 chars of garbage: %v, want a \"too long\" error", err)
	}

	// and a value well under the limit still works
	small := sealedRef{ID: strings.Repeat("x", 1000), UserKey: "u"}
	v := mustSeal(t, s, "n", small)
	if err := s.Open("n", v, &out); err != nil || out != small {
		t.Errorf("a %d-char value failed: %v", len(v), err)
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
