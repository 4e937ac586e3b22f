package auth

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/gorilla/securecookie"
)

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
