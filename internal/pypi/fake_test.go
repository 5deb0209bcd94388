package pypi

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gomirror/gomirror/internal/metrics"
	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/pull/pulltest"
	"github.com/gomirror/gomirror/internal/store/disk"
)

// fakeFile is one file a fake index serves.
type fakeFile struct {
	name     string
	data     []byte // what the page's hash is of
	served   []byte // what the file URL serves, when not data (a tampered file)
	metadata []byte // the PEP 658 metadata file, nil for none
	mdServed []byte // what the .metadata URL serves, when not metadata
	yanked   *string
	requires string
	noSize   bool
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fakeIndex is an upstream simple index in the test process: JSON and
// HTML, or HTML only.
type fakeIndex struct {
	htmlOnly bool
	srv      *httptest.Server

	mu       sync.Mutex
	projects map[string][]fakeFile
	hits     map[string]int
	pageSize int // pad pages to this many bytes
	down     atomic.Bool
	etags    atomic.Bool // send ETags and answer If-None-Match
	// gate, when not nil, holds file downloads after gateAfter bytes
	// until it is closed.
	gate      chan struct{}
	gateAfter int
}

func newFakeIndex(t *testing.T, htmlOnly bool) *fakeIndex {
	t.Helper()
	f := &fakeIndex{htmlOnly: htmlOnly, projects: map[string][]fakeFile{}, hits: map[string]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIndex) url() string { return f.srv.URL + "/simple/" }

func (f *fakeIndex) add(project string, files ...fakeFile) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.projects[Normalize(project)] = append(f.projects[Normalize(project)], files...)
}

func (f *fakeIndex) hitCount(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

func (f *fakeIndex) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.hits[r.URL.Path]++
	f.mu.Unlock()
	if f.down.Load() {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/files/"); ok {
		f.serveFile(w, rest)
		return
	}
	if r.URL.Path == "/simple/" {
		f.serveIndex(w, r)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, "/simple/")
	name, slash := strings.CutSuffix(name, "/")
	if !ok || !slash || strings.Contains(name, "/") {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	files, ok := f.projects[name]
	f.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	var page []byte
	if !f.htmlOnly && strings.Contains(r.Header.Get("Accept"), ContentTypeJSON) {
		w.Header().Set("Content-Type", ContentTypeJSON)
		page = f.jsonPage(name, files)
	} else {
		w.Header().Set("Content-Type", "text/html")
		page = f.htmlPage(name, files)
	}
	if f.pageSize > len(page) {
		if f.htmlOnly {
			page = append(page, bytes.Repeat([]byte(" "), f.pageSize-len(page))...)
		}
	}
	if f.etags.Load() {
		etag := `"` + sum(page)[:16] + `"`
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			f.mu.Lock()
			f.hits["304 "+r.URL.Path]++
			f.mu.Unlock()
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Write(page)
}

func (f *fakeIndex) serveIndex(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w.Header().Set("Content-Type", "text/html")
	fmt.Fprint(w, "<html><body>")
	for n := range f.projects {
		fmt.Fprintf(w, `<a href="%s/">%s</a>`, n, n)
	}
	fmt.Fprint(w, "</body></html>")
}

func (f *fakeIndex) serveFile(w http.ResponseWriter, name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, files := range f.projects {
		for _, ff := range files {
			switch name {
			case ff.name:
				body := ff.data
				if ff.served != nil {
					body = ff.served
				}
				w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				if f.gate != nil && len(body) > f.gateAfter {
					// A slow upstream: part of the file, then a wait.
					w.Write(body[:f.gateAfter])
					w.(http.Flusher).Flush()
					f.mu.Unlock()
					<-f.gate
					f.mu.Lock()
					body = body[f.gateAfter:]
				}
				w.Write(body)
				return
			case ff.name + ".metadata":
				if ff.metadata != nil {
					body := ff.metadata
					if ff.mdServed != nil {
						body = ff.mdServed
					}
					w.Write(body)
					return
				}
			}
		}
	}
	http.Error(w, "no such file", http.StatusNotFound)
}

func (f *fakeIndex) jsonPage(name string, files []fakeFile) []byte {
	type jf struct {
		Filename     string            `json:"filename"`
		URL          string            `json:"url"`
		Hashes       map[string]string `json:"hashes"`
		Requires     *string           `json:"requires-python"`
		Yanked       any               `json:"yanked"`
		CoreMetadata any               `json:"core-metadata,omitempty"`
		Size         *int              `json:"size,omitempty"`
		UploadTime   string            `json:"upload-time"`
		Provenance   *string           `json:"provenance"`
	}
	out := struct {
		Meta     map[string]string `json:"meta"`
		Name     string            `json:"name"`
		Versions []string          `json:"versions"`
		Files    []jf              `json:"files"`
	}{Meta: map[string]string{"api-version": "1.1"}, Name: name, Versions: []string{}}
	for _, ff := range files {
		j := jf{Filename: ff.name, URL: "../../files/" + ff.name, Hashes: map[string]string{"sha256": sum(ff.data)},
			Yanked: false, UploadTime: "2024-05-01T10:00:00.123456Z"}
		if ff.requires != "" {
			j.Requires = &ff.requires
		}
		if ff.yanked != nil {
			j.Yanked = *ff.yanked
			if *ff.yanked == "" {
				j.Yanked = true
			}
		}
		if ff.metadata != nil {
			j.CoreMetadata = map[string]string{"sha256": sum(ff.metadata)}
		}
		if !ff.noSize {
			n := len(ff.data)
			j.Size = &n
		}
		prov := f.srv.URL + "/integrity/" + ff.name + "/provenance"
		j.Provenance = &prov
		out.Files = append(out.Files, j)
		if v, ok := versionOf(name, ff.name); ok && !strings.Contains(strings.Join(out.Versions, " "), v) {
			out.Versions = append(out.Versions, v)
		}
	}
	data, _ := json.Marshal(out)
	return data
}

func (f *fakeIndex) htmlPage(name string, files []fakeFile) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "<!DOCTYPE html><html><head><meta name=\"pypi:repository-version\" content=\"1.0\"><title>Links for %s</title></head><body>\n", name)
	for _, ff := range files {
		fmt.Fprintf(&b, `<a href="/files/%s#sha256=%s"`, ff.name, sum(ff.data))
		if ff.requires != "" {
			fmt.Fprintf(&b, ` data-requires-python="%s"`, html.EscapeString(ff.requires))
		}
		if ff.yanked != nil {
			fmt.Fprintf(&b, ` data-yanked="%s"`, html.EscapeString(*ff.yanked))
		}
		if ff.metadata != nil {
			// The older attribute only, as pip 22 era indexes wrote it.
			fmt.Fprintf(&b, ` data-dist-info-metadata="sha256=%s"`, sum(ff.metadata))
		}
		fmt.Fprintf(&b, ">%s</a><br/>\n", ff.name)
	}
	b.WriteString("</body></html>\n")
	return b.Bytes()
}

// buildWheel makes a pure-Python wheel of name==version that requires
// requires, and its METADATA.
func buildWheel(t testing.TB, name, version string, requires ...string) fakeFile {
	t.Helper()
	mod := strings.ReplaceAll(Normalize(name), "-", "_")
	dist := mod + "-" + version + ".dist-info"
	var md strings.Builder
	fmt.Fprintf(&md, "Metadata-Version: 2.1\nName: %s\nVersion: %s\n", name, version)
	for _, r := range requires {
		fmt.Fprintf(&md, "Requires-Dist: %s\n", r)
	}
	metadata := []byte(md.String())
	files := []struct{ name, body string }{
		{mod + "/__init__.py", fmt.Sprintf("VERSION = %q\n", version)},
		{dist + "/METADATA", md.String()},
		{dist + "/WHEEL", "Wheel-Version: 1.0\nGenerator: gomirror-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
	}
	var record strings.Builder
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, f.body)
		s := sha256.Sum256([]byte(f.body))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", f.name, base64.RawURLEncoding.EncodeToString(s[:]), len(f.body))
	}
	fmt.Fprintf(&record, "%s/RECORD,,\n", dist)
	w, err := zw.Create(dist + "/RECORD")
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, record.String())
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return fakeFile{name: fmt.Sprintf("%s-%s-py3-none-any.whl", mod, version), data: buf.Bytes(), metadata: metadata}
}

// mirror is a Handler over a pull.Cache on a disk store, behind an
// httptest server.
type mirror struct {
	h     *Handler
	store *disk.Store
	srv   *httptest.Server
	logs  *pulltest.Buffer
	m     *metrics.Metrics
}

func newMirror(t *testing.T, cfg Config, indexes ...*fakeIndex) *mirror {
	t.Helper()
	dir := t.TempDir()
	st, err := disk.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logs := &pulltest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	met := metrics.New(prometheus.NewRegistry())
	cache, err := pull.New(pull.Config{Store: st, TempDir: filepath.Join(dir, disk.TempDir), Logger: log, Metrics: met, StaleGrace: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Cache = cache
	cfg.Logger = log
	for _, ix := range indexes {
		cfg.Indexes = append(cfg.Indexes, ix.url())
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cache.Shutdown(ctx)
	})
	return &mirror{h: h, store: st, srv: srv, logs: logs, m: met}
}

// get requests path from the mirror with the given Accept header (none
// when ""), without following redirects.
func (m *mirror) get(t *testing.T, path, accept string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, m.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
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

// pipAccept is the Accept header pip sends for project pages.
const pipAccept = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
