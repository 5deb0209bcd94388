package cargo

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/pull/pulltest"
	"github.com/gomirror/gomirror/internal/store/disk"
)

// fakeRegistry is a sparse-index registry in the test process: a
// config.json, index files in cargo's layout, and downloads.
type fakeRegistry struct {
	t   testing.TB
	srv *httptest.Server

	mu       sync.Mutex
	lines    map[string][]string // lower-cased name → index lines
	crates   map[string][]byte   // "name/version" → served bytes
	hits     map[string]int      // request path → count
	dl       string              // config.json's dl; "" means srv.URL + "/dl"
	noConfig bool                // answer 404 for config.json

	notModified atomic.Int64
	down        atomic.Bool
}

// dep is one dependency of an index line.
type dep struct {
	Name            string   `json:"name"`
	Req             string   `json:"req"`
	Features        []string `json:"features"`
	Optional        bool     `json:"optional"`
	DefaultFeatures bool     `json:"default_features"`
	Target          *string  `json:"target"`
	Kind            string   `json:"kind"`
}

func newFakeRegistry(t testing.TB) *fakeRegistry {
	t.Helper()
	f := &fakeRegistry{t: t, lines: map[string][]string{}, crates: map[string][]byte{}, hits: map[string]int{}}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// URL is the index's root, with a slash.
func (f *fakeRegistry) URL() string { return f.srv.URL + "/" }

// publish adds a version of name whose .crate is data.
func (f *fakeRegistry) publish(name, vers string, data []byte, deps []dep, features map[string][]string) {
	f.t.Helper()
	sum := sha256.Sum256(data)
	if deps == nil {
		deps = []dep{}
	}
	if features == nil {
		features = map[string][]string{}
	}
	line, err := json.Marshal(map[string]any{
		"name": name, "vers": vers, "deps": deps, "cksum": hex.EncodeToString(sum[:]),
		"features": features, "yanked": false,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	lower := strings.ToLower(name)
	f.lines[lower] = append(f.lines[lower], string(line))
	f.crates[name+"/"+vers] = data
}

// setLines replaces the index file of name.
func (f *fakeRegistry) setLines(name string, lines ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lines[strings.ToLower(name)] = lines
}

// tamper makes the registry serve data for name's version vers.
func (f *fakeRegistry) tamper(name, vers string, data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.crates[name+"/"+vers] = data
}

func (f *fakeRegistry) hitCount(p string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[p]
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.hits[r.URL.Path]++
	f.mu.Unlock()
	if f.down.Load() {
		http.Error(w, "down for the test", http.StatusServiceUnavailable)
		return
	}
	p := strings.TrimPrefix(r.URL.Path, "/")
	switch {
	case p == "config.json":
		f.mu.Lock()
		dl, none := f.dl, f.noConfig
		f.mu.Unlock()
		if none {
			http.NotFound(w, r)
			return
		}
		if dl == "" {
			dl = f.srv.URL + "/dl"
		}
		json.NewEncoder(w).Encode(map[string]string{"dl": dl, "api": f.srv.URL})
	case strings.HasPrefix(p, "dl/"):
		parts := strings.Split(p, "/")
		if len(parts) != 4 || parts[3] != "download" {
			http.NotFound(w, r)
			return
		}
		f.mu.Lock()
		data, ok := f.crates[parts[1]+"/"+parts[2]]
		f.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/gzip")
		w.Write(data)
	default:
		name := path.Base(p)
		f.mu.Lock()
		lines, ok := f.lines[name]
		f.mu.Unlock()
		if !ok || IndexPath(name) != p {
			http.Error(w, "crate not found", http.StatusNotFound)
			return
		}
		body := []byte(strings.Join(lines, "\n") + "\n")
		sum := sha256.Sum256(body)
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		if r.Header.Get("If-None-Match") == etag {
			f.notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "text/plain")
		w.Write(body)
	}
}

// mirror is a Handler on a disk store, served by an httptest server.
type mirror struct {
	h     *Handler
	srv   *httptest.Server
	store *disk.Store
	log   *pulltest.Buffer
}

// newMirror serves a Handler for cfg under /cargo/ on a fresh disk store.
// Upstream nil means a client that dials loopback only.
func newMirror(t testing.TB, cfg Config) *mirror {
	t.Helper()
	dir := t.TempDir()
	st, err := disk.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logs := &pulltest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	// A long stale grace: a slow refresh on a busy machine must not turn
	// into a stale answer that a test does not expect.
	cache, err := pull.New(pull.Config{Store: st, TempDir: path.Join(dir, ".tmp"), Logger: log, StaleGrace: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Cache = cache
	cfg.Logger = log
	if cfg.Upstream == nil {
		cfg.Upstream = &pull.HTTPUpstream{Client: pulltest.LoopbackClient(t)}
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &mirror{h: h, srv: srv, store: st, log: logs}
}

// get requests p, sent as it is, from the mirror with the given headers.
func (m *mirror) get(t testing.TB, p string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	return m.do(t, http.MethodGet, p, hdr...)
}

func (m *mirror) do(t testing.TB, method, p string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, m.srv.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = p // Sent as it is, malformed escapes included.
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := m.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

// stored reports whether the mirror's store holds name.
func (m *mirror) stored(t testing.TB, name string) bool {
	t.Helper()
	rc, err := m.store.Get(t.Context(), name)
	if err != nil {
		return false
	}
	rc.Close()
	return true
}
