package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// cargoUpstream is a sparse-index registry serving one crate, whose
// downloads can be held back and which can go down.
type cargoUpstream struct {
	srv   *httptest.Server
	crate []byte

	mu     sync.Mutex
	counts map[string]int
	hold   chan struct{}
	down   bool
}

func newCargoUpstream(t *testing.T) *cargoUpstream {
	t.Helper()
	u := &cargoUpstream{crate: make([]byte, 200<<10), counts: map[string]int{}}
	rand.Read(u.crate)
	sum := sha256.Sum256(u.crate)
	mux := http.NewServeMux()
	mux.HandleFunc("/config.json", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"dl": u.srv.URL + "/dl"})
	})
	mux.HandleFunc("/re/pl/replicated", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"name":"replicated","vers":"1.0.0","deps":[],"cksum":"%s","features":{},"yanked":false}`+"\n", hex.EncodeToString(sum[:]))
	})
	mux.HandleFunc("/dl/replicated/1.0.0/download", func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		hold := u.hold
		u.mu.Unlock()
		if hold != nil {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		w.Write(u.crate)
	})
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.counts[r.URL.Path]++
		down := u.down
		u.mu.Unlock()
		if down {
			http.Error(w, "down for the test", http.StatusServiceUnavailable)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *cargoUpstream) count(p string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.counts[p]
}

// holdDownloads holds crate downloads until the returned function is
// called.
func (u *cargoUpstream) holdDownloads() (release func()) {
	ch := make(chan struct{})
	u.mu.Lock()
	u.hold = ch
	u.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(ch) }) }
}

func (u *cargoUpstream) setDown(down bool) {
	u.mu.Lock()
	u.down = down
	u.mu.Unlock()
}

// TestReplicaCargo runs the cargo mirror on three replicas sharing a
// bucket and Redis: concurrent misses of one crate over all of them make
// one upstream download, and a replica started later serves the index
// and the crate from the bucket with the upstream down.
func TestReplicaCargo(t *testing.T) {
	redisURL := needRedis(t)
	up := newCargoUpstream(t)
	s := newReplicaSet(t, redisURL)
	args := []string{"--cargo-index", up.srv.URL + "/"}
	replicas := s.startN(t, 3, args...)
	const index, crate = "/cargo/index/re/pl/replicated", "/cargo/api/v1/crates/replicated/1.0.0/download"
	for _, m := range replicas {
		if r := httpGet(t.Context(), m.URL+index); r.err != nil || r.code != http.StatusOK {
			t.Fatalf("GET %s%s: %v", m.URL, index, r)
		}
	}

	release := up.holdDownloads()
	defer release()
	const clients = 30
	missesAcrossReplicas(t, replicas, clients, crate, release, up.crate, "crate")
	if got := up.count("/dl/replicated/1.0.0/download"); got != 1 {
		t.Errorf("upstream downloads for %d concurrent misses over %d replicas: got %d, want 1", clients, len(replicas), got)
	}
	stored, err := s.bucket.get(t.Context(), "cargo/crates/replicated/replicated-1.0.0.crate")
	if err != nil || !bytes.Equal(stored, up.crate) {
		t.Errorf("crate in the bucket: got %d bytes (err %v), want the %d bytes of the crate", len(stored), err, len(up.crate))
	}

	up.setDown(true)
	late := s.start(t, args...)
	for _, p := range []string{index, crate} {
		if r := httpGet(t.Context(), late.URL+p); r.err != nil || r.code != http.StatusOK {
			t.Errorf("GET %s from a replica started with the upstream down: %v", p, r)
		}
	}
}
