package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"testing"
)

// The fuzz sealer opens with fuzzSecretCurrent and fuzzSecretOlder (a
// rotation in progress); fuzzSecretUnknown is another site's.
const (
	fuzzSecretCurrent = "fuzz-sealer-current-secret-0123456789abcdef"
	fuzzSecretOlder   = "fuzz-sealer-older-secret-0123456789abcdef01"
	fuzzSecretUnknown = "fuzz-sealer-unknown-secret-0123456789abcdef"
)

// fuzzSeal is a value sealed once and committed (also in
// testdata/fuzz/FuzzSealerOpen), with what it must open to.
type fuzzSeal struct {
	name, value, payload string
	opens                bool // sealed with a secret of the fuzz sealer
}

var fuzzSeals = []fuzzSeal{
	{"sessiongate-session", "MTc5NTUxODcwN3xWajViSHN2RGRaSDFSMHpORW02Y19XYnJRUkhsVGpTOEVpMlY1OHdSRWVSNlZ6TFF1X1R1Sks4TlRlalNBd0dPNzFzTzBpelRNeVJJfCLWI1R2P2fXMfvBv9iK121OPEsZqtsYZqc2bW5Ou1ua",
		"payload sealed with the current secret", true},
	{"sessiongate-session", "MTc5NTUxODcwN3xUUFFyckt0LTdqUXJWZ25jRGZlNzZ5NDF3MDQzYmdFUWNZZTJPQmhCSDFCOHFhZkNYNlRudEVhbkVqejZlRmdiaVVUd1VocTNZdz09fPE_7hHnRDq2WHW92mP8ZEeYKMxGs9GN3eseA9QnMlv3",
		"payload sealed with the older secret", true},
	{"sessiongate-login", "MTc5NTUxODcwN3xPd3ZLMmd6SEdJUEtZSWtpcDI3R1VhRVp6clBwbUxsYl9jMHlOcTdPczh5RWxHbE41YW1aVUc2Yk4tVG11ZmpoNmVuMHyPgwv72XrJf9t-bfLQaOdNqk0fjmF5jSYotqVtyA9HGQ==",
		"a login state under another name", true},
	{"", "MTc5NTUxODcwN3wyNXREMzdWaFhBbWROcEVfLXcwb202aElyUT09fNaoHjmM-dz6pF-e5wNbd0JcpFRqDS2hAFsU8WN4cP3D",
		"", true},
	{"sessiongate-session", "MTc5NTUxODcwN3xsU2I1SHJaTVhNTENrQW4xMkZqTzlZeXBHeU1qZHpoVDF4RDNFT3V3TVJHb3lQRGdpWjY0SHRtUExEUGw4T0JBaG5NSG1FeExaMlU9fEwW_IvW2gwqg43BA9zAHo5X7s9QG-KQ0wrF3xnEoGMv",
		"payload sealed with an unknown secret", false},
}

func TestFuzzSealerSeeds(t *testing.T) {
	s := mustSealer(t, fuzzSecretCurrent, fuzzSecretOlder)
	for _, seed := range fuzzSeals {
		var out string
		err := s.Open(seed.name, seed.value, &out)
		if seed.opens && (err != nil || out != seed.payload) {
			t.Errorf("seed %q does not open: %q %v", seed.payload, out, err)
		}
		if !seed.opens && err == nil {
			t.Errorf("seed %q opens", seed.payload)
		}
	}
	if err := mustSealer(t, fuzzSecretUnknown).Open(fuzzSeals[4].name, fuzzSeals[4].value, new(string)); err != nil {
		t.Errorf("the unknown-secret seed does not open with its own secret: %v", err)
	}
}

