package server

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/store/budget"
	"github.com/gomirror/gomirror/internal/store/disk"
)

func TestStoreBudget(t *testing.T) {
	data := t.TempDir()
	// What an earlier run left: 8100 bytes, an hour old.
	files := map[string]int{
		"example.com/old/@v/v1.0.0.zip":            3000,
		"npm/tarballs/left-pad/left-pad-1.3.0.tgz": 3000,
		"example.com/old/@v/list":                  100,
		"sumdb/sum.golang.org/tile/8/0/000":        2000,
	}
	old := time.Now().Add(-time.Hour)
	for name, size := range files {
		p := filepath.Join(data, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, bytes.Repeat([]byte("x"), size), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	s, ts := newTestServer(t, func(c *config.Config) {
		c.Data = data
		c.Budget.Bytes = 5000
	})
	b, ok := s.cache.Store().(*budget.Store)
	if !ok {
		t.Fatalf("the cache's store is a %T, want a *budget.Store", s.cache.Store())
	}
	<-b.Counted()
	// The walk found 8100 bytes, over the budget of 5000: the two
	// immutable files go (by their names), the metadata stays.
	waitFor(t, "the eviction after the walk", func() bool { return b.Used() == 2100 })
	for name := range files {
		_, err := os.Stat(filepath.Join(data, filepath.FromSlash(name)))
		if evicted := err != nil; evicted != (files[name] == 3000) {
			t.Errorf("%s: evicted %v, want %v", name, evicted, files[name] == 3000)
		}
	}
	// Served files are counted as they are stored.
	if resp, body := do(t, "GET", ts.URL+"/example.com/hello/@v/v1.0.0.mod"); resp.StatusCode != 200 {
		t.Fatalf("GET .mod: got %d (%s), want 200", resp.StatusCode, body)
	}
	if got := b.Used(); got <= 2100 {
		t.Errorf("Used after a fill: got %d, want more than 2100", got)
	}
	_, body := do(t, "GET", ts.URL+"/metrics")
	for _, want := range []string{"gomirror_store_budget_bytes 5000", "gomirror_store_evictions_total 2", "gomirror_store_used_bytes "} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no %q", want)
		}
	}
}

func TestNoStoreBudget(t *testing.T) {
	s, ts := newTestServer(t, nil)
	if _, ok := s.cache.Store().(*budget.Store); ok {
		t.Error("a budget store with no store-budget set")
	}
	_, body := do(t, "GET", ts.URL+"/metrics")
	if strings.Contains(body, "gomirror_store_budget_bytes") {
		t.Error("/metrics reports a store budget with none set")
	}
	// The free space still comes from the disk store.
	if !strings.Contains(body, "gomirror_store_free_bytes") {
		t.Error("/metrics has no gomirror_store_free_bytes")
	}
}

func TestImmutableName(t *testing.T) {
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"golang.org/x/text/@v/v0.3.0.zip", true},
		{"golang.org/x/text/@v/v0.3.0.info", true},
		{"golang.org/x/text/@v/list", false},
		{"golang.org/x/text/@latest", false},
		{"golang/dl/go1.22.0.linux-amd64.tar.gz", true},
		{"golang/index.json", false},
		{"pypi/files/requests/" + strings.Repeat("0f", 32) + "/requests-2.32.3.tar.gz", true},
		{"pypi/simple/requests.json", false},
		{"npm/tarballs/lodash/lodash-4.17.21.tgz", true},
		{"npm/packuments/lodash", false},
		{"oci/blobs/docker.io/sha256/" + strings.Repeat("ab", 32), true},
		{"oci/manifests/docker.io/sha256/" + strings.Repeat("ab", 32), true},
		{"oci/tags/docker.io/library/alpine/_tags/3.20", false},
		{"sumdb/sum.golang.org/tile/8/0/001", false},
		{"sumdb/sum.golang.org/lookup/golang.org/x/text@v0.3.0", false},
		{"vuln/index/db.json", false},
	} {
		if got := immutableName(tt.name); got != tt.want {
			t.Errorf("immutableName(%q): got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// waitFor waits for cond, which background work makes true, failing the
// test if it has not after a long while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s after a minute", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// BenchmarkServerHitBudget serves a stored file through the whole handler,
// with no memory cache so that every hit reads the store, without and with
// a store budget: the difference is the cost of the budget's bookkeeping
// on a hit.
func BenchmarkServerHitBudget(b *testing.B) {
	for _, tt := range []struct {
		name, file string
		size       int
	}{
		{"info", "golang.org/x/text/@v/v0.3.0.info", 60},
		{"zip-1MiB", "golang.org/x/text/@v/v0.3.0.zip", 1 << 20},
	} {
		for _, budget := range []int64{0, 1 << 40} {
			b.Run(fmt.Sprintf("%s/budget=%v", tt.name, budget != 0), func(b *testing.B) {
				cfg := config.Default(func(string) string { return "" })
				cfg.Data = b.TempDir()
				cfg.Upstream = "off"
				cfg.SumDB = "off"
				cfg.MemoryCache = 0
				cfg.Budget.Bytes = budget
				d, err := disk.New(cfg.Data, nil)
				if err != nil {
					b.Fatal(err)
				}
				err = d.Put(b.Context(), tt.file, bytes.NewReader(make([]byte, tt.size)))
				d.Close()
				if err != nil {
					b.Fatal(err)
				}
				s, err := New(b.Context(), cfg, slog.New(slog.DiscardHandler), nil)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { s.Close() })
				h := s.Handler()
				req := httptest.NewRequestWithContext(b.Context(), http.MethodGet, "/"+tt.file, nil)
				b.SetBytes(int64(tt.size))
				b.ReportAllocs()
				for b.Loop() {
					w := &discardWriter{header: http.Header{}}
					h.ServeHTTP(w, req)
					if w.code != http.StatusOK || w.n != int64(tt.size) {
						b.Fatalf("got status %d and %d bytes, want 200 and %d", w.code, w.n, tt.size)
					}
				}
			})
		}
	}
}

// FuzzImmutableName checks that no name of metadata is ever classified as
// immutable, whatever else it holds.
func FuzzImmutableName(f *testing.F) {
	for _, seed := range []string{
		"golang.org/x/text/@v/v0.3.0.zip", "golang.org/x/text/@v/list", "golang.org/x/text/@latest",
		"sumdb/sum.golang.org/tile/8/0/001", "vuln/index/db.json", "oci/tags/docker.io/library/alpine/_tags/3",
		"npm/packuments/@v/x", "pypi/simple/x.json", "golang/index.json", "example.com/m/@v/v1.0.0.info",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		immutable := immutableName(name)
		for _, prefix := range []string{"sumdb/", "vuln/", "oci/tags/", "oci/referrers/", "pypi/simple/", "npm/packuments/", "quarantine/"} {
			if immutable && strings.HasPrefix(name, prefix) {
				t.Errorf("immutableName(%q): true for a name under %s", name, prefix)
			}
		}
		if immutable && (strings.HasSuffix(name, "/@v/list") || strings.HasSuffix(name, "/@latest")) {
			t.Errorf("immutableName(%q): true for a list or @latest", name)
		}
	})
}
