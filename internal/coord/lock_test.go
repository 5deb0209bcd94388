package coord

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testName = "golang.org/x/text/@v/v0.3.0.zip"

// waiting returns how many Lock calls wait across replicas.
func waiting(replicas ...*replica) int64 {
	var n int64
	for _, r := range replicas {
		n += r.waiting.Load()
	}
	return n
}

func TestLockOneFillAcrossReplicas(t *testing.T) {
	url := testRedis(t)
	prefix := testPrefix()
	replicas := []*replica{
		newReplica(t, url, prefix, 0),
		newReplica(t, url, prefix, 0),
		newReplica(t, url, prefix, 0),
	}
	const callers = 60

	var (
		holders, maxHolders, fills, served atomic.Int64
		wg                                 sync.WaitGroup
	)
	for i := range callers {
		r := replicas[i%len(replicas)]
		wg.Go(func() {
			fill, release, err := r.Lock(t.Context(), testName)
			if err != nil {
				t.Errorf("Lock: %v", err)
				return
			}
			if !fill {
				served.Add(1)
				return
			}
			fills.Add(1)
			n := holders.Add(1)
			for {
				m := maxHolders.Load()
				if n <= m || maxHolders.CompareAndSwap(m, n) {
					break
				}
			}
			// Hold the lock until every other caller waits on it, so that
			// all of them must learn of the fill from this release.
			deadline := time.Now().Add(guard)
			for waiting(replicas...) < callers-1 && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			holders.Add(-1)
			release(true)
		})
	}
	wg.Wait()

	if got := fills.Load(); got != 1 {
		t.Errorf("got %d fills, want 1", got)
	}
	if got := served.Load(); got != callers-1 {
		t.Errorf("got %d callers told the file was stored, want %d", got, callers-1)
	}
	if got := maxHolders.Load(); got != 1 {
		t.Errorf("got %d concurrent lock holders at most, want 1", got)
	}
	if got := waiting(replicas...); got != 0 {
		t.Errorf("got %d callers still waiting, want 0", got)
	}
}

func TestLockFailedFillHandsOver(t *testing.T) {
	url := testRedis(t)
	prefix := testPrefix()
	a := newReplica(t, url, prefix, 0)
	b := newReplica(t, url, prefix, 0)
	c := newReplica(t, url, prefix, 0)

	fill, release, err := a.Lock(t.Context(), testName)
	if err != nil || !fill {
		t.Fatalf("first Lock: got fill=%v err=%v, want fill=true", fill, err)
	}
	chB := lockAsync(t.Context(), b, testName)
	chC := lockAsync(t.Context(), c, testName)
	eventually(t, "both waiters to wait", func() bool { return waiting(b, c) == 2 })
	release(false)

	// One waiter takes over the fill; once it stores, the other is done.
	var first lockResult
	var rest <-chan lockResult
	select {
	case first = <-chB:
		rest = chC
	case first = <-chC:
		rest = chB
	case <-time.After(guard):
		t.Fatal("no waiter took over after release(false)")
	}
	if first.err != nil || !first.fill {
		t.Fatalf("got fill=%v err=%v after release(false), want fill=true", first.fill, first.err)
	}
	select {
	case got := <-rest:
		t.Fatalf("got fill=%v err=%v for the other waiter during the new fill, want it still waiting", got.fill, got.err)
	default:
	}
	first.release(true)

	got := await(t, rest, "the other waiter after the new fill stored")
	if got.err != nil || got.fill {
		t.Errorf("got fill=%v err=%v for the other waiter, want fill=false", got.fill, got.err)
	}
}

func TestLockHolderDies(t *testing.T) {
	url := testRedis(t)
	prefix := testPrefix()
	// The holder renews nothing once closed, like a killed process.
	dying := newReplica(t, url, prefix, 300*time.Millisecond)
	survivor := newReplica(t, url, prefix, 0)

	fill, _, err := dying.Lock(t.Context(), testName)
	if err != nil || !fill {
		t.Fatalf("Lock: got fill=%v err=%v, want fill=true", fill, err)
	}
	ch := lockAsync(t.Context(), survivor, testName)
	eventually(t, "the survivor to wait", func() bool { return survivor.waiting.Load() == 1 })
	if err := dying.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	got := await(t, ch, "the survivor to take over the dead holder's lock")
	if got.err != nil || !got.fill {
		t.Fatalf("got fill=%v err=%v after the holder died, want fill=true", got.fill, got.err)
	}
	got.release(true)
}

func TestLockRenewedWhileHolderLives(t *testing.T) {
	url := testRedis(t)
	prefix := testPrefix()
	const ttl = 500 * time.Millisecond
	holder := newReplica(t, url, prefix, ttl)
	waiter := newReplica(t, url, prefix, 0)

	fill, release, err := holder.Lock(t.Context(), testName)
	if err != nil || !fill {
		t.Fatalf("Lock: got fill=%v err=%v, want fill=true", fill, err)
	}
	ch := lockAsync(t.Context(), waiter, testName)

	// Outlive the lock's TTL several times over: renewals must keep it.
	time.Sleep(5 * ttl)
	select {
	case got := <-ch:
		t.Fatalf("got Lock fill=%v err=%v while the holder lived, want it still waiting", got.fill, got.err)
	default:
	}
	ttlLeft, err := rawClient(t, url).PTTL(t.Context(), holder.lockKey(testName)).Result()
	if err != nil || ttlLeft <= 0 {
		t.Fatalf("got lock PTTL %v (err %v) while the holder lived, want > 0", ttlLeft, err)
	}

	release(true)
	got := await(t, ch, "the waiter after the holder stored")
	if got.err != nil || got.fill {
		t.Errorf("got fill=%v err=%v after the holder stored, want fill=false", got.fill, got.err)
	}
	if n := holder.logs.count(slog.LevelWarn, "lost"); n != 0 {
		t.Errorf("got %d warnings about a lost lock, want 0", n)
	}
}

