package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// mavenUpstream is a Maven repository with one jar, whose requests it
// counts and can hold back or refuse.
type mavenUpstream struct {
	*httptest.Server
	jar []byte

	mu     sync.Mutex
	counts map[string]int
	hold   chan struct{}
	down   bool
}

const replicaJar = "org/example/replicated/1.0/replicated-1.0.jar"

func newMavenUpstream(t *testing.T) *mavenUpstream {
	u := &mavenUpstream{jar: bytes.Repeat([]byte("a jar shared by replicas\n"), 20000), counts: map[string]int{}, hold: make(chan struct{})}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.counts[r.URL.Path]++
		hold, down := u.hold, u.down
		u.mu.Unlock()
		if down {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		switch r.URL.Path {
		case "/" + replicaJar:
			<-hold
			w.Write(u.jar)
		case "/" + replicaJar + ".sha1":
			s := sha1.Sum(u.jar)
			w.Write([]byte(hex.EncodeToString(s[:])))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *mavenUpstream) count(p string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.counts[p]
}

// TestReplicaMaven runs three replicas of a Maven mirror on one bucket and
// one Redis: concurrent misses across them make one upstream request, and
// each serves what another stored when the upstream is down.
func TestReplicaMaven(t *testing.T) {
	redisURL := needRedis(t)
	s := newReplicaSet(t, redisURL)
	up := newMavenUpstream(t)
	replicas := s.startN(t, 3, "--maven-repos", up.URL+"/")
	var once sync.Once
	release := func() { once.Do(func() { close(up.hold) }) }
	defer release()

	const clients = 30
	missesAcrossReplicas(t, replicas, clients, "/maven2/"+replicaJar, release, up.jar, "jar")
	if got := up.count("/" + replicaJar); got != 1 {
		t.Errorf("upstream requests for %d concurrent misses over %d replicas: got %d, want 1", clients, len(replicas), got)
	}
	if stored, err := s.bucket.get(t.Context(), "maven2/"+replicaJar); err != nil || !bytes.Equal(stored, up.jar) {
		t.Errorf("jar in the bucket: got %d bytes (err %v), want %d", len(stored), err, len(up.jar))
	}

	up.mu.Lock()
	up.down = true
	up.mu.Unlock()
	sum := sha1.Sum(up.jar)
	for _, m := range replicas {
		if r := httpGet(t.Context(), m.URL+"/maven2/"+replicaJar+".sha1"); r.err != nil || r.code != 200 || string(r.body) != hex.EncodeToString(sum[:]) {
			t.Errorf("GET the jar's .sha1 with the upstream down: got %v, want 200 with its sha1", r)
		}
	}
}
