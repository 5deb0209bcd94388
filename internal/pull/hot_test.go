package pull

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/store"
	"github.com/gomirror/gomirror/internal/store/disk"
)

func TestHotCacheServesRecentHitsFromMemory(t *testing.T) {
	root := t.TempDir()
	st, err := disk.New(root, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := newFixtureOn(t, st, nil)
	data := []byte("module example.com/hello\n")
	f.add("h.mod", data)
	if w := f.get(t, t.Context(), "/h.mod"); w.Code != http.StatusOK {
		t.Fatalf("first GET: got %d, want 200", w.Code)
	}
	// Gone from the store (as fsck's quarantine would make it): served from
	// memory until the entry expires, then not at all.
	if err := os.Remove(filepath.Join(root, "h.mod")); err != nil {
		t.Fatal(err)
	}
	f.up.setErr(errors.New("upstream down"))
	w := httpRecorder(t, f, "h.mod")
	if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), data) {
		t.Fatalf("GET within the hot TTL: got %d %q, want 200 and the file", w.Code, w.Body)
	}
	for _, h := range []string{"Content-Length", "Etag", "Last-Modified", "Cache-Control", "Content-Type"} {
		if w.Header().Get(h) == "" {
			t.Errorf("hot response lacks %s", h)
		}
	}
	f.c.hot.mu.Lock()
	for _, e := range f.c.hot.entries {
		e.expires = time.Now().Add(-time.Second)
	}
	f.c.hot.mu.Unlock()
	if w := httpRecorder(t, f, "h.mod"); w.Code == http.StatusOK {
		t.Errorf("GET after the hot TTL of a file no longer stored: got 200, want an error")
	}
}

// httpRecorder asks the hot cache first, as an ecosystem does, then the
// core.
func httpRecorder(t *testing.T, f *fixture, name string, hdr ...string) *recorderT {
	t.Helper()
	w := newRecorderT()
	r, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, "/"+name, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	if _, ok := f.c.ServeHot(w, r, name); ok {
		return w
	}
	f.handler(time.Hour).ServeHTTP(w, r)
	return w
}

func TestHotCacheConditionalAndHead(t *testing.T) {
	f := newFixture(t, nil)
	data := []byte(`{"Version":"v1.0.0"}`)
	f.add("h.info", data)
	first := httpRecorder(t, f, "h.info")
	second := httpRecorder(t, f, "h.info") // From memory.
	for _, h := range []string{"Etag", "Last-Modified", "Content-Length"} {
		if first.Header().Get(h) != second.Header().Get(h) {
			t.Errorf("%s: store gave %q, memory %q", h, first.Header().Get(h), second.Header().Get(h))
		}
	}
	if w := httpRecorder(t, f, "h.info", "If-None-Match", second.Header().Get("Etag")); w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match from memory: got %d, want 304", w.Code)
	}
	if w := httpRecorder(t, f, "h.info", "Range", "bytes=0-3"); w.Code != http.StatusPartialContent || w.Body.String() != string(data[:4]) {
		t.Errorf("Range from memory: got %d %q, want 206 %q", w.Code, w.Body, data[:4])
	}
}

func TestHotCacheBounds(t *testing.T) {
	c := newHotCache(10 << 10)
	now := time.Now()
	a := &Artifact{Ecosystem: "test", Kind: "file"}
	for i := range 100 {
		c.put(fmt.Sprint("/f", i), a, bytes.Repeat([]byte{'x'}, 1<<10), now, now)
		if c.size > c.max {
			t.Fatalf("after %d puts: size %d over the bound %d", i+1, c.size, c.max)
		}
	}
	var sum int64
	for _, e := range c.entries {
		sum += int64(len(e.data))
	}
	if sum != c.size {
		t.Errorf("accounted size %d, entries hold %d", c.size, sum)
	}
	// A file larger than the whole cache is served but not kept.
	c.put("/big", a, bytes.Repeat([]byte{'x'}, 20<<10), now, now)
	if c.get("/big", now) != nil {
		t.Error("an entry larger than the cache was kept")
	}
}

// TestHotFileLimitFollowsTheStore checks which files are kept in memory:
// from a store of local files, only those of a page or less (a larger one
// goes out with sendfile); from a remote store, small zips too; never a
// file over the remote limit.
func TestHotFileLimitFollowsTheStore(t *testing.T) {
	tests := []struct {
		name   string
		remote bool
		size   int64
		kept   bool
	}{
		{"local, a page", false, hotMaxLocal, true},
		{"local, over a page", false, hotMaxLocal + 1, false},
		{"remote, over a page", true, hotMaxLocal + 1, true},
		{"remote, at the limit", true, hotMaxRemote, true},
		{"remote, over the limit", true, hotMaxRemote + 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := disk.New(t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var s store.Store = st
			if tt.remote {
				s = remoteStore{st}
			}
			f := newFixtureOn(t, s, nil)
			data := big(int(tt.size))
			f.add("f.zip", data)
			for i := range 2 { // the fill, then a hit from the store
				if w := f.get(t, t.Context(), "/f.zip"); w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), data) {
					t.Fatalf("GET %d: got %d, want 200 and the file", i+1, w.Code)
				}
			}
			if kept := f.c.hot.get("f.zip", time.Now()) != nil; kept != tt.kept {
				t.Errorf("a file of %d bytes kept in memory: %v, want %v", tt.size, kept, tt.kept)
			}
		})
	}
}

// remoteStore hands out its files as a remote store does: readers that
// tell their size and time but are not local files.
type remoteStore struct{ *disk.Store }

func (s remoteStore) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	rc, err := s.Store.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return remoteReader{rc.(*os.File)}, nil
}

type remoteReader struct{ f *os.File }

func (r remoteReader) Read(p []byte) (int, error) { return r.f.Read(p) }
func (r remoteReader) Close() error               { return r.f.Close() }
func (r remoteReader) Stat() (fs.FileInfo, error) { return r.f.Stat() }

// recorderT is httptest.ResponseRecorder; named for the helpers above.
type recorderT = httptest.ResponseRecorder

func newRecorderT() *recorderT { return httptest.NewRecorder() }

// TestHotCacheSweepDropsExpired checks that a sweep drops the expired
// entries, keeps the live ones, and stays scheduled only while entries
// remain.
func TestHotCacheSweepDropsExpired(t *testing.T) {
	c := newHotCache(1 << 20)
	a := &Artifact{Ecosystem: "test", Kind: "file", ContentType: "text/plain"}
	now := time.Now()
	c.put("/old", a, []byte("old"), now, now.Add(-time.Hour))
	c.put("/live", a, []byte("live"), now, now)
	c.sweep()
	if c.get("/old", now.Add(-time.Hour)) != nil {
		t.Errorf("expired entry: still kept after a sweep")
	}
	if c.get("/live", now) == nil {
		t.Errorf("live entry: dropped by a sweep")
	}
	c.mu.Lock()
	size, sweeping := c.size, c.sweeping
	c.mu.Unlock()
	if size != 4 || !sweeping {
		t.Errorf("after the sweep: got size %d, sweeping %v; want 4, true", size, sweeping)
	}
	c.put("/live", a, []byte("live"), now, now.Add(-time.Hour))
	c.sweep()
	c.mu.Lock()
	size, sweeping = c.size, c.sweeping
	c.mu.Unlock()
	if size != 0 || sweeping {
		t.Errorf("after sweeping everything: got size %d, sweeping %v; want 0, false", size, sweeping)
	}
}
