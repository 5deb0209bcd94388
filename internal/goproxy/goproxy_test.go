package goproxy

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"

	"github.com/gomirror/gomirror/internal/metrics"
	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/store"
	"github.com/gomirror/gomirror/internal/store/disk"
	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
)

// fakeUpstream is a Fetcher serving files from a map. It counts fetches per
// name, can hold fetches until released, and can fail.
type fakeUpstream struct {
	mu      sync.Mutex
	files   map[string][]byte
	counts  map[string]int
	err     error         // returned by every fetch when set
	gate    chan struct{} // when set, fetches wait for it to close
	started chan string   // when set, receives each fetched name
}

func newFakeUpstream(mods ...*sumdbtest.Module) *fakeUpstream {
	u := &fakeUpstream{files: map[string][]byte{}, counts: map[string]int{}}
	for _, m := range mods {
		u.add(m)
	}
	return u
}

func (u *fakeUpstream) add(m *sumdbtest.Module) {
	p, _ := module.EscapePath(m.Path)
	u.mu.Lock()
	defer u.mu.Unlock()
	u.files[p+"/@v/"+m.Version.Version+".info"] = m.Info
	u.files[p+"/@v/"+m.Version.Version+".mod"] = m.Mod
	u.files[p+"/@v/"+m.Version.Version+".zip"] = m.Zip
	u.files[p+"/@v/list"] = append(u.files[p+"/@v/list"], m.Version.Version+"\n"...)
	u.files[p+"/@latest"] = m.Info
}

func (u *fakeUpstream) set(name string, data []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.files[name] = data
}

func (u *fakeUpstream) setErr(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.err = err
}

func (u *fakeUpstream) count(name string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.counts[name]
}

func (u *fakeUpstream) total() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, c := range u.counts {
		n += c
	}
	return n
}

