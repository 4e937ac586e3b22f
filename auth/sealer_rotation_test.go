package auth

import (
	"bytes"
	"strings"
	"testing"

	"github.com/gorilla/securecookie"
)

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

// TestSealDataRoundTripAndSeparation: data sealed for the store opens only
// as data, under its name, and survives a rotation; 1 MiB fits.
func TestSealDataRoundTripAndSeparation(t *testing.T) {
	oldS, err := NewBoundSealer([]string{strings.Repeat("o", 40)}, "iss c")
	if err != nil {
		t.Fatal(err)
	}
	rotated, err := NewBoundSealer([]string{strings.Repeat("n", 40), strings.Repeat("o", 40)}, "iss c")
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("note \x00 |"), 1<<17) // 1 MiB
	v, err := oldS.SealData("rescue", data)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.OpenData("rescue", v); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("open after rotation: %d bytes, %v", len(got), err)
	}
	if _, err := rotated.OpenData("other", v); err == nil {
		t.Fatal("data opened under another name")
	}
	var anything any
	if err := rotated.Open("rescue", v, &anything); err == nil {
		t.Fatal("sealed data opened as a cookie")
	}
	c, err := oldS.Seal("rescue", "x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rotated.OpenData("rescue", c); err == nil {
		t.Fatal("a sealed cookie opened as data")
	}
}
