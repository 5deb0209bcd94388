// Package golangtest serves a fake Go release upstream for tests: a small
// index in go.dev's JSON format at /dl/ and real, small archives at
// /go/<file>, each holding go/VERSION and a go/bin/go script that prints
// the version as the go command does.
package golangtest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gomirror/gomirror/internal/golang"
)

// Upstream is a fake release upstream. It is safe for concurrent use.
type Upstream struct {
	*httptest.Server

	mu        sync.Mutex
	releases  []golang.Release
	files     map[string][]byte // what the index promises
	served    map[string][]byte // what is sent
	counts    map[string]int
	down      bool
	indexDown bool
}

// NewUpstream starts an upstream with the releases go1.100rc1 (unstable),
// go1.99.1, go1.99.0, go1.98.2 and go1.98.1, newest first, each with
// linux-amd64, darwin-arm64 and windows-amd64 archives and a source
// archive. It is closed when the test ends.
func NewUpstream(t testing.TB) *Upstream {
	t.Helper()
	u := &Upstream{files: map[string][]byte{}, served: map[string][]byte{}, counts: map[string]int{}}
	for _, v := range []struct {
		version string
		stable  bool
	}{{"go1.100rc1", false}, {"go1.99.1", true}, {"go1.99.0", true}, {"go1.98.2", true}, {"go1.98.1", true}} {
		rel := golang.Release{Version: v.version, Stable: v.stable}
		for _, p := range []struct{ os, arch, ext, kind string }{
			{"linux", "amd64", "tar.gz", "archive"},
			{"darwin", "arm64", "tar.gz", "archive"},
			{"windows", "amd64", "zip", "archive"},
			{"", "", "tar.gz", "source"},
		} {
			name := v.version + "." + p.os + "-" + p.arch + "." + p.ext
			if p.kind == "source" {
				name = v.version + ".src.tar.gz"
			}
			data := Archive(t, v.version, p.os, p.arch, p.ext)
			sum := sha256.Sum256(data)
			rel.Files = append(rel.Files, golang.File{
				Filename: name, OS: p.os, Arch: p.arch, Version: v.version,
				SHA256: hex.EncodeToString(sum[:]), Size: int64(len(data)), Kind: p.kind,
			})
			u.files[name], u.served[name] = data, data
		}
		u.releases = append(u.releases, rel)
	}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u
}

func (u *Upstream) serve(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.counts[r.URL.Path]++
	if u.down {
		http.Error(w, "upstream down", http.StatusServiceUnavailable)
		return
	}
	switch name, isFile := strings.CutPrefix(r.URL.Path, "/go/"); {
	case r.URL.Path == "/dl/":
		if u.indexDown {
			http.Error(w, "index down", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(u.releases)
	case isFile && u.served[name] != nil:
		w.Write(u.served[name])
	default:
		http.NotFound(w, r)
	}
}

// Releases returns the index.
func (u *Upstream) Releases() []golang.Release {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.releases
}

// File returns the true content of a release file.
func (u *Upstream) File(name string) []byte {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.files[name]
}

// Tamper makes the upstream send data for name instead of what the index
// promises.
func (u *Upstream) Tamper(name string, data []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.served[name] = data
}

// SetDown makes every request fail with a 503, or not.
func (u *Upstream) SetDown(down bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.down = down
}

// SetIndexDown makes requests for the index fail, or not.
func (u *Upstream) SetIndexDown(down bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.indexDown = down
}

// Count returns how many requests reached path.
func (u *Upstream) Count(path string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.counts[path]
}

// Total returns how many requests reached the upstream.
func (u *Upstream) Total() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, c := range u.counts {
		n += c
	}
	return n
}

// Archive builds a small release archive for version, os and arch (empty
// for a source archive): a tar.gz or a zip holding go/VERSION and a
// go/bin/go shell script that prints "go version VERSION OS/ARCH".
func Archive(t testing.TB, version, goos, goarch, ext string) []byte {
	t.Helper()
	files := []struct {
		name string
		mode int64
		body string
	}{
		{"go/VERSION", 0o644, version + "\ntime 2026-01-01T00:00:00Z\n"},
		{"go/bin/go", 0o755, "#!/bin/sh\necho go version " + version + " " + goos + "/" + goarch + "\n"},
	}
	var buf bytes.Buffer
	if ext == "zip" {
		zw := zip.NewWriter(&buf)
		for _, f := range files {
			w, err := zw.Create(f.name)
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte(f.body))
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(f.body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
