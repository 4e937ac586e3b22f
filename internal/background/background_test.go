package background

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestStopCancelsAndWaits(t *testing.T) {
	g := New()
	var ended atomic.Int32
	for range 3 {
		if !g.Go(func(ctx context.Context) {
			<-ctx.Done()
			time.Sleep(10 * time.Millisecond) // Stop must wait for this
			ended.Add(1)
		}) {
			t.Fatal("Go refused before Stop")
		}
	}
	g.Stop()
	if n := ended.Load(); n != 3 {
		t.Fatalf("Stop returned with %d of 3 goroutines ended", n)
	}
	if g.Context().Err() == nil {
		t.Fatal("context not cancelled after Stop")
	}
	if g.Go(func(context.Context) { t.Error("ran after Stop") }) {
		t.Fatal("Go accepted work after Stop")
	}
	g.Stop() // a second Stop returns at once
}