func (u *fakeUpstream) Fetch(ctx context.Context, name string) (io.ReadCloser, error) {
	u.mu.Lock()
	u.counts[name]++
	data, ok := u.files[name]
	err, gate, started := u.err, u.gate, u.started
	u.mu.Unlock()
	if started != nil {
		started <- name
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("not found: %s: %w", name, fs.ErrNotExist)
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// fakeVerifier answers lookups from the modules it was given.
type fakeVerifier struct {
	mu   sync.Mutex
	mods map[module.Version]*sumdbtest.Module
	n    int
}

func (v *fakeVerifier) Lookup(ctx context.Context, path, version string) (string, string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.n++
	m, ok := v.mods[module.Version{Path: path, Version: version}]
	if !ok {
		return "", "", fmt.Errorf("%s@%s: %w", path, version, fs.ErrNotExist)
	}
	return m.ZipHash, m.ModHash, nil
}

type fixture struct {
	h     *Handler
	up    *fakeUpstream
	store store.Store
	m     *metrics.Metrics
}

func newFixture(t *testing.T, mods []*sumdbtest.Module, edit func(*Config)) *fixture {
	t.Helper()
	return newFixtureAt(t, t.TempDir(), mods, edit)
}

// newFixtureAt is newFixture with the disk store at root.
func newFixtureAt(t *testing.T, root string, mods []*sumdbtest.Module, edit func(*Config)) *fixture {
	t.Helper()
	st, err := disk.New(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	up := newFakeUpstream(mods...)
	ver := &fakeVerifier{mods: map[module.Version]*sumdbtest.Module{}}
	for _, m := range mods {
		ver.mods[m.Version] = m
	}
	m := metrics.New(nil)
	cache, err := pull.New(pull.Config{Store: st, TempDir: t.TempDir(), Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Cache: cache, Upstream: up, Verifier: ver}
	if edit != nil {
		edit(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cache.Shutdown(context.Background()) })
	return &fixture{h: h, up: up, store: st, m: m}
}

func (f *fixture) get(t *testing.T, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func (f *fixture) stored(t *testing.T, name string) bool {
	t.Helper()
	rc, err := f.store.Get(t.Context(), name)
	if err != nil {
		return false
	}
	rc.Close()
	return true
}

func TestServeFillsAndHits(t *testing.T) {
	mod := sumdbtest.NewModule(t, "example.com/hello", "v1.0.0", map[string]string{"hello.go": "package hello\n"})
	f := newFixture(t, []*sumdbtest.Module{mod}, nil)
	tests := []struct {
		ext, contentType string
		body             []byte
	}{
		{"info", "application/json", mod.Info},
		{"mod", "text/plain; charset=utf-8", mod.Mod},
		{"zip", "application/zip", mod.Zip},
	}
	for _, tt := range tests {
		t.Run(tt.ext, func(t *testing.T) {
			name := "example.com/hello/@v/v1.0.0." + tt.ext
			for i := range 2 {
				w := f.get(t, "/"+name)
				if w.Code != http.StatusOK {
					t.Fatalf("request %d: got status %d (%s), want 200", i, w.Code, w.Body)
				}
				if !bytes.Equal(w.Body.Bytes(), tt.body) {
					t.Fatalf("request %d: body differs from upstream's", i)
				}
				if got := w.Header().Get("Content-Type"); got != tt.contentType {
					t.Errorf("Content-Type: got %q, want %q", got, tt.contentType)
				}
				if got := w.Header().Get("Cache-Control"); got != pull.ImmutableCacheControl {
					t.Errorf("Cache-Control: got %q, want %q", got, pull.ImmutableCacheControl)
				}
				if w.Header().Get("ETag") == "" || w.Header().Get("Last-Modified") == "" {
					t.Errorf("missing ETag or Last-Modified: %v", w.Header())
				}
			}
			if got := f.up.count(name); got != 1 {
				t.Errorf("upstream fetches of %s: got %d, want 1", name, got)
			}
		})
	}
}

func TestFetchOnlyWhatIsAsked(t *testing.T) {
	mod := sumdbtest.NewModule(t, "example.com/hello", "v1.0.0", nil)
	f := newFixture(t, []*sumdbtest.Module{mod}, nil)
	for _, ext := range []string{"info", "mod"} {
		if w := f.get(t, "/example.com/hello/@v/v1.0.0."+ext); w.Code != http.StatusOK {
			t.Fatalf("%s: got status %d, want 200", ext, w.Code)
		}
	}
	if got := f.up.count("example.com/hello/@v/v1.0.0.zip"); got != 0 {
		t.Errorf("zip fetches after .info and .mod: got %d, want 0", got)
	}
}

func TestConditionalAndRange(t *testing.T) {
	mod := sumdbtest.NewModule(t, "example.com/hello", "v1.0.0", nil)
	f := newFixture(t, []*sumdbtest.Module{mod}, nil)
	first := f.get(t, "/example.com/hello/@v/v1.0.0.zip")
	if first.Code != http.StatusOK {
		t.Fatalf("got status %d, want 200", first.Code)
	}
	if w := f.get(t, "/example.com/hello/@v/v1.0.0.zip", "If-None-Match", first.Header().Get("ETag")); w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match: got status %d, want 304", w.Code)
	}
	if w := f.get(t, "/example.com/hello/@v/v1.0.0.zip", "If-Modified-Since", first.Header().Get("Last-Modified")); w.Code != http.StatusNotModified {
		t.Errorf("If-Modified-Since: got status %d, want 304", w.Code)
	}
	w := f.get(t, "/example.com/hello/@v/v1.0.0.zip", "Range", "bytes=2-9")
	if w.Code != http.StatusPartialContent || !bytes.Equal(w.Body.Bytes(), mod.Zip[2:10]) {
		t.Errorf("Range: got status %d and %d bytes, want 206 and bytes 2-9", w.Code, w.Body.Len())
	}
	r := httptest.NewRequestWithContext(t.Context(), http.MethodHead, "/example.com/hello/@v/v1.0.0.zip", nil)
	hw := httptest.NewRecorder()
	f.h.ServeHTTP(hw, r)
	if hw.Code != http.StatusOK || hw.Body.Len() != 0 || hw.Header().Get("Content-Length") != fmt.Sprint(len(mod.Zip)) {
		t.Errorf("HEAD: got status %d, %d body bytes, Content-Length %q; want 200, 0, %d",
			hw.Code, hw.Body.Len(), hw.Header().Get("Content-Length"), len(mod.Zip))
	}
}

func TestCoalescing(t *testing.T) {
	mod := sumdbtest.NewModule(t, "example.com/big", "v1.0.0", map[string]string{"big.go": strings.Repeat("// x\n", 50000)})
	f := newFixture(t, []*sumdbtest.Module{mod}, nil)
	f.up.gate = make(chan struct{})
	f.up.started = make(chan string, 200)
	const clients = 100
	var wg sync.WaitGroup
	var ok atomic.Int32
	for range clients {
		wg.Go(func() {
			w := f.get(t, "/example.com/big/@v/v1.0.0.zip")
			if w.Code == http.StatusOK && bytes.Equal(w.Body.Bytes(), mod.Zip) {
				ok.Add(1)
			}
		})
	}
	<-f.up.started // The one fetch has begun; let the others pile up behind it.
	deadline := time.Now().Add(10 * time.Second)
	for testutil.ToFloat64(f.m.StoreLookups.WithLabelValues("go", "zip", "miss")) < clients && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(f.up.gate)
	wg.Wait()
	if got := f.up.count("example.com/big/@v/v1.0.0.zip"); got != 1 {
		t.Errorf("upstream fetches for %d concurrent misses: got %d, want 1", clients, got)
	}
	if got := ok.Load(); got != clients {
		t.Errorf("clients with the right bytes: got %d, want %d", got, clients)
	}
}

func TestFillSurvivesClientHangUp(t *testing.T) {
	mod := sumdbtest.NewModule(t, "example.com/hello", "v1.0.0", nil)
	f := newFixture(t, []*sumdbtest.Module{mod}, nil)
	f.up.gate = make(chan struct{})
	f.up.started = make(chan string, 1)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan int)
	go func() {
		r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/example.com/hello/@v/v1.0.0.zip", nil)
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, r)
		done <- w.Code
	}()
	<-f.up.started
	cancel()
	<-done
	close(f.up.gate)
	deadline := time.Now().Add(10 * time.Second)
	for !f.stored(t, "example.com/hello/@v/v1.0.0.zip") {
		if time.Now().After(deadline) {
			t.Fatal("the fill did not complete after the client hung up")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestMissesDoNotWaitOnEachOther(t *testing.T) {
	slow := sumdbtest.NewModule(t, "example.com/slow", "v1.0.0", nil)
	fast := sumdbtest.NewModule(t, "example.com/fast", "v1.0.0", nil)
	gate := make(chan struct{})
	f := newFixture(t, []*sumdbtest.Module{slow, fast}, func(c *Config) {
		c.Upstream = gatedFetcher{Fetcher: c.Upstream, gate: gate, name: "example.com/slow/@v/v1.0.0.zip"}
	})
	slowDone := make(chan int)
	go func() { slowDone <- f.get(t, "/example.com/slow/@v/v1.0.0.zip").Code }()
	if w := f.get(t, "/example.com/fast/@v/v1.0.0.zip"); w.Code != http.StatusOK {
		t.Errorf("fast module while slow one hangs: got status %d, want 200", w.Code)
	}
	close(gate)
	if code := <-slowDone; code != http.StatusOK {
		t.Errorf("slow module: got status %d, want 200", code)
	}
}

// gatedFetcher holds fetches of one name until gate closes.
type gatedFetcher struct {
	Fetcher
	gate chan struct{}
	name string
}

func (g gatedFetcher) Fetch(ctx context.Context, name string) (io.ReadCloser, error) {
	if name == g.name {
		select {
		case <-g.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return g.Fetcher.Fetch(ctx, name)
}

func TestTamperedFilesAreRefused(t *testing.T) {
	good := sumdbtest.NewModule(t, "example.com/victim", "v1.0.0", map[string]string{"a.go": "package a\n"})
	edited := sumdbtest.NewModule(t, "example.com/victim", "v1.0.0", map[string]string{"a.go": "package a // evil\n"})
	flipped := bytes.Clone(good.Zip)
	flipped[len(flipped)/2] ^= 0xff
	outside := zipOutsidePrefix(t, good.Version)
	tests := []struct {
		name, file string
		body       []byte
		wantInBody []string
	}{
		{"one byte changed", "zip", flipped, []string{"example.com/victim@v1.0.0"}},
		{"rebuilt with one file edited", "zip", edited.Zip, []string{"example.com/victim@v1.0.0", good.ZipHash, edited.ZipHash}},
		{"edited go.mod", "mod", []byte("module example.com/victim\n\ngo 1.21\nrequire evil.example v1.0.0\n"), []string{"example.com/victim@v1.0.0", good.ModHash}},
		{"path outside the module prefix", "zip", outside, []string{"example.com/victim@v1.0.0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, []*sumdbtest.Module{good}, nil)
			name := "example.com/victim/@v/v1.0.0." + tt.file
			f.up.set(name, tt.body)
			w := f.get(t, "/"+name)
			if w.Code != http.StatusBadGateway {
				t.Fatalf("got status %d (%s), want 502", w.Code, w.Body)
			}
			for _, s := range tt.wantInBody {
				if !strings.Contains(w.Body.String(), s) {
					t.Errorf("body %q does not mention %q", w.Body, s)
				}
			}
			if strings.Count(strings.TrimSpace(w.Body.String()), "\n") != 0 {
				t.Errorf("body is not one line: %q", w.Body)
			}
			if f.stored(t, name) {
				t.Errorf("%s was stored", name)
			}
			if got := testutil.ToFloat64(f.m.VerifyFailures.WithLabelValues("go", tt.file)); got != 1 {
				t.Errorf("verify failures: got %v, want 1", got)
			}
		})
	}
}

// zipOutsidePrefix builds a zip for m with a file outside m's prefix.
func zipOutsidePrefix(t *testing.T, m module.Version) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{m.String() + "/go.mod", "evil/../../etc/passwd"} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, "module "+m.Path+"\n")
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestUnknownToChecksumDatabaseIsRefused(t *testing.T) {
	mod := sumdbtest.NewModule(t, "example.com/unlisted", "v1.0.0", nil)
	f := newFixture(t, nil, nil)
	f.up.add(mod)
	w := f.get(t, "/example.com/unlisted/@v/v1.0.0.zip")
	if w.Code != http.StatusBadGateway || !strings.Contains(w.Body.String(), "checksum database") {
		t.Errorf("got status %d (%s), want 502 naming the checksum database", w.Code, w.Body)
	}
	if f.stored(t, "example.com/unlisted/@v/v1.0.0.zip") {
		t.Error("unverified zip was stored")
	}
}

func TestNotFoundAndNegativeCache(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.up.setErr(fmt.Errorf("not found: example.com/nope@v1.0.0: invalid version: unknown revision v1.0.0: %w", fs.ErrNotExist))
	for i := range 3 {
		w := f.get(t, "/example.com/nope/@v/v1.0.0.info")
		if w.Code != http.StatusNotFound {
			t.Fatalf("request %d: got status %d, want 404", i, w.Code)
		}
		if !strings.Contains(w.Body.String(), "unknown revision v1.0.0") {
			t.Errorf("request %d: body %q does not pass the upstream reason through", i, w.Body)
		}
	}
	if got := f.up.total(); got != 1 {
		t.Errorf("upstream fetches for three requests of a missing file: got %d, want 1", got)
	}
}

func TestOffRefuses(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.up.setErr(fmt.Errorf("module lookup disabled by GOPROXY=off: %w", fs.ErrPermission))
	w := f.get(t, "/example.com/hello/@v/v1.0.0.info")
	if w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "GOPROXY=off") {
		t.Errorf("got status %d (%s), want 403 saying GOPROXY=off", w.Code, w.Body)
	}
}

func TestMetadataTTLAndStale(t *testing.T) {
	mod := sumdbtest.NewModule(t, "example.com/hello", "v1.0.0", nil)
	f := newFixture(t, []*sumdbtest.Module{mod}, func(c *Config) { c.MetadataTTL = time.Hour })
	for _, path := range []string{"/example.com/hello/@v/list", "/example.com/hello/@latest", "/example.com/hello/@v/main.info"} {
		if path == "/example.com/hello/@v/main.info" {
			f.up.set("example.com/hello/@v/main.info", mod.Info)
		}
		t.Run(path, func(t *testing.T) {
			for i := range 2 {
				w := f.get(t, path)
				if w.Code != http.StatusOK {
					t.Fatalf("request %d: got status %d (%s), want 200", i, w.Code, w.Body)
				}
				if got := w.Header().Get("Cache-Control"); got != "public, max-age=3600" {
					t.Errorf("Cache-Control: got %q, want a short max-age", got)
				}
			}
			if got := f.up.count(strings.TrimPrefix(path, "/")); got != 1 {
				t.Errorf("upstream fetches within the TTL: got %d, want 1", got)
			}
		})
	}

	// Past the TTL, with upstream failing, the stored list is served stale.
	f.h.cfg.MetadataTTL = time.Nanosecond
	f.up.setErr(fmt.Errorf("connection refused"))
	w := f.get(t, "/example.com/hello/@v/list")
	if w.Code != http.StatusOK || w.Body.String() != "v1.0.0\n" {
		t.Fatalf("stale list: got status %d, body %q; want 200 and the stored list", w.Code, w.Body)
	}
	if w.Header().Get(pull.StaleHeader) != "true" {
		t.Errorf("stale list without the %s header", pull.StaleHeader)
	}

	// Past the TTL, with upstream back, the list is refreshed.
	f.up.setErr(nil)
	f.up.set("example.com/hello/@v/list", []byte("v1.0.0\nv1.1.0\n"))
	w = f.get(t, "/example.com/hello/@v/list")
	if w.Body.String() != "v1.0.0\nv1.1.0\n" || w.Header().Get(pull.StaleHeader) != "" {
		t.Errorf("refreshed list: got %q (stale header %q), want the new list", w.Body, w.Header().Get(pull.StaleHeader))
	}
}

func TestBadRequests(t *testing.T) {
	f := newFixture(t, nil, nil)
	tests := []struct {
		path string
		code int
	}{
		{"/golang.org/x/../../etc/passwd/@v/list", 400},
		{"/golang.org/x/%2e%2e/%2e%2e/etc/@v/list", 400},
		{"/golang.org%2fx/text/@v/list", 400},
		{"/golang.org/x\\text/@v/list", 400},
		{"/golang.org/x/te%00xt/@v/list", 400},
		{"/" + strings.Repeat("a", 5000), 400},
		{"/", 400},
		{"/favicon.ico", 400},
		{"/example.com/m/@v/v2.0.0.zip", 404},
	}
	for _, tt := range tests {
		t.Run(tt.path[:min(len(tt.path), 40)], func(t *testing.T) {
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
			r.URL.Path, r.URL.RawPath = tt.path, tt.path
			w := httptest.NewRecorder()
			f.h.ServeHTTP(w, r)
			if w.Code != tt.code {
				t.Errorf("got status %d (%s), want %d", w.Code, w.Body, tt.code)
			}
			body := strings.TrimSuffix(w.Body.String(), "\n")
			if body == "" || strings.Contains(body, "\n") {
				t.Errorf("body %q is not one line", w.Body)
			}
		})
	}
	if got := f.up.total(); got != 0 {
		t.Errorf("upstream fetches for bad requests: got %d, want 0", got)
	}
}

func TestHTMLListRefused(t *testing.T) {
	f := newFixture(t, nil, nil)
	f.up.set("example.com/hello/@v/list", []byte("<!DOCTYPE html>\n<html><body>Login required</body></html>\n"))
	w := f.get(t, "/example.com/hello/@v/list")
	if w.Code != http.StatusBadGateway || !strings.Contains(w.Body.String(), "not a version") {
		t.Errorf("an HTML page as @v/list: got %d %q, want 502 saying a line is not a version", w.Code, w.Body)
	}
	if f.stored(t, "example.com/hello/@v/list") {
		t.Error("the HTML page was stored as a list")
	}
}

// announcing is a Fetcher whose zip announces more bytes than a module
// zip may have, and records whether it was read.
type announcing struct{ read bool }

func (a *announcing) Fetch(ctx context.Context, name string) (io.ReadCloser, error) {
	return &announcedBody{a: a}, nil
}

type announcedBody struct{ a *announcing }

func (b *announcedBody) Read(p []byte) (int, error) { b.a.read = true; return 0, io.EOF }
func (b *announcedBody) Close() error               { return nil }
func (b *announcedBody) Size() int64                { return modzip.MaxZipFile + 1 }

func TestOversizeZipRefusedBeforeDownload(t *testing.T) {
	mod := sumdbtest.NewModule(t, "example.com/hello", "v1.0.0", nil)
	up := &announcing{}
	f := newFixture(t, []*sumdbtest.Module{mod}, func(c *Config) { c.Upstream = up })
	w := f.get(t, "/example.com/hello/@v/v1.0.0.zip")
	if w.Code != http.StatusBadGateway || !strings.Contains(w.Body.String(), "over the limit") {
		t.Errorf("a zip announced over the limit: got %d %q, want 502", w.Code, w.Body)
	}
	if up.read {
		t.Error("the body of a zip announced over the limit was read")
	}
}

// prefetchVerifier is a fakeVerifier that records prefetches.
type prefetchVerifier struct {
	*fakeVerifier
	mu         sync.Mutex
	prefetched []module.Version
}

func (v *prefetchVerifier) Prefetch(path, version string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.prefetched = append(v.prefetched, module.Version{Path: path, Version: version})
}

// TestPrefetchOnInfo checks that filling a version's .info starts its
// checksum database lookup ahead of the .mod and .zip, and that nothing
// else does: not a hit, not the .mod or .zip (which look up themselves).
func TestPrefetchOnInfo(t *testing.T) {
	mod := sumdbtest.NewModule(t, "example.com/hello", "v1.0.0", map[string]string{"hello.go": "package hello\n"})
	var pv *prefetchVerifier
	f := newFixture(t, []*sumdbtest.Module{mod}, func(c *Config) {
		pv = &prefetchVerifier{fakeVerifier: c.Verifier.(*fakeVerifier)}
		c.Verifier = pv
	})
	base := "/example.com/hello/@v/v1.0.0"
	for _, p := range []string{base + ".info", base + ".info", base + ".mod", base + ".zip", "/example.com/hello/@v/list"} {
		if w := f.get(t, p); w.Code != http.StatusOK {
			t.Fatalf("GET %s: got %d %s, want 200", p, w.Code, w.Body)
		}
	}
	pv.mu.Lock()
	defer pv.mu.Unlock()
	want := []module.Version{mod.Version}
	if !slices.Equal(pv.prefetched, want) {
		t.Errorf("prefetches: got %v, want %v (the .info's fill only)", pv.prefetched, want)
	}
}
