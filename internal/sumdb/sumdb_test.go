package sumdb_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/gomirror/gomirror/internal/metrics"
	"github.com/gomirror/gomirror/internal/store/memstore"
	"github.com/gomirror/gomirror/internal/sumdb"
	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
	"github.com/gomirror/gomirror/internal/verify"
)

const dbName = "sum.example.test"

// world is a fake checksum database and a SumDB proxying it, served by
// httptest.
type world struct {
	db       *sumdbtest.DB
	store    *memstore.Store
	sumdb    *sumdb.SumDB
	url      string // the SumDB's httptest server
	mods     map[string]*sumdbtest.Module
	stateDir string
	logs     *logBuffer
}

// logBuffer collects log output; it is safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// config returns the configuration of the world's SumDB.
func (w *world) config(t *testing.T, latestTTL time.Duration) sumdb.Config {
	return sumdb.Config{
		GOSUMDB:   w.db.Key + " " + w.db.URL,
		Private:   "corp.example.com,example.com/CORP",
		NoSumDB:   "nosum.example.com/*",
		Store:     w.store,
		StateDir:  w.stateDir,
		LatestTTL: latestTTL,
		Client:    sumdbtest.LocalClient(t),
		Logger:    slog.New(slog.NewTextHandler(w.logs, nil)),
		Metrics:   metrics.New(nil),
	}
}

// shutdown waits for s's lookups when the test ends, before the state
// directory is removed: register it after t.TempDir.
func shutdown(t *testing.T, s *sumdb.SumDB) {
	t.Cleanup(func() {
		if err := s.Shutdown(context.WithoutCancel(t.Context())); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
}

func newWorld(t *testing.T, latestTTL time.Duration) *world {
	t.Helper()
	// The state directory is made first so that it is removed last, once
	// the database is closed and every lookup has finished.
	w := &world{stateDir: t.TempDir(), logs: &logBuffer{}, mods: map[string]*sumdbtest.Module{
		"good":    sumdbtest.NewModule(t, "example.com/good", "v1.0.0", map[string]string{"good.go": "package good\n"}),
		"other":   sumdbtest.NewModule(t, "example.com/other", "v1.2.3", nil),
		"private": sumdbtest.NewModule(t, "corp.example.com/secret", "v1.0.0", nil),
	}}
	w.db = sumdbtest.NewDB(t, dbName, w.mods["good"], w.mods["other"], w.mods["private"])
	w.store = memstore.New()
	s, err := sumdb.New(w.config(t, latestTTL))
	if err != nil {
		t.Fatal(err)
	}
	shutdown(t, s)
	w.sumdb = s
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	w.url = srv.URL
	return w
}

// get fetches path from the world's SumDB server.
func (w *world) get(t *testing.T, path string) (*http.Response, []byte) {
	t.Helper()
	resp, err := sumdbtest.LocalClient(t).Get(w.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestServeThrough(t *testing.T) {
	w := newWorld(t, time.Hour)
	prefix := "/sumdb/" + dbName

	resp, _ := w.get(t, prefix+"/supported")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("supported: got status %d, want 200", resp.StatusCode)
	}

	resp, body := w.get(t, prefix+"/lookup/example.com/good@v1.0.0")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("lookup: got status %d (%s), want 200", resp.StatusCode, body)
	}
	if !strings.Contains(string(body), w.mods["good"].GoSum()) {
		t.Errorf("lookup: got %q, want it to hold %q", body, w.mods["good"].GoSum())
	}
	if _, ok := w.store.Bytes("sumdb/" + dbName + "/lookup/example.com/good@v1.0.0"); !ok {
		t.Errorf("lookup: not kept in the store")
	}

	resp, body = w.get(t, prefix+"/latest")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("latest: got status %d, want 200", resp.StatusCode)
	}
	v, err := note.NewVerifier(w.db.Key)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(body, note.VerifierList(v))
	if err != nil {
		t.Fatalf("latest: got an unverifiable note: %v", err)
	}
	tree, err := tlog.ParseTree([]byte(n.Text))
	if err != nil || tree.N != 1 {
		t.Fatalf("latest: got tree %+v (%v), want size 1", tree, err)
	}

	tilePath := prefix + "/tile/8/0/000.p/1"
	resp, body = w.get(t, tilePath)
	if resp.StatusCode != http.StatusOK || len(body) != tlog.HashSize {
		t.Fatalf("tile: got status %d and %d bytes, want 200 and %d", resp.StatusCode, len(body), tlog.HashSize)
	}
	resp, body = w.get(t, prefix+"/tile/8/data/000.p/1")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "example.com/good") {
		t.Fatalf("data tile: got status %d, body %q", resp.StatusCode, body)
	}

	// Everything again: all from the store or memory.
	before := w.db.Requests()
	for _, p := range []string{prefix + "/lookup/example.com/good@v1.0.0", tilePath, prefix + "/tile/8/data/000.p/1", prefix + "/latest", prefix + "/supported"} {
		if resp, _ := w.get(t, p); resp.StatusCode != http.StatusOK {
			t.Errorf("%s again: got status %d, want 200", p, resp.StatusCode)
		}
	}
	if got := w.db.Requests() - before; got != 0 {
		t.Errorf("second round: got %d requests to the database, want 0", got)
	}
}

