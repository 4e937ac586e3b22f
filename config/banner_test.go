package config

import (
	"strings"
	"testing"
)

func TestBannerTextsSet(t *testing.T) {
	var b BannerTexts
	if err := b.Set("idle_title", "Still there?"); err != nil || b.IdleTitle != "Still there?" {
		t.Fatalf("%v %q", err, b.IdleTitle)
	}
	if err := b.Set("title", "x"); err == nil || !strings.Contains(err.Error(), "idle_title") {
		t.Fatalf("unknown name must list the known ones: %v", err)
	}
	if err := b.Set("announce", strings.Repeat("x", 501)); err == nil {
		t.Fatal("overlong text accepted")
	}
	if got := b.ScriptTexts(); len(got) != 1 || got["idleTitle"] != "Still there?" {
		t.Fatalf("%v", got)
	}
}
