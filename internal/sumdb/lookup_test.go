package sumdb_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/gomirror/gomirror/internal/sumdb"
)

// lookupResult is what one Lookup returned.
type lookupResult struct {
	zip, mod string
	err      error
}

// goLookup starts a Lookup of the world's good module with ctx.
func (w *world) goLookup(ctx context.Context) <-chan lookupResult {
	ch := make(chan lookupResult, 1)
	good := w.mods["good"]
	go func() {
		zip, mod, err := w.sumdb.Lookup(ctx, good.Path, good.Version.Version)
		ch <- lookupResult{zip, mod, err}
	}()
	return ch
}

// waitWaiters waits until n callers wait for the lookup of the good module.
func (w *world) waitWaiters(t *testing.T, n int) {
	t.Helper()
	good := w.mods["good"]
	for sumdb.Waiters(w.sumdb, good.Path, good.Version.Version) != n {
		if t.Context().Err() != nil {
			t.Fatalf("waiting for %d callers of the lookup: test ended", n)
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// TestLookupDeadline checks that a lookup ends with its caller's deadline:
// once Lookup has returned, nothing is left for Shutdown to wait for,
// though the database still holds the request.
func TestLookupDeadline(t *testing.T) {
	w := newWorld(t, time.Hour)
	w.db.Hold()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	good := w.mods["good"]
	_, _, err := w.sumdb.Lookup(ctx, good.Path, good.Version.Version)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Lookup past its deadline: got error %v, want context.DeadlineExceeded", err)
	}
	if err := w.sumdb.Shutdown(t.Context()); err != nil {
		t.Errorf("Shutdown after the only caller left: got %v, want nil (the lookup must be gone)", err)
	}
}

// TestLookupWaiters checks that a shared lookup lives as long as one of
// its callers waits for it, and no longer.
func TestLookupWaiters(t *testing.T) {
	good := func(w *world) (string, string) { return w.mods["good"].ZipHash, w.mods["good"].ModHash }

	t.Run("one leaves, the other gets the result", func(t *testing.T) {
		w := newWorld(t, time.Hour)
		held, release := w.db.Hold()
		ctx1, cancel1 := context.WithCancel(t.Context())
		defer cancel1()
		first := w.goLookup(ctx1)
		<-held
		second := w.goLookup(t.Context())
		w.waitWaiters(t, 2)
		cancel1()
		if r := <-first; !errors.Is(r.err, context.Canceled) {
			t.Fatalf("first caller, cancelled: got %v, want context.Canceled", r.err)
		}
		release()
		r := <-second
		wantZip, wantMod := good(w)
		if r.err != nil || r.zip != wantZip || r.mod != wantMod {
			t.Fatalf("second caller: got %q, %q, %v; want the module's hashes", r.zip, r.mod, r.err)
		}
		if got := w.db.LookupRequests(); got != 1 {
			t.Errorf("got %d lookups sent to the database, want 1 (shared, not restarted)", got)
		}
	})

	t.Run("all leave, the lookup is cancelled", func(t *testing.T) {
		w := newWorld(t, time.Hour)
		held, _ := w.db.Hold()
		ctx1, cancel1 := context.WithCancel(t.Context())
		ctx2, cancel2 := context.WithCancel(t.Context())
		first := w.goLookup(ctx1)
		<-held
		second := w.goLookup(ctx2)
		w.waitWaiters(t, 2)
		cancel1()
		cancel2()
		for i, ch := range []<-chan lookupResult{first, second} {
			if r := <-ch; !errors.Is(r.err, context.Canceled) {
				t.Errorf("caller %d, cancelled: got %v, want context.Canceled", i+1, r.err)
			}
		}
		// The database still holds the request: only cancelling the
		// lookup lets Shutdown return.
		if err := w.sumdb.Shutdown(t.Context()); err != nil {
			t.Errorf("Shutdown after every caller left: got %v, want nil", err)
		}
		if got := sumdb.Waiters(w.sumdb, w.mods["good"].Path, w.mods["good"].Version.Version); got != 0 {
			t.Errorf("callers waiting after all left: got %d, want 0", got)
		}
	})
}

func TestShutdown(t *testing.T) {
	t.Run("waits for lookups", func(t *testing.T) {
		w := newWorld(t, time.Hour)
		held, release := w.db.Hold()
		res := w.goLookup(t.Context())
		<-held
		done := make(chan error, 1)
		go func() { done <- w.sumdb.Shutdown(t.Context()) }()
		release()
		if err := <-done; err != nil {
			t.Fatalf("Shutdown: got %v, want nil", err)
		}
		// The lookup had finished, its tree head saved, when Shutdown
		// returned.
		data, err := os.ReadFile(filepath.Join(w.stateDir, dbName, "latest"))
		if err != nil {
			t.Fatalf("state after Shutdown: %v", err)
		}
		v, _ := note.NewVerifier(w.db.Key)
		if _, err := note.Open(data, note.VerifierList(v)); err != nil {
			t.Errorf("state after Shutdown: got %q (%v), want a signed tree head", data, err)
		}
		if r := <-res; r.err != nil {
			t.Errorf("Lookup during Shutdown: got %v, want none", r.err)
		}
	})
	t.Run("gives up when ctx is done", func(t *testing.T) {
		w := newWorld(t, time.Hour)
		held, _ := w.db.Hold()
		res := w.goLookup(context.Background())
		<-held
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := w.sumdb.Shutdown(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("Shutdown with a cancelled ctx: got %v, want context.Canceled", err)
		}
		// The lookup is cancelled, not left running.
		if r := <-res; r.err == nil {
			t.Errorf("Lookup cancelled by Shutdown: got hashes, want an error")
		}
	})
}