func TestServeDatabaseDown(t *testing.T) {
	w := newWorld(t, time.Nanosecond)
	prefix := "/sumdb/" + dbName
	paths := []string{
		prefix + "/lookup/example.com/good@v1.0.0",
		prefix + "/tile/8/0/000.p/1",
		prefix + "/latest",
	}
	for _, p := range paths {
		if resp, body := w.get(t, p); resp.StatusCode != http.StatusOK {
			t.Fatalf("warm-up %s: got status %d (%s), want 200", p, resp.StatusCode, body)
		}
	}
	w.db.SetDown(true)
	for _, p := range paths {
		resp, body := w.get(t, p)
		if resp.StatusCode != http.StatusOK || len(body) == 0 {
			t.Errorf("%s with the database down: got status %d (%s), want 200", p, resp.StatusCode, body)
		}
		wantStale := strings.HasSuffix(p, "/latest")
		if got := resp.Header.Get("X-Gomirror-Stale") == "true"; got != wantStale {
			t.Errorf("%s: got stale header %v, want %v", p, got, wantStale)
		}
	}
	// What was never fetched cannot be served.
	resp, _ := w.get(t, prefix+"/lookup/example.com/other@v1.2.3")
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("uncached lookup with the database down: got status %d, want 502", resp.StatusCode)
	}
	// The verifier still works from the store.
	zip, mod, err := w.sumdb.Lookup(t.Context(), "example.com/good", "v1.0.0")
	if err != nil || zip != w.mods["good"].ZipHash || mod != w.mods["good"].ModHash {
		t.Errorf("Lookup with the database down: got %q, %q, %v; want the module's hashes", zip, mod, err)
	}
}

func TestServeBadRequests(t *testing.T) {
	w := newWorld(t, time.Hour)
	tests := []struct {
		path string
		want int
	}{
		{"/sumdb/sum.golang.org/supported", http.StatusNotFound},
		{"/sumdb/other.example/latest", http.StatusNotFound},
		{"/sumdb/" + dbName, http.StatusNotFound},
		{"/sumdb/" + dbName + "/", http.StatusNotFound},
		{"/sumdb/" + dbName + "/whatever", http.StatusNotFound},
		{"/notsumdb", http.StatusNotFound},
		{"/sumdb/" + dbName + "/lookup/", http.StatusBadRequest},
		{"/sumdb/" + dbName + "/lookup/example.com/good", http.StatusBadRequest},
		{"/sumdb/" + dbName + "/lookup/example.com/good@v1", http.StatusBadRequest},
		{"/sumdb/" + dbName + "/lookup/example.com/good@v1.0.0@v1.0.0", http.StatusBadRequest},
		{"/sumdb/" + dbName + "/lookup/example.com/Good@v1.0.0", http.StatusBadRequest},
		{"/sumdb/" + dbName + "/lookup/example.com/../good@v1.0.0", http.StatusBadRequest},
		{"/sumdb/" + dbName + "/lookup/example.com/good/v2@v1.0.0", http.StatusBadRequest},
		{"/sumdb/" + dbName + "/tile/8/0/abc", http.StatusBadRequest},
		{"/sumdb/" + dbName + "/tile/8/0/0", http.StatusBadRequest},
		{"/sumdb/" + dbName + "/tile/8/0/000.p/0", http.StatusBadRequest},
		{"/sumdb/" + dbName + "/tile/99/0/000", http.StatusBadRequest},
		{"/sumdb/" + dbName + "/tile/", http.StatusBadRequest},
		{"/sumdb/" + dbName + "/lookup/example.com/nothere@v1.0.0", http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := w.get(t, tt.path)
			if resp.StatusCode != tt.want {
				t.Errorf("got status %d (%q), want %d", resp.StatusCode, body, tt.want)
			}
			if lines := strings.Count(strings.TrimSuffix(string(body), "\n"), "\n"); lines != 0 {
				t.Errorf("got a %d-line body %q, want one line", lines+1, body)
			}
		})
	}
	resp, err := sumdbtest.LocalClient(t).Post(w.url+"/sumdb/"+dbName+"/latest", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: got status %d, want 405", resp.StatusCode)
	}
}

