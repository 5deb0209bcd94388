package jobs

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeMirror is the mirror's handler as jobs see it: fixed bodies by
// request URI, with failures to inject and every request recorded.
type fakeMirror struct {
	mu     sync.Mutex
	bodies map[string]string            // request URI -> body
	types  map[string]string            // request URI -> Content-Type
	fails  map[string][]int             // request URI -> statuses to answer first
	hits   map[string]int               // request URI -> requests
	accept map[string]string            // request URI -> last Accept header
	hook   func(r *http.Request) bool   // when set and true, the request was answered by it
	header map[string]map[string]string // request URI -> extra headers
}

func newFakeMirror() *fakeMirror {
	return &fakeMirror{
		bodies: map[string]string{}, types: map[string]string{}, fails: map[string][]int{},
		hits: map[string]int{}, accept: map[string]string{}, header: map[string]map[string]string{},
	}
}

func (f *fakeMirror) set(uri, body string) { f.mu.Lock(); f.bodies[uri] = body; f.mu.Unlock() }

func (f *fakeMirror) failFirst(uri string, codes ...int) {
	f.mu.Lock()
	f.fails[uri] = append(f.fails[uri], codes...)
	f.mu.Unlock()
}

func (f *fakeMirror) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	uri := r.URL.RequestURI()
	f.mu.Lock()
	f.hits[uri]++
	f.accept[uri] = r.Header.Get("Accept")
	hook := f.hook
	f.mu.Unlock()
	if hook != nil && hook(r) {
		return
	}
	f.mu.Lock()
	if codes := f.fails[uri]; len(codes) > 0 {
		f.fails[uri] = codes[1:]
		f.mu.Unlock()
		http.Error(w, fmt.Sprintf("injected failure %d", codes[0]), codes[0])
		return
	}
	body, ok := f.bodies[uri]
	ct := f.types[uri]
	extra := f.header[uri]
	f.mu.Unlock()
	if !ok {
		http.Error(w, "not found: "+uri, http.StatusNotFound)
		return
	}
	if ct != "" {
		w.Header().Set("Content-Type", ct)
	}
	for k, v := range extra {
		w.Header().Set(k, v)
	}
	_, _ = w.Write([]byte(body))
}

// requested returns the URIs requested at least once, sorted.
func (f *fakeMirror) requested() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for k := range f.hits {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func (f *fakeMirror) hitsOf(uri string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[uri]
}

func (f *fakeMirror) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hits = map[string]int{}
}

// fakeClock is a Clock under the test's control. With auto set, After
// fires at once (and the waits are recorded), for retries; otherwise the
// test moves time with Advance.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	auto    bool
	sleeps  []time.Duration
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock(t time.Time) *fakeClock { return &fakeClock{now: t} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if c.auto {
		c.sleeps = append(c.sleeps, d)
		ch <- c.now
		return ch
	}
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves the clock by d and fires the waits that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// pending returns how many waits are not yet due.
func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

func (c *fakeClock) recordedSleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sleeps)
}

// eventually polls cond until it holds, failing the test after a generous
// guard (a deadlock guard, not a timing assertion).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// newTestRunner returns a Runner over h for specs, with a fake clock.
func newTestRunner(t *testing.T, h http.Handler, clock Clock, dir string, specs ...Spec) *Runner {
	t.Helper()
	r, err := New(Options{Jobs: specs, Handler: h, StateDir: dir, Clock: clock})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r
}

// runOnce runs job name and returns its status.
func runOnce(t *testing.T, r *Runner, name string) Status {
	t.Helper()
	st, err := r.Run(t.Context(), name)
	if err != nil {
		t.Fatalf("Run(%s): %v", name, err)
	}
	return st
}

// ctxBlock answers every request by blocking until it is cancelled, and
// reports the request through started.
func ctxBlock(started chan<- string) func(r *http.Request) bool {
	return func(r *http.Request) bool {
		if started != nil {
			started <- r.URL.Path
		}
		<-r.Context().Done()
		return true
	}
}

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func contextWithCancel(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	return ctx, cancel
}

// readBody returns resp's whole body.
func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return string(b)
}
