package session

import (
	"context"
	"errors"
	"time"
)

// Rescues keeps work a person would otherwise lose to a sign-out — what a
// page had typed but not sent when the session ended, a form sent after it
// had ended — until the same person signs in again. The data is opaque here
// (the gateway seals it); each user's rescues are bounded by MaxRescueSlots
// and MaxRescueBytes. Errors wrap ErrUnavailable as for Sessions.
type Rescues interface {
	// KeepRescue stores data in the user's slot for ttl, replacing what the
	// slot held. It returns ErrRescueFull, keeping nothing, when the user's
	// other live rescues leave no room.
	KeepRescue(ctx context.Context, userKey, slot string, data []byte, ttl time.Duration) error
	// TakeRescue returns the slot's data and forgets it; nil when the slot
	// is empty or its time is up.
	TakeRescue(ctx context.Context, userKey, slot string) ([]byte, error)
	// PeekRescue returns the slot's data and keeps it; nil when the slot is
	// empty or its time is up.
	PeekRescue(ctx context.Context, userKey, slot string) ([]byte, error)
	// DropRescues forgets every slot of the user whose name starts with
	// prefix and returns how many slots it forgot.
	DropRescues(ctx context.Context, userKey, prefix string) (int, error)
}

// Bounds of one user's rescues, together.
const (
	// MaxRescueSlots is how many rescues a user may have at once.
	MaxRescueSlots = 16
	// MaxRescueBytes is how many bytes of rescued data a user may have at once.
	MaxRescueBytes = 2 << 20
)

// ErrRescueFull says that a user's rescues are at their bound.
var ErrRescueFull = errors.New("session store: this user's rescued work is at its bound")