func TestLookup(t *testing.T) {
	w := newWorld(t, time.Hour)
	good := w.mods["good"]

	zip, mod, err := w.sumdb.Lookup(t.Context(), good.Path, good.Version.Version)
	if err != nil {
		t.Fatal(err)
	}
	if zip != good.ZipHash || mod != good.ModHash {
		t.Fatalf("got %s %s, want %s %s", zip, mod, good.ZipHash, good.ModHash)
	}
	zipFile := filepath.Join(t.TempDir(), "good.zip")
	if err := os.WriteFile(zipFile, good.Zip, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := verify.Zip(good.Version, zipFile, zip); err != nil {
		t.Errorf("verify.Zip of the good module: %v", err)
	}
	if _, err := verify.Mod(good.Version, good.Mod, mod); err != nil {
		t.Errorf("verify.Mod of the good module: %v", err)
	}

	// Again: from the cache, no lookup sent.
	before := w.db.LookupRequests()
	if _, _, err := w.sumdb.Lookup(t.Context(), good.Path, good.Version.Version); err != nil {
		t.Fatal(err)
	}
	if got := w.db.LookupRequests() - before; got != 0 {
		t.Errorf("second Lookup: got %d lookups sent, want 0", got)
	}

	_, _, err = w.sumdb.Lookup(t.Context(), "example.com/nothere", "v1.0.0")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("unknown module: got error %v, want one matching fs.ErrNotExist", err)
	}
	if err != nil && !strings.Contains(err.Error(), "example.com/nothere@v1.0.0") {
		t.Errorf("unknown module: got error %q, want it to name the module", err)
	}

	_, _, err = w.sumdb.Lookup(t.Context(), "example.com/good", "v1.0")
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("non-canonical version: got error %v, want a plain error", err)
	}
}

func TestLookupMismatch(t *testing.T) {
	w := newWorld(t, time.Hour)
	real := sumdbtest.NewModule(t, "example.com/tampered", "v1.0.0", map[string]string{"a.go": "package a\n"})
	published := sumdbtest.NewModule(t, "example.com/tampered", "v1.0.0", map[string]string{"a.go": "package a // the published one\n", "go.mod": "module example.com/tampered\n\ngo 1.22\n"})
	w.db.Add(published)

	zip, mod, err := w.sumdb.Lookup(t.Context(), "example.com/tampered", "v1.0.0")
	if err != nil {
		t.Fatal(err)
	}
	zipFile := filepath.Join(t.TempDir(), "t.zip")
	if err := os.WriteFile(zipFile, real.Zip, 0o666); err != nil {
		t.Fatal(err)
	}
	var mm *verify.MismatchError
	if _, err := verify.Zip(real.Version, zipFile, zip); !errors.As(err, &mm) || mm.Want != published.ZipHash || mm.Got != real.ZipHash {
		t.Errorf("verify.Zip: got %v, want a mismatch between %s and %s", err, published.ZipHash, real.ZipHash)
	}
	if _, err := verify.Mod(real.Version, real.Mod, mod); !errors.As(err, &mm) || mm.Want != published.ModHash {
		t.Errorf("verify.Mod: got %v, want a mismatch with %s", err, published.ModHash)
	}
}

func TestLookupSkipsPrivate(t *testing.T) {
	w := newWorld(t, time.Hour)
	for _, path := range []string{"corp.example.com/secret", "corp.example.com/x/y", "nosum.example.com/a"} {
		zip, mod, err := w.sumdb.Lookup(t.Context(), path, "v1.0.0")
		if zip != "" || mod != "" || err != nil {
			t.Errorf("Lookup(%s): got %q, %q, %v; want nothing", path, zip, mod, err)
		}
	}
	if got := w.db.Requests(); got != 0 {
		t.Errorf("got %d requests to the database, want 0", got)
	}
}

func TestLookupOff(t *testing.T) {
	s, err := sumdb.New(sumdb.Config{GOSUMDB: "off"})
	if err != nil {
		t.Fatal(err)
	}
	if s.Name() != "" {
		t.Errorf("got name %q, want none", s.Name())
	}
	zip, mod, err := s.Lookup(t.Context(), "example.com/m", "v1.0.0")
	if zip != "" || mod != "" || err != nil {
		t.Errorf("got %q, %q, %v; want nothing", zip, mod, err)
	}
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/sumdb/sum.golang.org/supported", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("supported when off: got status %d, want 404", rec.Code)
	}
}

