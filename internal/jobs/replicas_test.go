package jobs_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/coord"
	"github.com/gomirror/gomirror/internal/jobs"
)

// testRedis returns the Redis that .ci/redis.sh started, skipping outside
// CI when there is none.
func testRedis(t *testing.T) string {
	t.Helper()
	u := os.Getenv("GOMIRROR_TEST_REDIS")
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("GOMIRROR_TEST_REDIS is not set; CI must start Redis (source .ci/redis.sh)")
		}
		t.Skip("GOMIRROR_TEST_REDIS is not set: needs a Redis (source .ci/redis.sh to start one)")
	}
	return u
}

func newCoordinator(t *testing.T, url, prefix string, ttl time.Duration) *coord.Coordinator {
	t.Helper()
	c, err := coord.New(t.Context(), coord.Config{URL: url, Prefix: prefix, LockTTL: ttl, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func randomPrefix() string {
	var b [6]byte
	rand.Read(b[:])
	return "gomirror-jobs-test-" + hex.EncodeToString(b[:]) + ":"
}

// gatedMirror serves the vulnerability database's indexes; while gate is
// not nil, each request first waits for it (or for its own context).
type gatedMirror struct {
	calls atomic.Int64
	gate  chan struct{}
}

func (m *gatedMirror) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.calls.Add(1)
	if m.gate != nil {
		select {
		case <-m.gate:
		case <-r.Context().Done():
			return
		}
	}
	switch r.URL.Path {
	case "/vuln/index/db.json":
		w.Write([]byte(`{"modified":"2026-01-01T00:00:00Z"}`))
	case "/vuln/index/modules.json":
		w.Write([]byte(`[]`))
	default:
		http.NotFound(w, r)
	}
}

var spec = jobs.Spec{Name: "vulndb", Kind: "vuln", Schedule: "1h"}

func newReplica(t *testing.T, h http.Handler, locker jobs.Locker) *jobs.Runner {
	t.Helper()
	r, err := jobs.New(jobs.Options{Jobs: []jobs.Spec{spec}, Handler: h, StateDir: t.TempDir(), Locker: locker})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestOneReplicaRunsAJobAtATime(t *testing.T) {
	url, prefix := testRedis(t), randomPrefix()
	a := &gatedMirror{gate: make(chan struct{})}
	b := &gatedMirror{}
	ra := newReplica(t, a, newCoordinator(t, url, prefix, time.Second))
	rb := newReplica(t, b, newCoordinator(t, url, prefix, time.Second))

	doneA, _ := ra.Trigger(t.Context(), spec.Name)
	waitFor(t, "replica A to run the job", func() bool { return a.calls.Load() > 0 })
	doneB, _ := rb.Trigger(t.Context(), spec.Name)
	waitFor(t, "replica B to wait for A's run", func() bool { st, _ := rb.Job(spec.Name); return st.Waiting })

	close(a.gate)
	<-doneA
	<-doneB
	if got := b.calls.Load(); got != 0 {
		t.Errorf("replica B sent %d requests, want 0: A's run served both", got)
	}
	stA, _ := ra.Job(spec.Name)
	stB, _ := rb.Job(spec.Name)
	if stA.Result != jobs.Success || stA.Elsewhere {
		t.Errorf("replica A: got %s, elsewhere %v, want success here", stA.Result, stA.Elsewhere)
	}
	if !stB.Elsewhere || stB.LastEnd.IsZero() || stB.NextRun.Before(stB.LastEnd) {
		t.Errorf("replica B: got %+v, want the run recorded as done elsewhere and the next one scheduled", stB)
	}
}

func TestReplicaTakesOverFromADeadOne(t *testing.T) {
	url, prefix := testRedis(t), randomPrefix()
	a := &gatedMirror{gate: make(chan struct{})} // never opened: A hangs, then dies
	b := &gatedMirror{}
	coordA := newCoordinator(t, url, prefix, 300*time.Millisecond)
	ra := newReplica(t, a, coordA)
	rb := newReplica(t, b, newCoordinator(t, url, prefix, 300*time.Millisecond))

	ctxA, cancelA := context.WithCancel(t.Context())
	defer cancelA()
	doneA, _ := ra.Trigger(ctxA, spec.Name)
	waitFor(t, "replica A to run the job", func() bool { return a.calls.Load() > 0 })
	doneB, _ := rb.Trigger(t.Context(), spec.Name)
	waitFor(t, "replica B to wait for A's run", func() bool { st, _ := rb.Job(spec.Name); return st.Waiting })

	// A dies: it stops renewing its lock, which then expires.
	coordA.Close()
	<-doneB
	stB, _ := rb.Job(spec.Name)
	if stB.Result != jobs.Success || stB.Elsewhere || b.calls.Load() == 0 {
		t.Errorf("replica B: got %s, elsewhere %v, %d requests, want it to take over and succeed", stB.Result, stB.Elsewhere, b.calls.Load())
	}
	cancelA()
	<-doneA
	if stA, _ := ra.Job(spec.Name); stA.Result != "" {
		t.Errorf("replica A: got result %q, want none (it died mid-run)", stA.Result)
	}
}
