package config

import (
	"strings"
	"unicode"
	"unicode/utf8"
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
	// RenewBlocked is shown on the absolute warning when the sign-in window
	// of "Continue session" could not open (renew_in_place). Default "The
	// sign-in window did not open (pop-ups may be blocked)."
	RenewBlocked string `json:"renew_blocked,omitempty"`
	// RenewClosed is shown when that window was closed before signing in.
	// Default "The sign-in window was closed before you signed in."
	RenewClosed string `json:"renew_closed,omitempty"`
	// SignInHereButton signs in again in the page's own window after either.
	// Default "Sign in here".
	SignInHereButton string `json:"sign_in_here_button,omitempty"`
	// RescueNotice is shown when a page's fields are refilled with what the
	// person had typed before a sign-out (rescue). Default "We kept what you
	// had typed."
	RescueNotice string `json:"rescue_notice,omitempty"`
	// UndoButton empties the refilled fields again. Default "Undo".
	UndoButton string `json:"undo_button,omitempty"`
}

// bannerTextNames are the Caddyfile names of the banner texts.
var bannerTextNames = []string{"idle_title", "idle_message", "absolute_title", "absolute_message",
	"continue_button", "logout_button", "announce", "renew_blocked", "renew_closed", "sign_in_here_button",
	"rescue_notice", "undo_button"}

// bannerScriptNames are the banner script's names of the texts, in the same order.
var bannerScriptNames = []string{"idleTitle", "idleMessage", "absoluteTitle", "absoluteMessage",
	"continueButton", "logoutButton", "announce", "renewBlocked", "renewClosed", "signInHereButton",
	"rescueNotice", "undoButton"}

// MaxBannerTextLength bounds each banner text, in bytes.
const MaxBannerTextLength = 500

// Set assigns the text named by its Caddyfile name.
func (b *BannerTexts) Set(name, value string) error {
	if err := checkBannerText(name, value); err != nil {
		return err
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
	case "renew_blocked":
		b.RenewBlocked = value
	case "renew_closed":
		b.RenewClosed = value
	case "sign_in_here_button":
		b.SignInHereButton = value
	case "rescue_notice":
		b.RescueNotice = value
	case "undo_button":
		b.UndoButton = value
	default:
		return optionErrorf("banner", "unknown text %q (known: %s)", name, strings.Join(bannerTextNames, ", "))
	}
	return nil
}

// validate checks every text, as Set does for the Caddyfile, so that a JSON
// config gets the same checks.
func (b BannerTexts) validate() error {
	for i, v := range b.fields() {
		if err := checkBannerText(bannerTextNames[i], v); err != nil {
			return err
		}
	}
	return nil
}

// fields returns the texts in the order of bannerTextNames.
func (b BannerTexts) fields() []string {
	return []string{b.IdleTitle, b.IdleMessage, b.AbsoluteTitle, b.AbsoluteMessage, b.ContinueButton, b.LogoutButton,
		b.Announce, b.RenewBlocked, b.RenewClosed, b.SignInHereButton, b.RescueNotice, b.UndoButton}
}

func checkBannerText(name, value string) error {
	if len(value) > MaxBannerTextLength {
		return optionErrorf("banner", "%s is longer than %d characters", name, MaxBannerTextLength)
	}
	if !utf8.ValidString(value) || strings.ContainsFunc(value, unicode.IsControl) {
		return optionErrorf("banner", "%s contains control characters or invalid UTF-8", name)
	}
	return nil
}

// ScriptTexts returns the overrides keyed as the banner script expects.
func (b BannerTexts) ScriptTexts() map[string]string {
	out := map[string]string{}
	for i, v := range b.fields() {
		if v != "" {
			out[bannerScriptNames[i]] = v
		}
	}
	return out
}
