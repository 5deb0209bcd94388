package oci

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/pull/pulltest"
	"github.com/gomirror/gomirror/internal/store/disk"
)

// clock is a settable clock shared by the mirror's token cache and the
// fake token service.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// upstream is a fake registry: go-containerregistry's in-memory registry
// behind a token service (or Basic authentication), with a second,
// unauthenticated server for the test to push to.
type upstream struct {
	t     *testing.T
	reg   http.Handler
	push  *httptest.Server // unauthenticated, for the test
	srv   *httptest.Server // what the mirror talks to
	token *httptest.Server
	clock *clock

	// auth is "bearer", "basic" or "none".
	auth string
	// user and pass, when user is set, are what the token service (or
	// the Basic challenge) demands.
	user, pass string
	// expiresIn is the lifetime of issued tokens, in seconds.
	expiresIn int

	issued atomic.Int64 // tokens issued

	mu       sync.Mutex
	tokens   map[string]tokenInfo
	requests map[string]int // "METHOD /v2/path" of authorized requests
	// hook, when set, may answer an authorized request itself; it
	// returns whether it did.
	hook func(w http.ResponseWriter, r *http.Request) bool
}

type tokenInfo struct {
	scope   string
	expires time.Time
}

func newUpstream(t *testing.T, clk *clock, auth string) *upstream {
	t.Helper()
	u := &upstream{
		t:         t,
		reg:       registry.New(registry.Logger(log.New(io.Discard, "", 0)), registry.WithReferrersSupport(true)),
		clock:     clk,
		auth:      auth,
		expiresIn: 300,
		tokens:    map[string]tokenInfo{},
		requests:  map[string]int{},
	}
	u.push = httptest.NewServer(u.reg)
	t.Cleanup(u.push.Close)
	u.token = httptest.NewServer(http.HandlerFunc(u.serveToken))
	t.Cleanup(u.token.Close)
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) serveToken(w http.ResponseWriter, r *http.Request) {
	if u.user != "" {
		user, pass, ok := r.BasicAuth()
		if !ok || user != u.user || pass != u.pass {
			http.Error(w, `{"details":"bad credentials"}`, http.StatusUnauthorized)
			return
		}
	}
	scope := r.URL.Query().Get("scope")
	if r.URL.Query().Get("service") != "fake-registry" || !strings.HasPrefix(scope, "repository:") {
		http.Error(w, "bad token request", http.StatusBadRequest)
		return
	}
	n := u.issued.Add(1)
	tok := fmt.Sprintf("token-%d", n)
	u.mu.Lock()
	u.tokens[tok] = tokenInfo{scope: scope, expires: u.clock.Now().Add(time.Duration(u.expiresIn) * time.Second)}
	u.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]any{"token": tok, "expires_in": u.expiresIn})
}

