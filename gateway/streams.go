package gateway

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/sessiongate/sessiongate/internal/background"
	"github.com/sessiongate/sessiongate/session"
)

// A session's end ends what it opened: a proxied response that is still
// running when its session ends — a WebSocket, server-sent events, a long
// download — is cut off, whether the session ran out of time, was signed out
// on this node, or was ended on another node.

// Causes with which a watched response's context is cancelled.
var (
	// ErrSessionEnded: the response's session ended while it ran.
	ErrSessionEnded = errors.New("sessiongate: the session of this response ended")
	// ErrStoreUnreachable: the session could not be re-checked (fail closed).
	ErrStoreUnreachable = errors.New("sessiongate: the session of this response could not be re-checked")
	// ErrGatewayStopped: the gateway was stopped (a config reload), so
	// nothing would watch the response any more.
	ErrGatewayStopped = errors.New("sessiongate: the gateway that watched this response stopped")
)

// Default timings of the stream watcher.
const (
	// longLivedAfter is how long a proxied response runs before its session
	// is watched; WebSocket and other upgrades are watched from the start.
	longLivedAfter = 2 * time.Second
	// recheckEvery is how often the sessions of watched responses are
	// re-checked in the store: a response outlives its session by at most
	// this much when the end was decided elsewhere (a deadline, another
	// node); an end decided on this node cuts it off at once.
	recheckEvery = time.Second
	// recheckTimeout bounds one store check of the watcher.
	recheckTimeout = 5 * time.Second
)

// streamKey names one session.
type streamKey struct{ user, id string }

// stream is one proxied response being (or about to be) watched.
type stream struct {
	ref    session.Ref
	cancel context.CancelCauseFunc
	// timer makes the response long-lived (nil for an upgrade, watched at once)
	timer *time.Timer
	// for the audit event when the watcher finds the end
	userAgent, remoteAddr, host string
	// done is set (under streamWatcher.mu) when the response has finished.
	done bool
}

// streamWatcher tracks long-lived proxied responses by session and cancels
// them when their session ends. It has one goroutine, running only while
// there is something to watch.
type streamWatcher struct {
	// recheck checks a session without counting as activity and reports
	// whether it is still valid.
	recheck func(ctx context.Context, s *stream) (bool, error)
	log     *zap.Logger
	after   time.Duration
	every   time.Duration

	mu      sync.Mutex
	streams map[streamKey]map[*stream]struct{}
	running bool
	stopped bool
	// background runs the watcher's goroutine and stops it
	background *background.Group
}

func newStreamWatcher(recheck func(context.Context, *stream) (bool, error), log *zap.Logger,
	bg *background.Group) *streamWatcher {
	return &streamWatcher{recheck: recheck, log: log, after: longLivedAfter, every: recheckEvery,
		streams: map[streamKey]map[*stream]struct{}{}, background: bg}
}

// track gives r a context that is cancelled when ref's session ends while
// the response is still running. The caller runs the response with the
// returned request and calls finish with the returned stream when it is
// over.
func (w *streamWatcher) track(r *http.Request, ref session.Ref) (*http.Request, *stream) {
	ctx, cancel := context.WithCancelCause(r.Context())
	s := &stream{ref: ref, cancel: cancel, userAgent: r.UserAgent(), remoteAddr: r.RemoteAddr, host: r.Host}
	if isUpgrade(r) {
		w.add(s)
	} else {
		s.timer = time.AfterFunc(w.after, func() { w.add(s) })
	}
	return r.WithContext(ctx), s
}

// finish ends the tracking of a response that is over.
func (w *streamWatcher) finish(s *stream) {
	if s.timer == nil || !s.timer.Stop() {
		w.remove(s)
	}
	s.cancel(nil)
}

// isUpgrade reports a request for a protocol switch (WebSocket).
func isUpgrade(r *http.Request) bool {
	return r.Header.Get("Upgrade") != "" || r.Method == http.MethodConnect
}

