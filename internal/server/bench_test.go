package server

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/store/disk"
)

// newBenchServer returns a Server whose store holds name with size random
// bytes, with no upstream and no checksum database: every request is a hit
// or a refusal. It logs requests at info level in text, as gomirror serve
// does by default, into io.Discard.
func newBenchServer(b *testing.B, name string, size int) *Server {
	b.Helper()
	cfg := config.Default(func(string) string { return "" })
	cfg.Data = b.TempDir()
	cfg.Upstream = "off"
	cfg.SumDB = "off"
	st, err := disk.New(cfg.Data, nil)
	if err != nil {
		b.Fatal(err)
	}
	data := make([]byte, size)
	rand.Read(data)
	err = st.Put(context.Background(), name, bytes.NewReader(data))
	st.Close()
	if err != nil {
		b.Fatal(err)
	}
	// As gomirror serve's logger, it takes the access log's lines
	// preformatted.
	log := slog.New(textLines{slog.NewTextHandler(io.Discard, nil), io.Discard})
	s, err := New(b.Context(), cfg, log, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkServerHit serves a stored file through the whole handler:
// middleware (access log, metrics), routing and the GOPROXY handler.
func BenchmarkServerHit(b *testing.B) {
	for _, tt := range []struct {
		name, file string
		size       int
	}{
		{"info", "golang.org/x/text/@v/v0.3.0.info", 60},
		{"zip-64KiB", "golang.org/x/text/@v/v0.3.0.zip", 64 << 10},
	} {
		b.Run(tt.name, func(b *testing.B) {
			s := newBenchServer(b, tt.file, tt.size)
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

// BenchmarkServerHitHTTP serves a stored file over a loopback connection,
// so that the body goes out as it does in production (sendfile for files
// of the disk store), with one keep-alive connection per parallel client.
func BenchmarkServerHitHTTP(b *testing.B) {
	for _, tt := range []struct {
		name, file string
		size       int
	}{
		{"info", "golang.org/x/text/@v/v0.3.0.info", 60},
		{"zip-1MiB", "golang.org/x/text/@v/v0.3.0.zip", 1 << 20},
	} {
		b.Run(tt.name, func(b *testing.B) {
			s := newBenchServer(b, tt.file, tt.size)
			ts := httptest.NewServer(s.Handler())
			b.Cleanup(ts.Close)
			tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
			b.Cleanup(tr.CloseIdleConnections)
			client := &http.Client{Transport: tr}
			url := ts.URL + "/" + tt.file
			b.SetBytes(int64(tt.size))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Get(url)
					if err != nil {
						b.Error(err)
						return
					}
					n, _ := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || n != int64(tt.size) {
						b.Errorf("got status %d and %d bytes, want 200 and %d", resp.StatusCode, n, tt.size)
						return
					}
				}
			})
		})
	}
}

// discardWriter is a ResponseWriter that counts and drops the body.
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