// repoOf returns the repository of a /v2/ path, or "".
func repoOf(p string) string {
	rest := strings.TrimPrefix(p, "/v2/")
	for _, k := range []string{"/manifests/", "/blobs/", "/referrers/", "/tags/list"} {
		if i := strings.LastIndex(rest, k); i > 0 {
			return rest[:i]
		}
	}
	return ""
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	repo := repoOf(r.URL.Path)
	scope := "repository:" + repo + ":pull"
	switch u.auth {
	case "bearer":
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		u.mu.Lock()
		ti, ok := u.tokens[tok]
		u.mu.Unlock()
		if !ok || ti.scope != scope || !u.clock.Now().Before(ti.expires) {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="%s/token",service="fake-registry",scope="%s"`, u.token.URL, scope))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
			return
		}
	case "basic":
		user, pass, ok := r.BasicAuth()
		if !ok || user != u.user || pass != u.pass {
			w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
	}
	u.mu.Lock()
	u.requests[r.Method+" "+r.URL.Path]++
	hook := u.hook
	u.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	u.reg.ServeHTTP(w, r)
}

// count returns how many authorized requests came for "METHOD path".
func (u *upstream) count(key string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.requests[key]
}

// countPrefix returns how many authorized requests came whose "METHOD
// path" starts with prefix.
func (u *upstream) countPrefix(prefix string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for k, v := range u.requests {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

func (u *upstream) setHook(h func(w http.ResponseWriter, r *http.Request) bool) {
	u.mu.Lock()
	u.hook = h
	u.mu.Unlock()
}

// pushRef is where the test pushes repo:tag (or repo@digest).
func (u *upstream) pushRef(t *testing.T, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(strings.TrimPrefix(u.push.URL, "http://")+"/"+ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (u *upstream) pushImage(t *testing.T, ref string, img v1.Image) {
	t.Helper()
	if err := remote.Write(u.pushRef(t, ref), img); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
}

func (u *upstream) pushIndex(t *testing.T, ref string, idx v1.ImageIndex) {
	t.Helper()
	if err := remote.WriteIndex(u.pushRef(t, ref), idx); err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
}

// env is a mirror in front of two fake registries, docker.io and ghcr.io.
type env struct {
	clock  *clock
	hub    *upstream // docker.io
	ghcr   *upstream // ghcr.io
	store  *disk.Store
	cache  *pull.Cache
	h      *Handler
	srv    *httptest.Server // the mirror
	client *http.Client     // for raw requests to the mirror
}

func newEnv(t *testing.T, configure func(*env, *Config)) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	e := &env{clock: clk, hub: newUpstream(t, clk, "bearer"), ghcr: newUpstream(t, clk, "bearer")}
	dir := t.TempDir()
	st, err := disk.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.store = st
	// A refresh is waited for, however slow the machine: the tests that
	// expect a stale answer make the upstream fail, not dawdle.
	e.cache, err = pull.New(pull.Config{Store: st, TempDir: filepath.Join(dir, disk.TempDir), HotCacheSize: -1, StaleGrace: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Cache: e.cache,
		Registries: []Registry{
			{Host: "docker.io", URL: e.hub.srv.URL},
			{Host: "ghcr.io", URL: e.ghcr.srv.URL},
		},
		HTTP: pulltest.LoopbackClient(t),
		Now:  clk.Now,
	}
	if configure != nil {
		configure(e, &cfg)
	}
	e.h, err = New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.h)
	t.Cleanup(e.srv.Close)
	e.client = pulltest.LoopbackClient(t)
	return e
}

// host is the mirror's host:port, as image references name it.
func (e *env) host() string { return strings.TrimPrefix(e.srv.URL, "http://") }

// ref parses a reference to an image through the mirror.
func (e *env) ref(t *testing.T, s string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(e.host()+"/"+s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// get makes a raw request to the mirror.
func (e *env) do(t *testing.T, method, path string, hdr http.Header) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp, body
}

// stored reports whether the mirror's store holds name.
func (e *env) stored(t *testing.T, name string) bool {
	t.Helper()
	rc, err := e.store.Get(t.Context(), name)
	if err != nil {
		return false
	}
	rc.Close()
	return true
}

func randomImage(t *testing.T, size, layers int64) v1.Image {
	t.Helper()
	img, err := random.Image(size, layers)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// specError decodes a spec error body and returns its first code.
func specError(t *testing.T, body []byte) string {
	t.Helper()
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil || len(eb.Errors) == 0 {
		t.Fatalf("body %q is not a spec error: %v", body, err)
	}
	if eb.Errors[0].Message == "" {
		t.Errorf("error %s has no message", eb.Errors[0].Code)
	}
	return eb.Errors[0].Code
}

// artifact returns an OCI artifact of artifactType whose subject is
// subject.
func artifact(t *testing.T, artifactType string, subject v1.Descriptor) v1.Image {
	t.Helper()
	img := randomImage(t, 64, 1)
	img = mutate.MediaType(img, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.MediaType(artifactType))
	return mutate.Subject(img, subject).(v1.Image)
}