func (w *streamWatcher) add(s *stream) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s.done {
		return
	}
	if w.stopped {
		s.cancel(ErrGatewayStopped)
		return
	}
	k := streamKey{s.ref.UserKey, s.ref.ID}
	if w.streams[k] == nil {
		w.streams[k] = map[*stream]struct{}{}
	}
	w.streams[k][s] = struct{}{}
	if !w.running {
		w.running = w.background.Go(w.run)
	}
}

func (w *streamWatcher) remove(s *stream) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s.done = true
	k := streamKey{s.ref.UserKey, s.ref.ID}
	if set := w.streams[k]; set != nil {
		delete(set, s)
		if len(set) == 0 {
			delete(w.streams, k)
		}
	}
}

// end cancels every watched response of one session with cause.
func (w *streamWatcher) end(user, id string, cause error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	k := streamKey{user, id}
	for s := range w.streams[k] {
		s.cancel(cause)
	}
	delete(w.streams, k)
}

// close cancels everything watched; responses that become long-lived later
// are cancelled as they do. The watcher's goroutine ends with its
// background group.
func (w *streamWatcher) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped {
		return
	}
	w.stopped = true
	for k, set := range w.streams {
		for s := range set {
			s.cancel(ErrGatewayStopped)
		}
		delete(w.streams, k)
	}
}

// run re-checks the watched sessions every w.every until there is nothing
// left to watch or ctx is done.
func (w *streamWatcher) run(ctx context.Context) {
	tick := time.NewTicker(w.every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		due := w.snapshot()
		if due == nil {
			return
		}
		for _, s := range due {
			w.recheckOne(ctx, s)
		}
	}
}

// snapshot returns one stream of each watched session, or nil (and marks
// the watcher idle) when there is none.
func (w *streamWatcher) snapshot() []*stream {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.streams) == 0 {
		w.running = false
		return nil
	}
	due := make([]*stream, 0, len(w.streams))
	for _, set := range w.streams {
		for s := range set {
			due = append(due, s)
			break
		}
	}
	return due
}

func (w *streamWatcher) recheckOne(ctx context.Context, s *stream) {
	ctx, cancel := context.WithTimeout(ctx, recheckTimeout)
	defer cancel()
	valid, err := w.recheck(ctx, s)
	switch {
	case ctx.Err() != nil && w.background.Context().Err() != nil:
		// stopped: close has cut the watched responses off already
	case err != nil:
		w.log.Error("session store unavailable; closing the session's long-lived responses", zap.Error(err))
		w.end(s.ref.UserKey, s.ref.ID, ErrStoreUnreachable)
	case !valid:
		w.log.Info("session ended; closing its long-lived responses",
			zap.String("session", session.LogID(s.ref.ID)))
		w.end(s.ref.UserKey, s.ref.ID, ErrSessionEnded)
	}
}

// auditRequest stands in for the request of a stream in the audit event.
func (s *stream) auditRequest() *http.Request {
	return &http.Request{Host: s.host, RemoteAddr: s.remoteAddr,
		Header: http.Header{"User-Agent": []string{s.userAgent}}}
}

// endingStore is the gateway's store: ending a session on this node also
// cuts off its watched responses at once (logout, remote sign-out, a
// manager's revocation, back-channel logout, sessions replaced at sign-in).
type endingStore struct {
	session.Sessions
	streams *streamWatcher
}

// End implements session.Sessions.
func (s endingStore) End(ctx context.Context, ref session.Ref, reason session.Reason) error {
	err := s.Sessions.End(ctx, ref, reason)
	if err == nil {
		s.streams.end(ref.UserKey, ref.ID, ErrSessionEnded)
	}
	return err
}

// Create implements session.Sessions.
func (s endingStore) Create(ctx context.Context, sess *session.Session, limits session.LimitTable,
	opts session.CreateOptions) ([]string, error) {
	ended, err := s.Sessions.Create(ctx, sess, limits, opts)
	for _, id := range ended {
		s.streams.end(sess.UserKey, id, ErrSessionEnded)
	}
	return ended, err
}
