package goproxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/store/disk"
)

// benchPaths are request paths of each kind, as the go command sends them.
var benchPaths = []struct{ name, path string }{
	{"info", "/golang.org/x/text/@v/v0.3.0.info"},
	{"zip", "/github.com/!burnt!sushi/toml/@v/v1.2.0.zip"},
	{"pseudo", "/example.com/m/@v/v0.0.0-20240102030405-abcdefabcdef.mod"},
	{"list", "/golang.org/x/text/@v/list"},
	{"query", "/example.com/m/@v/master.info"},
}

func BenchmarkParseRequest(b *testing.B) {
	for _, p := range benchPaths {
		b.Run(p.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := parseRequest(p.path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkKind(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if Kind("/golang.org/x/text/@v/v0.3.0.zip") != "zip" {
			b.Fatal("wrong kind")
		}
	}
}

// newBenchHandler returns a Handler on a disk store holding name with
// size random bytes, and an upstream that fails every fetch.
func newBenchHandler(b *testing.B, name string, size int) *Handler {
	b.Helper()
	st, err := disk.New(b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	data := make([]byte, size)
	rand.Read(data)
	if err := st.Put(context.Background(), name, bytes.NewReader(data)); err != nil {
		b.Fatal(err)
	}
	cache, err := pull.New(pull.Config{Store: st, TempDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	h, err := New(Config{Cache: cache, Upstream: newFakeUpstream()})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// BenchmarkServeHit serves a stored file through the handler: parsing, the
// store lookup, headers and the body.
func BenchmarkServeHit(b *testing.B) {
	for _, tt := range []struct {
		name string
		file string
		size int
	}{
		{"info", "golang.org/x/text/@v/v0.3.0.info", 60},
		{"mod", "golang.org/x/text/@v/v0.3.0.mod", 400},
		{"zip-64KiB", "golang.org/x/text/@v/v0.3.0.zip", 64 << 10},
		{"zip-1MiB", "golang.org/x/text/@v/v0.3.0.zip", 1 << 20},
	} {
		b.Run(tt.name, func(b *testing.B) {
			h := newBenchHandler(b, tt.file, tt.size)
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

// BenchmarkServeNotModified answers a conditional request for a stored
// file, as a go command with the file cached would not, but HTTP caches do.
func BenchmarkServeNotModified(b *testing.B) {
	const file = "golang.org/x/text/@v/v0.3.0.mod"
	h := newBenchHandler(b, file, 400)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequestWithContext(b.Context(), http.MethodGet, "/"+file, nil))
	req := httptest.NewRequestWithContext(b.Context(), http.MethodGet, "/"+file, nil)
	req.Header.Set("If-None-Match", w.Header().Get("ETag"))
	b.ReportAllocs()
	for b.Loop() {
		w := &discardWriter{header: http.Header{}}
		h.ServeHTTP(w, req)
		if w.code != http.StatusNotModified {
			b.Fatalf("got status %d, want 304", w.code)
		}
	}
}

// discardWriter is a ResponseWriter that counts and drops the body, so
// that the benchmark measures the handler rather than a recorder's buffer.
type discardWriter struct {
	header http.Header
	code   int
	n      int64
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	w.n += int64(len(p))
	return len(p), nil
}

// ReadFrom drops what src yields without a buffer of its own, as a
// server's connection sends a file with sendfile.
func (w *discardWriter) ReadFrom(src io.Reader) (int64, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := io.Copy(io.Discard, src)
	w.n += n
	return n, err
}