func TestLookupConcurrent(t *testing.T) {
	w := newWorld(t, time.Hour)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, _, errs[i] = w.sumdb.Lookup(t.Context(), "example.com/other", "v1.2.3")
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := w.db.LookupRequests(); got != 1 {
		t.Errorf("got %d lookups sent, want 1", got)
	}
}

func TestLookupCancelled(t *testing.T) {
	w := newWorld(t, time.Hour)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, _, err := w.sumdb.Lookup(ctx, "example.com/good", "v1.0.0")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got error %v, want context.Canceled", err)
	}
}

// TestDiscovery finds the database through a proxy's /sumdb/NAME/supported,
// after a proxy that does not proxy it, as the go command does.
func TestDiscovery(t *testing.T) {
	w := newWorld(t, time.Hour)
	plain := sumdbtest.NewProxy(t, nil)
	proxying := sumdbtest.NewProxy(t, w.sumdb)

	downstream, err := sumdb.New(sumdb.Config{
		GOSUMDB:  w.db.Key, // no URL: find it
		Proxies:  []string{plain.URL, proxying.URL, "direct"},
		Store:    memstore.New(),
		StateDir: t.TempDir(),
		Client:   sumdbtest.LocalClient(t), // https://sum.example.test would fail the test
	})
	if err != nil {
		t.Fatal(err)
	}
	good := w.mods["good"]
	for range 2 {
		zip, mod, err := downstream.Lookup(t.Context(), good.Path, good.Version.Version)
		if err != nil || zip != good.ZipHash || mod != good.ModHash {
			t.Fatalf("got %q, %q, %v; want the module's hashes", zip, mod, err)
		}
	}
	if got := plain.Requests(); got != 1 {
		t.Errorf("got %d requests to the proxy without the database, want 1 (discovery is kept)", got)
	}
	if got := proxying.Requests(); got < 2 {
		t.Errorf("got %d requests to the proxying proxy, want supported and lookups", got)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  sumdb.Config
	}{
		{"unknown name without key", sumdb.Config{GOSUMDB: "sum.example.test", Store: memstore.New(), StateDir: t.TempDir()}},
		{"too many fields", sumdb.Config{GOSUMDB: "sum.golang.org https://a https://b", Store: memstore.New(), StateDir: t.TempDir()}},
		{"bad url", sumdb.Config{GOSUMDB: "sum.golang.org ftp://x", Store: memstore.New(), StateDir: t.TempDir()}},
		{"no store", sumdb.Config{GOSUMDB: "sum.golang.org", StateDir: t.TempDir()}},
		{"no state dir", sumdb.Config{GOSUMDB: "sum.golang.org", Store: memstore.New()}},
		{"bad proxy", sumdb.Config{GOSUMDB: "sum.golang.org", Proxies: []string{"::"}, Store: memstore.New(), StateDir: t.TempDir()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := sumdb.New(tt.cfg); err == nil {
				t.Errorf("got no error, want one")
			}
		})
	}
	for _, gosumdb := range []string{"", "sum.golang.org", "sum.golang.google.cn"} {
		s, err := sumdb.New(sumdb.Config{GOSUMDB: gosumdb, Store: memstore.New(), StateDir: t.TempDir()})
		if err != nil || s.Name() != "sum.golang.org" {
			t.Errorf("GOSUMDB=%q: got %v, %v; want database sum.golang.org", gosumdb, s, err)
		}
	}
}

// TestProxyRefusesPrivateLookups checks that a lookup of a private module
// through the checksum database proxy, in any case, answers 404 and
// forwards nothing: its name never leaves the mirror.
func TestProxyRefusesPrivateLookups(t *testing.T) {
	w := newWorld(t, time.Hour)
	for _, path := range []string{"corp.example.com/secret@v1.0.0", "corp.example.com/!secret@v1.0.0", "example.com/corp/x@v1.0.0", "example.com/!corp/x@v1.0.0", "nosum.example.com/a@v1.0.0"} {
		resp, body := w.get(t, "/sumdb/"+dbName+"/lookup/"+path)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("lookup/%s: got %d %q, want 404", path, resp.StatusCode, body)
		}
	}
	if got := w.db.Requests(); got != 0 {
		t.Errorf("got %d requests to the database, want 0", got)
	}
	if resp, body := w.get(t, "/sumdb/"+dbName+"/lookup/example.com/good@v1.0.0"); resp.StatusCode != http.StatusOK {
		t.Errorf("lookup of a public module: got %d %q, want 200", resp.StatusCode, body)
	}
}
