package session

// Reason says why a session ended.
type Reason string

// Reasons a session ends.
const (
	ReasonIdle        Reason = "idle"        // idle timer ran out
	ReasonAbsolute    Reason = "absolute"    // absolute timer ran out
	ReasonLogout      Reason = "logout"      // the user signed out
	ReasonRevoked     Reason = "revoked"     // signed out from another device of the user
	ReasonElsewhere   Reason = "elsewhere"   // too many sessions: a newer sign-in replaced it
	ReasonBackchannel Reason = "backchannel" // the provider signed the user out
	ReasonAdmin       Reason = "admin"       // a manager revoked the user's sessions
	ReasonRenewed     Reason = "renewed"     // the user re-authenticated: a new session replaced it
	ReasonEnded       Reason = "ended"       // gone for a reason the store no longer knows
)

// Valid reports whether r is one of the known reasons.
func (r Reason) Valid() bool {
	switch r {
	case ReasonIdle, ReasonAbsolute, ReasonLogout, ReasonRevoked, ReasonElsewhere,
		ReasonBackchannel, ReasonAdmin, ReasonRenewed, ReasonEnded:
		return true
	}
	return false
}
