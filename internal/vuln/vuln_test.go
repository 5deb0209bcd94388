package vuln_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/store/disk"
	"github.com/gomirror/gomirror/internal/vuln"
	"github.com/gomirror/gomirror/internal/vulndb"
	"github.com/gomirror/gomirror/internal/vulndb/vulndbtest"
)

func newCache(t *testing.T) *pull.Cache {
	t.Helper()
	st, err := disk.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c, err := pull.New(pull.Config{Store: st, TempDir: t.TempDir(), StaleGrace: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Shutdown(t.Context()) })
	return c
}

// dbServer serves a database's files as vuln.go.dev does, and can go down.
type dbServer struct {
	mu   sync.Mutex
	db   *vulndb.DB
	down bool
	n    int
}

func (s *dbServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	if s.down {
		http.Error(w, "down", http.StatusBadGateway)
		return
	}
	data, ok := s.db.File(strings.TrimPrefix(r.URL.Path, "/"))
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Write(data)
}

func get(t *testing.T, h http.Handler, path string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
	r.URL.Path = path
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func gunzip(t *testing.T, data []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not gzip: %v", err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPullThrough(t *testing.T) {
	db := vulndbtest.SampleDB(t)
	up := &dbServer{db: db}
	srv := httptest.NewServer(up)
	defer srv.Close()
	h, err := vuln.New(vuln.Config{Cache: newCache(t), Upstream: srv.URL, HTTP: &pull.HTTPUpstream{Client: srv.Client()}, TTL: time.Nanosecond, Load: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"index/db.json", "index/modules.json", "index/vulns.json", "ID/GO-2021-0113.json"} {
		want, _ := db.File(name)
		w := get(t, h, "/vuln/"+name)
		if w.Code != 200 || !bytes.Equal(w.Body.Bytes(), want) || w.Header().Get("Content-Type") != "application/json" {
			t.Errorf("%s: got %d %q, want the upstream's JSON", name, w.Code, w.Header().Get("Content-Type"))
		}
		wz := get(t, h, "/vuln/"+name+".gz")
		if wz.Code != 200 || wz.Header().Get("Content-Encoding") != "" || !bytes.Equal(gunzip(t, wz.Body.Bytes()), want) {
			t.Errorf("%s.gz: got %d, Content-Encoding %q", name, wz.Code, wz.Header().Get("Content-Encoding"))
		}
	}
	// The policy's view of the database loads through the cache.
	if err := h.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if f := h.DB().Affected("golang.org/x/text", "v0.3.5"); len(f) == 0 || !hasID(f, "GO-2021-0113") {
		t.Errorf("affected findings for x/text v0.3.5: got %v, want GO-2021-0113", f)
	}
	// With the upstream down, the index is served stale.
	up.mu.Lock()
	up.down = true
	up.mu.Unlock()
	w := get(t, h, "/vuln/index/db.json")
	if w.Code != 200 || w.Header().Get(pull.StaleHeader) != "true" {
		t.Errorf("index with the upstream down: got %d, stale %q", w.Code, w.Header().Get(pull.StaleHeader))
	}
}

func hasID(fs []vulndb.Finding, id string) bool {
	for _, f := range fs {
		if f.ID == id {
			return true
		}
	}
	return false
}

func TestBadNames(t *testing.T) {
	h, err := vuln.New(vuln.Config{Cache: newCache(t), Upstream: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/vuln/../etc/passwd", "/vuln/ID/../../x.json", "/vuln/ID/GO-2021-0113", "/vuln/ID/GO-21-1.json",
		"/vuln/index/other.json", "/vuln/", "/vuln/ID/%2e%2e.json", "/vuln/" + strings.Repeat("a", 4000)} {
		w := get(t, h, p)
		if w.Code != http.StatusBadRequest || strings.Count(strings.TrimSpace(w.Body.String()), "\n") != 0 {
			t.Errorf("%.60s: got %d %q, want 400 with one line", p, w.Code, w.Body)
		}
	}
}

// moduleProxy serves golang.org/x/vulndb versions as gomirror's GOPROXY
// handler would.
type moduleProxy struct {
	mu       sync.Mutex
	versions map[string][]byte // version → zip
	latest   string
	noLatest bool
}

func (p *moduleProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	base := "/" + vuln.ModulePath + "/"
	rest := strings.TrimPrefix(r.URL.Path, base)
	info := func(v string) string { return fmt.Sprintf(`{"Version":%q,"Time":"2024-01-02T03:04:05Z"}`, v) }
	switch {
	case rest == "@latest" && !p.noLatest:
		io.WriteString(w, info(p.latest))
	case rest == "@v/list":
		for v := range p.versions {
			io.WriteString(w, v+"\n")
		}
	case strings.HasSuffix(rest, ".info") && p.versions[strings.TrimSuffix(strings.TrimPrefix(rest, "@v/"), ".info")] != nil:
		io.WriteString(w, info(strings.TrimSuffix(strings.TrimPrefix(rest, "@v/"), ".info")))
	case strings.HasSuffix(rest, ".zip") && p.versions[strings.TrimSuffix(strings.TrimPrefix(rest, "@v/"), ".zip")] != nil:
		w.Write(p.versions[strings.TrimSuffix(strings.TrimPrefix(rest, "@v/"), ".zip")])
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

func TestBuiltFromTheModule(t *testing.T) {
	v1 := vulndbtest.SampleVersion
	proxy := &moduleProxy{versions: map[string][]byte{v1: vulndbtest.SampleZip(t)}, latest: v1}
	h, err := vuln.New(vuln.Config{Cache: newCache(t), Source: vuln.SourceModule, Modules: proxy})
	if err != nil {
		t.Fatal(err)
	}
	if w := get(t, h, "/vuln/index/db.json"); w.Code != http.StatusBadGateway {
		t.Errorf("before the first build: got %d %q, want 502", w.Code, w.Body)
	}
	if err := h.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	st := h.Status()
	if !st.Ready || st.Version != v1 || st.LastError != "" || st.Entries == 0 {
		t.Fatalf("status after the build: %+v", st)
	}
	w := get(t, h, "/vuln/index/db.json")
	var meta struct{ Modified time.Time }
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &meta) != nil || !meta.Modified.Equal(vulndbtest.SampleTime()) {
		t.Errorf("index/db.json: got %d %s; want modified at the module version's time %v", w.Code, w.Body, vulndbtest.SampleTime())
	}
	if w := get(t, h, "/vuln/ID/GO-2021-0113.json.gz"); w.Code != 200 || !bytes.Contains(gunzip(t, w.Body.Bytes()), []byte("GO-2021-0113")) {
		t.Errorf("ID/GO-2021-0113.json.gz: got %d", w.Code)
	}
	if w := get(t, h, "/vuln/ID/GO-1999-0001.json"); w.Code != http.StatusNotFound {
		t.Errorf("an unknown entry: got %d, want 404", w.Code)
	}

	// A newer version that cannot be built leaves the last good database
	// in service, and says why.
	v2 := "v0.0.0-20250102030405-abcdefabcdef"
	proxy.mu.Lock()
	proxy.versions[v2] = vulndbtest.ModuleZip(t, v2, map[string][]byte{"data/osv/GO-2025-0001.json": []byte("{not json")})
	proxy.latest = v2
	proxy.mu.Unlock()
	if err := h.Refresh(t.Context()); err == nil {
		t.Fatal("a broken version built without error")
	}
	st = h.Status()
	if st.Version != v1 || st.LastError == "" || !st.Ready {
		t.Errorf("status after a failed rebuild: %+v; want the last good %s and the error", st, v1)
	}
	if w := get(t, h, "/vuln/index/db.json"); w.Code != 200 {
		t.Errorf("after a failed rebuild: got %d, want the last good index", w.Code)
	}

	// Where @latest is refused, the highest listed version is built.
	proxy.mu.Lock()
	delete(proxy.versions, v2)
	proxy.noLatest = true
	proxy.mu.Unlock()
	if err := h.Refresh(t.Context()); err != nil || h.Status().LastError != "" {
		t.Errorf("with @latest refused: %v, %+v", err, h.Status())
	}
}
