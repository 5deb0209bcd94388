package pull

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/store/disk"
)

// fakeClock is a clock that moves only when told.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// A fill stuck on a hung upstream does not hold back a request that comes
// once it has been silent for longer than the stall timeout: that request
// abandons it and fills afresh, and the stuck fill's own client follows.
func TestStalledFillIsAbandonedForAFreshOne(t *testing.T) {
	for _, tt := range []struct {
		name string
		ttl  time.Duration
	}{{"immutable", 0}, {"metadata", time.Hour}} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			st, err := disk.New(dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			c, err := New(Config{Store: st, TempDir: dir + "/" + disk.TempDir, StallTimeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			clock := &fakeClock{}
			clock.advance(time.Hour)
			c.now = clock.now

			var fetches atomic.Int32
			hung := make(chan struct{})
			var cause error
			a := &Artifact{
				Ecosystem: "test", Kind: tt.name, Name: "test/" + tt.name, TTL: tt.ttl, ContentType: "text/plain",
				Fetch: func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
					if fetches.Add(1) == 1 {
						close(hung)
						<-ctx.Done() // The upstream never answers.
						cause = context.Cause(ctx)
						return nil, ctx.Err()
					}
					return io.NopCloser(strings.NewReader("content")), nil
				},
			}
			serve := func() *httptest.ResponseRecorder {
				w := httptest.NewRecorder()
				r := httptest.NewRequest(http.MethodGet, "/x", nil)
				if err := c.Serve(w, r, a); err != nil {
					w.Code = Status(err)
					w.Body.WriteString(err.Error())
				}
				return w
			}
			var wg sync.WaitGroup
			var first *httptest.ResponseRecorder
			wg.Go(func() { first = serve() })
			<-hung
			// Still within the stall timeout: a request joins the stuck
			// fill rather than start another.
			clock.advance(time.Minute / 2)
			if f, err := c.join(t.Context(), a); err != nil || f.stalled(clock.now(), time.Minute) {
				t.Fatalf("join within the stall timeout: got a stalled fill or %v, want the fill under way", err)
			}
			if got := fetches.Load(); got != 1 {
				t.Fatalf("upstream fetches within the stall timeout: got %d, want 1", got)
			}
			clock.advance(time.Minute)
			late := serve()
			if late.Code != http.StatusOK || late.Body.String() != "content" {
				t.Errorf("request after the stall timeout: got %d %q, want 200 %q", late.Code, late.Body, "content")
			}
			wg.Wait()
			if first.Code != http.StatusOK || first.Body.String() != "content" {
				t.Errorf("the stuck fill's own request: got %d %q, want 200 %q", first.Code, first.Body, "content")
			}
			if !errors.Is(cause, errStalled) {
				t.Errorf("cause of the stuck fill's end: got %v, want %v", cause, errStalled)
			}
			if got := fetches.Load(); got != 2 {
				t.Errorf("upstream fetches: got %d, want 2", got)
			}
		})
	}
}

// blockingLocker holds every Lock until release is closed, as a replica
// does while another one fills the file; then it reports it stored.
type blockingLocker struct {
	locking chan struct{}
	release chan struct{}
}

func (l *blockingLocker) Lock(ctx context.Context, name string) (bool, func(bool), error) {
	close(l.locking)
	select {
	case <-l.release:
		return false, nil, nil
	case <-ctx.Done():
		return false, nil, ctx.Err()
	}
}

// A fill that waits for another replica's fill is not stalled, however
// long it waits: a request that comes meanwhile joins it.
func TestFillWaitingForAnotherReplicaIsNotStalled(t *testing.T) {
	dir := t.TempDir()
	st, err := disk.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	l := &blockingLocker{locking: make(chan struct{}), release: make(chan struct{})}
	c, err := New(Config{Store: st, TempDir: dir + "/" + disk.TempDir, StallTimeout: time.Minute, Locker: l})
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{}
	c.now = clock.now
	a := &Artifact{Ecosystem: "test", Kind: "file", Name: "test/file",
		Fetch: func(context.Context, io.Reader) (io.ReadCloser, error) {
			t.Error("fetched from upstream: the other replica stored the file")
			return nil, errors.New("not here")
		}}
	first, err := c.join(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	<-l.locking
	clock.advance(time.Hour)
	second, err := c.join(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	if second != first {
		t.Errorf("a request an hour into the wait for another replica started a fill of its own, want it to join the waiting one")
	}
	close(l.release)
	if err := first.wait(t.Context()); err != nil {
		t.Errorf("fill stored by another replica: got %v, want nil", err)
	}
}