func TestReleaseOnlyOwnLock(t *testing.T) {
	url := testRedis(t)
	prefix := testPrefix()
	a := newReplica(t, url, prefix, 0)
	b := newReplica(t, url, prefix, 0)

	fill, releaseA, err := a.Lock(t.Context(), testName)
	if err != nil || !fill {
		t.Fatalf("Lock on a: got fill=%v err=%v, want fill=true", fill, err)
	}
	releaseA(false)
	fill, releaseB, err := b.Lock(t.Context(), testName)
	if err != nil || !fill {
		t.Fatalf("Lock on b after a failed: got fill=%v err=%v, want fill=true", fill, err)
	}
	defer releaseB(true)

	releaseA(false) // a second release does nothing, and never frees b's lock

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	fill, _, err = a.Lock(ctx, testName)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got fill=%v err=%v while b holds the lock, want %v", fill, err, context.DeadlineExceeded)
	}
}

func TestLockJustStored(t *testing.T) {
	url := testRedis(t)
	prefix := testPrefix()
	a := newReplica(t, url, prefix, 0)
	b := newReplica(t, url, prefix, 0)

	fill, release, err := a.Lock(t.Context(), testName)
	if err != nil || !fill {
		t.Fatalf("Lock on a: got fill=%v err=%v, want fill=true", fill, err)
	}
	release(true)
	// A caller whose store lookup missed the file a moment before it was
	// stored is sent back to the store.
	fill, release, err = b.Lock(t.Context(), testName)
	if err != nil || fill {
		t.Fatalf("Lock on b just after a stored: got fill=%v err=%v, want fill=false", fill, err)
	}
	release(false) // a no-op
	fill, release, err = b.Lock(t.Context(), "golang.org/x/text/@v/v0.3.0.mod")
	if err != nil || !fill {
		t.Fatalf("Lock on another name: got fill=%v err=%v, want fill=true", fill, err)
	}
	release(true)
}

func TestLockDistinctNamesDoNotWait(t *testing.T) {
	url := testRedis(t)
	r := newReplica(t, url, testPrefix(), 0)
	for _, name := range []string{testName, "golang.org/x/text/@v/v0.3.0.mod", "golang.org/x/text/@v/list"} {
		fill, release, err := r.Lock(t.Context(), name)
		if err != nil || !fill {
			t.Fatalf("Lock(%s): got fill=%v err=%v, want fill=true", name, fill, err)
		}
		defer release(true)
	}
}

func TestLockCancelled(t *testing.T) {
	url := testRedis(t)
	prefix := testPrefix()
	holder := newReplica(t, url, prefix, 0)
	waiter := newReplica(t, url, prefix, 0)

	fill, release, err := holder.Lock(t.Context(), testName)
	if err != nil || !fill {
		t.Fatalf("Lock: got fill=%v err=%v, want fill=true", fill, err)
	}
	defer release(true)

	tests := []struct {
		name  string
		start func(ctx context.Context, cancel context.CancelFunc) <-chan lockResult
	}{
		{"before the call", func(ctx context.Context, cancel context.CancelFunc) <-chan lockResult {
			cancel()
			return lockAsync(ctx, waiter, testName)
		}},
		{"while waiting", func(ctx context.Context, cancel context.CancelFunc) <-chan lockResult {
			ch := lockAsync(ctx, waiter, testName)
			eventually(t, "the waiter to wait", func() bool { return waiter.waiting.Load() == 1 })
			cancel()
			return ch
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			got := await(t, tt.start(ctx, cancel), "Lock to return after cancel")
			if !errors.Is(got.err, context.Canceled) || got.fill {
				t.Errorf("got fill=%v err=%v, want %v", got.fill, got.err, context.Canceled)
			}
			if got.release == nil {
				t.Error("got nil release, want a no-op")
			}
		})
	}
	if g := waiter.degradedGauge(); g != 0 {
		t.Errorf("got degraded gauge %v after cancellations, want 0", g)
	}
	if n := waiter.logs.count(slog.LevelWarn, "degraded"); n != 0 {
		t.Errorf("got %d degradation warnings after cancellations, want 0", n)
	}
}

func TestLockAfterClose(t *testing.T) {
	url := testRedis(t)
	r := newReplica(t, url, testPrefix(), 0)
	r.Close()
	fill, release, err := r.Lock(t.Context(), testName)
	if err == nil || fill || release == nil {
		t.Errorf("got fill=%v err=%v after Close, want an error and a no-op release", fill, err)
	}
	if n := r.logs.count(slog.LevelWarn, "degraded"); n != 0 {
		t.Errorf("got %d degradation warnings after Close, want 0", n)
	}
}
