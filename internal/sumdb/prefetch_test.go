package sumdb_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/store"
	"github.com/gomirror/gomirror/internal/sumdb"
)

// TestPrefetch starts a lookup ahead of need: once it has finished, a
// Lookup finds its hashes with the database down, and a second one asks
// the database nothing.
func TestPrefetch(t *testing.T) {
	w := newWorld(t, time.Hour)
	g := w.mods["good"]
	w.sumdb.Prefetch(g.Path, g.Version.Version)
	// Shutdown returns once the prefetch has finished.
	if err := w.sumdb.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if got := w.db.LookupRequests(); got != 1 {
		t.Fatalf("lookups sent to the database by Prefetch: got %d, want 1", got)
	}
	w.db.SetDown(true)
	before := w.db.Requests()
	zip, mod, err := w.sumdb.Lookup(t.Context(), g.Path, g.Version.Version)
	if err != nil || zip != g.ZipHash || mod != g.ModHash {
		t.Fatalf("Lookup after Prefetch: got %q, %q, %v; want the module's hashes", zip, mod, err)
	}
	if got := w.db.Requests() - before; got != 0 {
		t.Errorf("requests to the database after Prefetch: got %d, want 0", got)
	}
}

// TestPrefetchSkips checks that Prefetch looks nothing up for private
// modules and bad versions.
func TestPrefetchSkips(t *testing.T) {
	tests := []struct{ name, path, version string }{
		{"private", "corp.example.com/secret", "v1.0.0"},
		{"nosumdb", "nosum.example.com/x", "v1.0.0"},
		{"not canonical", "example.com/good", "v1.0"},
		{"bad path", "example.com/../good", "v1.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, time.Hour)
			w.sumdb.Prefetch(tt.path, tt.version)
			if err := w.sumdb.Shutdown(t.Context()); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if got := w.db.Requests(); got != 0 {
				t.Errorf("requests to the database: got %d, want 0", got)
			}
		})
	}
}

// TestLookupDamagedCache damages the lookups and tiles that an earlier
// lookup cached in the store, the way a crash can leave files written
// without a sync: a new SumDB over the store fetches them again and
// succeeds, rather than failing on them.
func TestLookupDamagedCache(t *testing.T) {
	damages := []struct {
		name   string
		damage func(data []byte) []byte
	}{
		{"empty", func([]byte) []byte { return nil }},
		{"cut", func(data []byte) []byte { return data[:len(data)/2] }},
	}
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			w := newWorld(t, time.Hour)
			w.warm(t)
			n := 0
			for name, data := range cached(t, w.store) {
				if strings.Contains(name, "/lookup/") || strings.Contains(name, "/tile/") {
					if err := w.store.Put(t.Context(), name, strings.NewReader(string(d.damage(data)))); err != nil {
						t.Fatal(err)
					}
					n++
				}
			}
			if n == 0 {
				t.Fatal("the lookup cached no lookup or tile in the store")
			}
			s, err := sumdb.New(w.config(t, time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			shutdown(t, s)
			g := w.mods["good"]
			before := w.db.LookupRequests()
			zip, mod, err := s.Lookup(t.Context(), g.Path, g.Version.Version)
			if err != nil || zip != g.ZipHash || mod != g.ModHash {
				t.Fatalf("Lookup over a damaged cache: got %q, %q, %v; want the module's hashes", zip, mod, err)
			}
			if got := w.db.LookupRequests() - before; got != 1 {
				t.Errorf("lookups sent to the database: got %d, want 1 (the damaged one fetched again)", got)
			}
		})
	}
}

// cached returns the files under sumdb/ in st.
func cached(t *testing.T, st store.Store) map[string][]byte {
	t.Helper()
	wk, ok := st.(store.Walker)
	if !ok {
		t.Fatalf("%T cannot list its files", st)
	}
	var names []string
	err := wk.Walk(t.Context(), "sumdb/", func(name string) error {
		names = append(names, name)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	files := make(map[string][]byte)
	for _, name := range names {
		rc, err := st.Get(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		files[name] = data
	}
	return files
}
