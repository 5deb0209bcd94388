package pull

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"
)

// admitter admits at most limit fills at once and counts what it was asked.
type admitter struct {
	mu       sync.Mutex
	limit    int
	inFlight int
	asked    int
}

func (a *admitter) admit(ctx context.Context) (func(), error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked++
	if a.inFlight >= a.limit {
		return nil, fmt.Errorf("%w: %d fills under way", ErrTooManyRequests, a.inFlight)
	}
	a.inFlight++
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			a.inFlight--
			a.mu.Unlock()
		})
	}, nil
}

func (a *admitter) state() (inFlight, asked int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inFlight, a.asked
}

func TestAdmitGuardsFillsNotHits(t *testing.T) {
	adm := &admitter{limit: 1}
	f := newFixture(t, func(c *Config) { c.Admit = adm.admit })
	f.add("a.bin", []byte("aaa"))
	f.add("b.bin", []byte("bbb"))
	f.add("meta/list", []byte("v1\n"))

	// Hold the first fill upstream: it takes the one place.
	gate := make(chan struct{})
	started := make(chan string, 4)
	f.up.mu.Lock()
	f.up.gate, f.up.started = gate, started
	f.up.mu.Unlock()
	first := make(chan int, 1)
	go func() { first <- f.get(t, t.Context(), "/a.bin").Code }()
	<-started

	// A second client joining the same fill is not asked about.
	joined := make(chan int, 1)
	go func() { joined <- f.get(t, t.Context(), "/a.bin").Code }()

	// Another fill is refused with a 429 while the first runs.
	if w := f.get(t, t.Context(), "/b.bin"); w.Code != http.StatusTooManyRequests {
		t.Errorf("a second fill while one is under way: got %d, want 429", w.Code)
	}
	if f.stored(t, "b.bin") || f.up.count("b.bin") != 0 {
		t.Errorf("a refused fill reached the upstream or the store")
	}
	close(gate)
	if code := <-first; code != http.StatusOK {
		t.Errorf("the admitted fill: got %d, want 200", code)
	}
	if code := <-joined; code != http.StatusOK {
		t.Errorf("the joined client: got %d, want 200", code)
	}
	eventually(t, "the fill's release", func() bool { n, _ := adm.state(); return n == 0 })
	if _, asked := adm.state(); asked != 2 {
		t.Errorf("Admit asked %d times, want 2 (the first fill and the refused one)", asked)
	}

	// Hits never ask.
	for range 3 {
		if w := f.get(t, t.Context(), "/a.bin"); w.Code != http.StatusOK {
			t.Fatalf("a hit: got %d, want 200", w.Code)
		}
	}
	if _, asked := adm.state(); asked != 2 {
		t.Errorf("hits asked Admit: asked %d times, want 2", asked)
	}
}

func TestAdmitRefusedRefreshServesStale(t *testing.T) {
	adm := &admitter{limit: 1}
	f := newFixture(t, func(c *Config) { c.Admit = adm.admit })
	f.up.set("meta/list", []byte("v1\n"))
	a := f.artifact("meta/list", time.Nanosecond)
	e, err := f.c.Open(t.Context(), a)
	if err != nil {
		t.Fatal(err)
	}
	e.Body.Close()
	eventually(t, "the fill's release", func() bool { n, _ := adm.state(); return n == 0 })

	adm.mu.Lock()
	adm.limit = 0
	adm.mu.Unlock()
	e, err = f.c.Open(t.Context(), a)
	if err != nil {
		t.Fatalf("expired metadata whose refresh is refused: got %v, want the stale copy", err)
	}
	defer e.Body.Close()
	if !e.Stale {
		t.Errorf("got a fresh entry, want it marked stale")
	}

	// Without a stored copy, the refusal is the answer.
	_, err = f.c.Open(t.Context(), f.artifact("meta/other", time.Hour))
	if got := Status(err); got != http.StatusTooManyRequests {
		t.Errorf("refused fill with no stored copy: got %d (%v), want 429", got, err)
	}
}
