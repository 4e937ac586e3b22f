package config

import (
	"fmt"
	"strings"
)

// BannerTexts override the warning banner's English strings. Empty fields
// keep the default. Placeholders: {inactive} (e.g. "13 minutes"),
// {countdown} (m:ss), {time} (HH:MM of the absolute deadline).
type BannerTexts struct {
	// IdleTitle heads the idle warning. Default "Are you still there?".
	IdleTitle string `json:"idle_title,omitempty"`
	// IdleMessage default: "You've been inactive for {inactive} — you will be signed out in {countdown}."
	IdleMessage string `json:"idle_message,omitempty"`
	// AbsoluteTitle heads the absolute warning. Default "Your session is ending".
	AbsoluteTitle string `json:"absolute_title,omitempty"`
	// AbsoluteMessage default: "Your session ends at {time} — in {countdown}. Save your work."
	AbsoluteMessage string `json:"absolute_message,omitempty"`
	// ContinueButton default "Continue session".
	ContinueButton string `json:"continue_button,omitempty"`
	// LogoutButton default "Log out now".
	LogoutButton string `json:"logout_button,omitempty"`
	// Announce is read by screen readers at steps of the countdown.
	// Default "You will be signed out in {countdown}."
	Announce string `json:"announce,omitempty"`
}

// bannerTextNames are the Caddyfile names of the banner texts.
var bannerTextNames = []string{"idle_title", "idle_message", "absolute_title", "absolute_message",
	"continue_button", "logout_button", "announce"}

// Set assigns the text named by its Caddyfile name.
func (b *BannerTexts) Set(name, value string) error {
	if len(value) > 500 {
		return fmt.Errorf("banner: %s is longer than 500 characters", name)
	}
	switch name {
	case "idle_title":
		b.IdleTitle = value
	case "idle_message":
		b.IdleMessage = value
	case "absolute_title":
		b.AbsoluteTitle = value
	case "absolute_message":
		b.AbsoluteMessage = value
	case "continue_button":
		b.ContinueButton = value
	case "logout_button":
		b.LogoutButton = value
	case "announce":
		b.Announce = value
	default:
		return fmt.Errorf("banner: unknown text %q (known: %s)", name, strings.Join(bannerTextNames, ", "))
	}
	return nil
}

// ScriptTexts returns the overrides keyed as the banner script expects.
func (b BannerTexts) ScriptTexts() map[string]string {
	out := map[string]string{}
	for _, kv := range [][2]string{
		{"idleTitle", b.IdleTitle}, {"idleMessage", b.IdleMessage}, {"absoluteTitle", b.AbsoluteTitle},
		{"absoluteMessage", b.AbsoluteMessage}, {"continueButton", b.ContinueButton},
		{"logoutButton", b.LogoutButton}, {"announce", b.Announce},
	} {
		if kv[1] != "" {
			out[kv[0]] = kv[1]
		}
	}
	return out
}
