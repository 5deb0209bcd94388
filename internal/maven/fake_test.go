package maven

import (
	"context"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/store/disk"
)

// fakeRepo is an upstream Maven repository in the test process. It serves
// files from a map, and their checksum files computed on the fly for the
// algorithms it publishes, unless a test overrides them.
type fakeRepo struct {
	mu    sync.Mutex
	files map[string][]byte // by path, without a leading slash
	// algs are the checksum algorithms it publishes; nil means sha1 and
	// md5, as most of Maven Central does.
	algs []string
	// sums overrides checksum files, by path ("a/b.jar.sha1"); an empty
	// value means 404.
	sums map[string]string
	// user and pass, when set, are required with basic authentication.
	user, pass string
	down       bool
	hits       map[string]int
	auths      map[string]string // the Authorization each path came with
	srv        *httptest.Server
}

func newFakeRepo(t *testing.T, files map[string][]byte) *fakeRepo {
	t.Helper()
	f := &fakeRepo{files: files, sums: map[string]string{}, hits: map[string]int{}, auths: map[string]string{}}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the repository's root, ending in "/".
func (f *fakeRepo) URL() string { return f.srv.URL + "/repo/" }

func (f *fakeRepo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/repo/")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hits[p]++
	f.auths[p] = r.Header.Get("Authorization")
	if f.down {
		http.Error(w, "repository down", http.StatusServiceUnavailable)
		return
	}
	if f.user != "" {
		if u, pw, ok := r.BasicAuth(); !ok || u != f.user || pw != f.pass {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
	}
	if s, ok := f.sums[p]; ok {
		if s == "" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(s))
		return
	}
	for _, c := range checksumExts {
		if base, ok := strings.CutSuffix(p, c.ext); ok {
			data, ok := f.files[base]
			algs := f.algs
			if algs == nil {
				algs = []string{"sha1", "md5"}
			}
			if !ok || !contains(algs, c.algorithm) {
				http.NotFound(w, r)
				return
			}
			h := newHash(c.algorithm)
			h.Write(data)
			w.Write([]byte(hex.EncodeToString(h.Sum(nil))))
			return
		}
	}
	data, ok := f.files[p]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Write(data)
}

func (f *fakeRepo) set(fn func(f *fakeRepo)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeRepo) count(p string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[p]
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// mirror is a Handler over a disk store, and the store.
type mirror struct {
	h     *Handler
	cache *pull.Cache
	store *disk.Store
	srv   *httptest.Server
}

func newMirror(t *testing.T, cfg Config) *mirror {
	t.Helper()
	dir := t.TempDir()
	st, err := disk.New(filepath.Join(dir, "store"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cache, err := pull.New(pull.Config{Store: st, TempDir: dir, HotCacheSize: -1, NegativeTTL: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Fills outlive their clients: they end before the store's directory
	// is removed.
	t.Cleanup(func() { cache.Shutdown(context.Background()) })
	cfg.Cache = cache
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &mirror{h: h, cache: cache, store: st, srv: srv}
}

// get fetches p from the mirror, with headers given as name, value...,
// returning its status, body and headers.
func (m *mirror) get(t *testing.T, p string, hdr ...string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, m.srv.URL+p, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// stored reports whether the store holds p's file.
func (m *mirror) stored(t *testing.T, p string) bool {
	t.Helper()
	// A streamed fill answers its client once the file is checked, and
	// stores it after: wait for the fills under way.
	if err := m.cache.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	rc, err := m.store.Get(t.Context(), storePrefix+p)
	if err != nil {
		return false
	}
	rc.Close()
	return true
}
