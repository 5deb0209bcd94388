package coord

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"testing"
	"time"
)

func TestDegradedWhenRedisDown(t *testing.T) {
	r := newReplica(t, "redis://"+closedPort(t)+"/0", testPrefix(), 0)

	if g := r.degradedGauge(); g != 1 {
		t.Errorf("got degraded gauge %v after New, want 1", g)
	}
	if err := r.Check(t.Context()); err == nil {
		t.Error("got Check nil with Redis down, want an error")
	}

	// Every call returns, none blocks: run them under the guard.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 3 {
			fill, release, err := r.Lock(t.Context(), testName)
			if err == nil || fill || release == nil {
				t.Errorf("got Lock fill=%v err=%v with Redis down, want an error and a no-op release", fill, err)
			}
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("got Lock err %v, want a coordination error, not a context one", err)
			}
			release(true)
			if got, ok := r.NotFound(t.Context(), testName); ok {
				t.Errorf("got NotFound %q, true with Redis down, want false", got)
			}
			r.SetNotFound(t.Context(), testName, "gone", time.Minute)
		}
	}()
	await(t, done, "calls on a degraded coordinator to return")

	if n := r.logs.count(slog.LevelWarn, "degraded"); n != 1 {
		t.Errorf("got %d degradation warnings, want 1", n)
	}
	if g := r.degradedGauge(); g != 1 {
		t.Errorf("got degraded gauge %v, want 1", g)
	}
}

func TestDegradationRecovers(t *testing.T) {
	target := testRedis(t)
	addr := closedPort(t)
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	realAddr := u.Host
	u.Host = addr
	r := newReplica(t, u.String(), testPrefix(), 0)
	if g := r.degradedGauge(); g != 1 {
		t.Fatalf("got degraded gauge %v before Redis is reachable, want 1", g)
	}

	proxy := startProxy(t, addr, realAddr)
	eventually(t, "Check to succeed once Redis is reachable", func() bool {
		return r.Check(t.Context()) == nil
	})
	if g := r.degradedGauge(); g != 0 {
		t.Errorf("got degraded gauge %v after recovery, want 0", g)
	}
	if n := r.logs.count(slog.LevelInfo, "restored"); n != 1 {
		t.Errorf("got %d recovery messages, want 1", n)
	}
	fill, release, err := r.Lock(t.Context(), testName)
	if err != nil || !fill {
		t.Fatalf("got Lock fill=%v err=%v after recovery, want fill=true", fill, err)
	}
	release(true)

	proxy.stop()
	eventually(t, "Lock to fail once Redis is gone again", func() bool {
		_, release, err := r.Lock(t.Context(), testName)
		release(false)
		return err != nil
	})
	if g := r.degradedGauge(); g != 1 {
		t.Errorf("got degraded gauge %v after Redis went away, want 1", g)
	}
	if n := r.logs.count(slog.LevelWarn, "degraded"); n != 2 {
		t.Errorf("got %d degradation warnings after going down twice, want 2", n)
	}
}

func TestWaiterGivesUpWhenRedisGoesAway(t *testing.T) {
	target := testRedis(t)
	prefix := testPrefix()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, "127.0.0.1:0", u.Host)
	u.Host = proxy.ln.Addr().String()
	holder := newReplica(t, target, prefix, 0)
	waiter := newReplica(t, u.String(), prefix, 0)

	fill, release, err := holder.Lock(t.Context(), testName)
	if err != nil || !fill {
		t.Fatalf("Lock: got fill=%v err=%v, want fill=true", fill, err)
	}
	defer release(true)
	ch := lockAsync(t.Context(), waiter, testName)
	eventually(t, "the waiter to wait", func() bool { return waiter.waiting.Load() == 1 })

	proxy.stop()
	if err := waiter.Check(t.Context()); err == nil {
		t.Fatal("got Check nil with Redis cut off, want an error")
	}
	got := await(t, ch, "the waiter to give up")
	if got.err == nil || got.fill {
		t.Errorf("got fill=%v err=%v once Redis was cut off, want an error", got.fill, got.err)
	}
	if errors.Is(got.err, context.Canceled) {
		t.Errorf("got err %v, want a coordination error, not a context one", got.err)
	}
}
