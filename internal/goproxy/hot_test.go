package goproxy

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
)

func TestHotCacheServesRecentHitsFromMemory(t *testing.T) {
	mod := sumdbtest.NewModule(t, "example.com/hello", "v1.0.0", nil)
	root := t.TempDir()
	f := newFixtureAt(t, root, []*sumdbtest.Module{mod}, nil)
	name := "example.com/hello/@v/v1.0.0.mod"
	if w := f.get(t, "/"+name); w.Code != http.StatusOK {
		t.Fatalf("first GET: got %d, want 200", w.Code)
	}
	// Gone from the store (as fsck's quarantine would make it): served from
	// memory until the entry expires, then not at all.
	if err := os.Remove(filepath.Join(root, name)); err != nil {
		t.Fatal(err)
	}
	f.up.setErr(fmt.Errorf("upstream down"))
	w := f.get(t, "/"+name)
	if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), mod.Mod) {
		t.Fatalf("GET within the hot TTL: got %d %q, want 200 and the go.mod", w.Code, w.Body)
	}
	for _, h := range []string{"Content-Length", "Etag", "Last-Modified", "Cache-Control", "Content-Type"} {
		if w.Header().Get(h) == "" {
			t.Errorf("hot response lacks %s", h)
		}
	}
	f.h.hot.mu.Lock()
	for _, e := range f.h.hot.entries {
		e.expires = time.Now().Add(-time.Second)
	}
	f.h.hot.mu.Unlock()
	if w := f.get(t, "/"+name); w.Code == http.StatusOK {
		t.Errorf("GET after the hot TTL of a file no longer stored: got 200, want an error")
	}
}

func TestHotCacheConditionalAndHead(t *testing.T) {
	mod := sumdbtest.NewModule(t, "example.com/hello", "v1.0.0", nil)
	f := newFixture(t, []*sumdbtest.Module{mod}, nil)
	name := "/example.com/hello/@v/v1.0.0.info"
	first := f.get(t, name)
	second := f.get(t, name) // From memory.
	for _, h := range []string{"Etag", "Last-Modified", "Content-Length"} {
		if first.Header().Get(h) != second.Header().Get(h) {
			t.Errorf("%s: store gave %q, memory %q", h, first.Header().Get(h), second.Header().Get(h))
		}
	}
	if w := f.get(t, name, "If-None-Match", second.Header().Get("Etag")); w.Code != http.StatusNotModified {
		t.Errorf("If-None-Match from memory: got %d, want 304", w.Code)
	}
	if w := f.get(t, name, "Range", "bytes=0-3"); w.Code != http.StatusPartialContent || w.Body.String() != string(mod.Info[:4]) {
		t.Errorf("Range from memory: got %d %q, want 206 %q", w.Code, w.Body, mod.Info[:4])
	}
}

func TestHotCacheBounds(t *testing.T) {
	c := newHotCache(10 << 10)
	now := time.Now()
	for i := range 100 {
		c.put(fmt.Sprint("/f", i), kindZip, bytes.Repeat([]byte{'x'}, 1<<10), now, now)
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
	c.put("/big", kindZip, bytes.Repeat([]byte{'x'}, 20<<10), now, now)
	if c.get("/big", now) != nil {
		t.Error("an entry larger than the cache was kept")
	}
}

func TestLargeFilesAreNotKeptInMemory(t *testing.T) {
	noise := make([]byte, 80<<10)
	rand.Read(noise)
	mod := sumdbtest.NewModule(t, "example.com/big", "v1.0.0", map[string]string{"big.go": "// " + hex.EncodeToString(noise) + "\n"})
	if len(mod.Zip) <= hotMaxFile {
		t.Fatalf("test zip is %d bytes, want more than %d", len(mod.Zip), hotMaxFile)
	}
	f := newFixture(t, []*sumdbtest.Module{mod}, nil)
	if w := f.get(t, "/example.com/big/@v/v1.0.0.zip"); w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), mod.Zip) {
		t.Fatalf("got %d, want 200 and the zip", w.Code)
	}
	if e := f.h.hot.get("/example.com/big/@v/v1.0.0.zip", time.Now()); e != nil {
		t.Error("a zip over the hot size limit was kept in memory")
	}
}
