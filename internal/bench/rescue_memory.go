package bench

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessiongate/sessiongate/auth"
	"github.com/sessiongate/sessiongate/session"
)

// RescueMemory is Redis memory of rescued work (rescue on).
type RescueMemory struct {
	// Notes is how many typed notes were kept, one per user; NoteBytes the
	// sealed size of one, PerNote the used_memory growth per note.
	Notes     int
	NoteBytes int
	PerNote   float64
	// BoundUsage is MEMORY USAGE of one user's rescues filled to the bound
	// (session.MaxRescueSlots, session.MaxRescueBytes), BoundPieces how many
	// pieces that took.
	BoundUsage  int64
	BoundPieces int
}

// rescueNotes is how many users get one kept note in the measurement.
const rescueNotes = 2000

// measureRescues keeps one typed note (about 2 KB of text in three fields,
// sealed as the gateway seals it) for each of rescueNotes users and
// measures used_memory; then fills one user's rescues to the per-user bound
// with 128 KiB pieces and measures the hash.
func measureRescues(ctx context.Context, rs *redisServer, opt *redis.Options, baseClients int64) (*RescueMemory, error) {
	sealer, err := auth.NewBoundSealer([]string{strings.Repeat("b", 48)}, sessionIssuer+" bench")
	if err != nil {
		return nil, err
	}
	note := fmt.Sprintf(`{"url":"/patients/17/notes?tab=progress","fields":[{"n":"note","i":3,"v":%q},{"n":"plan","i":4,"v":"follow up in 2 weeks"},{"n":"code","i":5,"v":"Z09"}]}`,
		strings.Repeat("Patient reports improvement; vitals stable. ", 45))
	sealed, err := sealer.SealData("sessiongate-rescue", []byte(note))
	if err != nil {
		return nil, err
	}
	res := &RescueMemory{Notes: rescueNotes, NoteBytes: len(sealed)}
	before, err := usedMemorySettled(ctx, rs, baseClients)
	if err != nil {
		return nil, err
	}
	client := redis.NewClient(opt)
	store := session.NewRedisStore(client, noCopy)
	err = forEachParallel(ctx, 32, rescueNotes, func(u int) error {
		s := syntheticSession(20_000_000+u, 0)
		return store.KeepRescue(ctx, s.UserKey, "browser|typed|page", []byte(sealed), 15*time.Minute)
	})
	if err != nil {
		return nil, fmt.Errorf("keep rescue: %w", err)
	}
	if err := client.Close(); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	after, err := usedMemorySettled(ctx, rs, baseClients)
	if err != nil {
		return nil, err
	}
	res.PerNote = float64(after-before) / float64(rescueNotes)

	client = redis.NewClient(opt)
	defer func() { _ = client.Close() }()
	store = session.NewRedisStore(client, noCopy)
	full := syntheticSession(30_000_000, 0)
	piece := []byte(strings.Repeat("x", 128<<10))
	for res.BoundPieces < 4*session.MaxRescueSlots {
		err := store.KeepRescue(ctx, full.UserKey, fmt.Sprintf("browser|sent|%d", res.BoundPieces), piece, 15*time.Minute)
		if errors.Is(err, session.ErrRescueFull) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("keep rescue: %w", err)
		}
		res.BoundPieces++
	}
	if res.BoundUsage, err = client.MemoryUsage(ctx, "sg:rescue:{"+full.UserKey+"}", 0).Result(); err != nil {
		return nil, fmt.Errorf("redis MEMORY USAGE: %w", err)
	}
	return res, nil
}
