package sumdb

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// errShutdown cancels the work still running when Shutdown gives up
// waiting for it.
var errShutdown = errors.New("checksum database proxy shutting down")

// tasks tracks the work a SumDB does in the background, detached from the
// request that started it, so that Shutdown can wait for it. The zero
// value is ready to use; it is safe for concurrent use.
type tasks struct {
	mu      sync.Mutex
	running map[*task]struct{}
}

// task is one piece of tracked work.
type task struct {
	cancel context.CancelCauseFunc
	done   chan struct{} // closed by finish
}

// start tracks a new task and returns its context: parent, which should
// not carry the requester's cancellation, made cancellable.
func (ts *tasks) start(parent context.Context) (context.Context, *task) {
	ctx, cancel := context.WithCancelCause(parent)
	t := &task{cancel: cancel, done: make(chan struct{})}
	ts.mu.Lock()
	if ts.running == nil {
		ts.running = make(map[*task]struct{})
	}
	ts.running[t] = struct{}{}
	ts.mu.Unlock()
	return ctx, t
}

// finish ends t: it is no longer waited for.
func (ts *tasks) finish(t *task) {
	ts.mu.Lock()
	delete(ts.running, t)
	ts.mu.Unlock()
	t.cancel(nil)
	close(t.done)
}

// wait returns once no task is running. When ctx is done first, it
// cancels the tasks still running and returns an error matching ctx's
// cause.
func (ts *tasks) wait(ctx context.Context) error {
	for {
		ts.mu.Lock()
		var one *task
		for t := range ts.running {
			one = t
			break
		}
		n := len(ts.running)
		ts.mu.Unlock()
		if one == nil {
			return nil
		}
		select {
		case <-one.done:
		case <-ctx.Done():
			ts.mu.Lock()
			for t := range ts.running {
				t.cancel(errShutdown)
			}
			ts.mu.Unlock()
			return fmt.Errorf("waiting for %d checksum database lookups and fetches: %w", n, context.Cause(ctx))
		}
	}
}