func fuzzSealer(tb testing.TB, secrets ...string) *Sealer {
	tb.Helper()
	s, err := NewSealer(secrets)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// decoded is what securecookie reads from a value: the base64url decoding
// (which, like every base64 decoder of the standard library, skips CR and
// LF). Two values with the same decoding are the same seal.
func decoded(v string) ([]byte, bool) {
	b, err := base64.URLEncoding.DecodeString(v)
	return b, err == nil
}

// FuzzSealerOpen checks that Open never panics and never accepts a value
// that Seal did not produce with one of the sealer's secrets under that
// very name, and that Seal→Open round-trips any payload: under the same
// name and secrets only, through a rotation, and never with another
// site's secret.
func FuzzSealerOpen(f *testing.F) {
	for _, seed := range fuzzSeals {
		f.Add(seed.name, seed.value, seed.payload)
	}
	sealer := fuzzSealer(f, fuzzSecretCurrent, fuzzSecretOlder)
	currentOnly := fuzzSealer(f, fuzzSecretCurrent)
	olderOnly := fuzzSealer(f, fuzzSecretOlder)
	unknown := fuzzSealer(f, fuzzSecretUnknown)
	rotatedAgain := fuzzSealer(f, fuzzSecretUnknown, fuzzSecretCurrent)

	f.Fuzz(func(t *testing.T, name, value, payload string) {
		// Open: only a known seal, under its own name, opens, to its own payload
		var out string
		if err := sealer.Open(name, value, &out); err == nil {
			got, ok := decoded(value)
			known := false
			for _, seed := range fuzzSeals {
				want, _ := decoded(seed.value)
				if ok && bytes.Equal(got, want) {
					known = true
					if !seed.opens || name != seed.name || out != seed.payload {
						t.Fatalf("Open(%q, %q) = %q: the seal of %q under %q (opens: %v)", name, value, out, seed.payload, seed.name, seed.opens)
					}
				}
			}
			if !known {
				t.Fatalf("Open(%q, %q) accepted a value that no secret of the sealer sealed (%q)", name, value, out)
			}
		}
		// Open into a struct, as the gateway does: no panic whatever the value
		var ref struct {
			ID string `json:"i"`
			N  int64  `json:"c"`
		}
		_ = sealer.Open(name, value, &ref)

		// Seal → Open
		v, err := sealer.Seal(name, payload)
		if err != nil {
			// only a payload too large for a cookie may fail
			if j, _ := json.Marshal(payload); len(j) < 2000 {
				t.Fatalf("Seal(%q, %d-byte payload): %v", name, len(payload), err)
			}
			return
		}
		// values travel as JSON, which carries text: invalid UTF-8 comes back as U+FFFD
		var want string
		if j, err := json.Marshal(payload); err != nil || json.Unmarshal(j, &want) != nil {
			t.Fatalf("JSON round trip of %q: %v", payload, err)
		}
		if len(v) > maxCookieValue {
			t.Fatalf("Seal produced %d characters", len(v))
		}
		for _, c := range []byte(v) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '=') {
				t.Fatalf("Seal produced %q, not cookie-safe", v)
			}
		}
		for _, tc := range []struct {
			what   string
			s      *Sealer
			name   string
			opens  bool
			exactV bool
		}{
			{"the sealer itself", sealer, name, true, true},
			{"the current secret alone", currentOnly, name, true, true},
			{"after the next rotation", rotatedAgain, name, true, true},
			{"the older secret alone", olderOnly, name, false, false},
			{"another site's secret", unknown, name, false, false},
			{"another name", sealer, name + "x", false, false},
			{"a prefix of the name", sealer, name[:len(name)/2], len(name) == 0, true},
		} {
			var got string
			err := tc.s.Open(tc.name, v, &got)
			if tc.opens && (err != nil || got != want) {
				t.Fatalf("%s: Open(%q, Seal(%q, %q)) = %q, %v", tc.what, tc.name, name, payload, got, err)
			}
			if !tc.opens && err == nil {
				t.Fatalf("%s: Open(%q, Seal(%q, %q)) succeeded (%q)", tc.what, tc.name, name, payload, got)
			}
		}
		// a single-bit change anywhere in the decoded bytes is refused
		raw, _ := decoded(v)
		for _, i := range []int{0, len(raw) / 2, len(raw) - 1} {
			b := bytes.Clone(raw)
			b[i] ^= 0x01
			if err := sealer.Open(name, base64.URLEncoding.EncodeToString(b), new(string)); err == nil {
				t.Fatalf("a bit flip at byte %d of Seal(%q, %q) opened", i, name, payload)
			}
		}
	})
}
