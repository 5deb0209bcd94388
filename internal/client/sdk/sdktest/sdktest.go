// Package sdktest runs a fake Go mirror for tests of gomirror install: small
// generated Go releases as /golang/ archives with their .sha256 files and
// go.dev JSON index, golang.org/toolchain module versions through the
// GOPROXY protocol, and a checksum database proxied under /sumdb/.
package sdktest

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/module"

	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
)

// Tree returns the files of a small fake Go release v for goos/goarch,
// keyed by their path in the release: bin/go is a shell script that prints
// "go version v goos/goarch" as the real one does.
func Tree(v, goos, goarch string) map[string]string {
	return map[string]string{
		"VERSION":   v + "\ntime 2024-02-01T00:00:00Z\n",
		"bin/go":    fmt.Sprintf("#!/bin/sh\necho 'go version %s %s/%s'\n", v, goos, goarch),
		"bin/gofmt": "#!/bin/sh\nexit 0\n",
		"pkg/tool/" + goos + "_" + goarch + "/compile": "#!/bin/sh\nexit 0\n",
		"lib/wasm/go_js_wasm_exec":                     "#!/bin/sh\nexit 0\n",
		"lib/time/README":                              "time zone data\n",
		"src/go.mod":                                   "module std\n\ngo 1.22\n",
		"src/cmd/go.mod":                               "module cmd\n\ngo 1.22\n",
		"src/fmt/print.go":                             "package fmt\n",
	}
}

// executable reports whether a release file is executable in the archives.
func executable(name string) bool {
	return strings.HasPrefix(name, "bin/") || strings.HasPrefix(name, "pkg/tool/") || strings.HasSuffix(name, "_exec")
}

func sortedNames(tree map[string]string) []string {
	var names []string
	for name := range tree {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// TarGz returns tree as a release .tar.gz: every entry under go/, with
// directory entries and the execute bits of the real archives.
func TarGz(t testing.TB, tree map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	dirs := map[string]bool{}
	for _, name := range sortedNames(tree) {
		for d := path.Dir(name); d != "."; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	if err := tw.WriteHeader(&tar.Header{Name: "go/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
		t.Fatal(err)
	}
	for _, d := range sortedNames(boolKeys(dirs)) {
		if err := tw.WriteHeader(&tar.Header{Name: "go/" + d + "/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range sortedNames(tree) {
		mode := int64(0o644)
		if executable(name) {
			mode = 0o755
		}
		data := tree[name]
		if err := tw.WriteHeader(&tar.Header{Name: "go/" + name, Typeflag: tar.TypeReg, Mode: mode, Size: int64(len(data))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func boolKeys(m map[string]bool) map[string]string {
	out := make(map[string]string, len(m))
	for k := range m {
		out[k] = ""
	}
	return out
}

// Zip returns tree as a release .zip, every file under go/. withModes
// records Unix modes as Go's own zips do; without them the files have
// none, as in zips made on Windows.
func Zip(t testing.TB, tree map[string]string, withModes bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range sortedNames(tree) {
		h := &zip.FileHeader{Name: "go/" + name, Method: zip.Deflate}
		if withModes {
			h.SetMode(0o644)
			if executable(name) {
				h.SetMode(0o755)
			}
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(tree[name]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ToolchainModule returns the golang.org/toolchain module version of tree,
// as the Go release process makes it: no go.mod at its root, and the
// release's go.mod files renamed _go.mod.
func ToolchainModule(t testing.TB, v, goos, goarch string, tree map[string]string) *sumdbtest.Module {
	t.Helper()
	files := map[string]string{"go.mod": ""}
	for name, data := range tree {
		if path.Base(name) == "go.mod" {
			name = path.Join(path.Dir(name), "_go.mod")
		}
		files[name] = data
	}
	return sumdbtest.NewModule(t, "golang.org/toolchain", "v0.0.1-"+v+"."+goos+"-"+goarch, files)
}

// SHA256 returns the hex SHA-256 of data.
func SHA256(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// File is a file of a release in the index, in go.dev's format.
type File struct {
	Filename string `json:"filename"`
	OS       string `json:"os"`
	Arch     string `json:"arch"`
	Version  string `json:"version"`
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	Kind     string `json:"kind"`
}

type release struct {
	Version string `json:"version"`
	Stable  bool   `json:"stable"`
	Files   []File `json:"files"`
}

// Mirror is a fake Go mirror. Its methods are safe for concurrent use.
type Mirror struct {
	// URL is the mirror's base URL.
	URL string

	mu         sync.Mutex
	releases   []release
	files      map[string][]byte // by path without the leading slash
	noArchives int               // status of everything under /golang/, 0 to serve
	index      []byte            // the index to serve instead of the releases
	hang       map[string]chan struct{}
	counts     map[string]int
	sumdb      http.Handler
	sumdbName  string
}

// NewMirror starts an empty mirror, closed when the test ends.
func NewMirror(t testing.TB) *Mirror {
	t.Helper()
	m := &Mirror{files: map[string][]byte{}, hang: map[string]chan struct{}{}, counts: map[string]int{}}
	ts := httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(ts.Close)
	m.URL = ts.URL
	return m
}

// AddRelease serves release v as an archive for goos/goarch (a .zip when
// zipped, else a .tar.gz) under /golang/, with its .sha256, and lists it
// in the index. It returns the archive's file name.
func (m *Mirror) AddRelease(t testing.TB, v string, stable bool, goos, goarch string, zipped bool) string {
	t.Helper()
	tree := Tree(v, goos, goarch)
	name := v + "." + goos + "-" + goarch + ".tar.gz"
	var data []byte
	if zipped {
		name = strings.TrimSuffix(name, ".tar.gz") + ".zip"
		data = Zip(t, tree, true)
	} else {
		data = TarGz(t, tree)
	}
	m.AddFile(v, stable, File{Filename: name, OS: goos, Arch: goarch, Version: v, SHA256: SHA256(data), Size: int64(len(data)), Kind: "archive"}, data)
	return name
}

// AddFile serves data as /golang/<f.Filename>, with a .sha256 file
// holding f.SHA256, and lists f in the index under release v.
func (m *Mirror) AddFile(v string, stable bool, f File, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.files["golang/"+f.Filename] = data
	m.files["golang/"+f.Filename+".sha256"] = []byte(f.SHA256)
	for i := range m.releases {
		if m.releases[i].Version == v {
			m.releases[i].Files = append(m.releases[i].Files, f)
			return
		}
	}
	m.releases = append(m.releases, release{Version: v, Stable: stable, Files: []File{f}})
}

// Set serves data at name (a path without the leading slash), replacing
// what was there; nil data makes it a 404.
func (m *Mirror) Set(name string, data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if data == nil {
		delete(m.files, name)
		return
	}
	m.files[name] = data
}

// SetNoArchives makes everything under /golang/ answer status, as a mirror
// without release archives does (404, or 400 for proxy.golang.org); 0
// serves it again.
func (m *Mirror) SetNoArchives(status int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.noArchives = status
}

// SetIndex serves data as the /golang/ index instead of the JSON list of
// the releases added; nil serves the list again.
func (m *Mirror) SetIndex(data []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.index = data
}

// AddModule serves mod through the GOPROXY protocol.
func (m *Mirror) AddModule(mod *sumdbtest.Module) {
	esc, err := module.EscapePath(mod.Path)
	if err != nil {
		panic(err)
	}
	vers, err := module.EscapeVersion(mod.Version.Version)
	if err != nil {
		panic(err)
	}
	base := esc + "/@v/" + vers
	m.Set(base+".info", mod.Info)
	m.Set(base+".mod", mod.Mod)
	m.Set(base+".zip", mod.Zip)
}

// ProxySumDB serves db under /sumdb/<db.Name>/, as gomirror does.
func (m *Mirror) ProxySumDB(db *sumdbtest.DB) {
	u, err := url.Parse(db.URL)
	if err != nil {
		panic(err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sumdbName = db.Name
	prefix := "/sumdb/" + db.Name
	rp := httputil.NewSingleHostReverseProxy(u)
	m.sumdb = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest := strings.TrimPrefix(r.URL.Path, prefix)
		if rest == "/supported" {
			return
		}
		r2 := r.Clone(r.Context())
		r2.URL.Path, r2.URL.RawPath = rest, ""
		rp.ServeHTTP(w, r2)
	})
}

// Hang makes the next responses for name send half their bytes and then
// wait until the client goes away. The returned channel is closed when the
// first half has been sent.
func (m *Mirror) Hang(name string) <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	ch := make(chan struct{})
	m.hang[name] = ch
	return ch
}

// Count returns how many requests name (a path without the leading slash)
// has received.
func (m *Mirror) Count(name string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counts[name]
}

func (m *Mirror) serve(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/")
	m.mu.Lock()
	m.counts[name]++
	data, ok := m.files[name]
	hang := m.hang[name]
	noArchives, sumdb, sumdbName := m.noArchives, m.sumdb, m.sumdbName
	index, _ := json.Marshal(m.releases)
	if m.index != nil {
		index = m.index
	}
	m.mu.Unlock()

	switch {
	case strings.HasPrefix(name, "sumdb/"):
		if sumdb == nil || !strings.HasPrefix(name, "sumdb/"+sumdbName+"/") {
			http.NotFound(w, r)
			return
		}
		sumdb.ServeHTTP(w, r)
	case strings.HasPrefix(name, "golang/") && noArchives != 0:
		http.Error(w, "no release archives on this test mirror", noArchives)
	case name == "golang/" && r.URL.Query().Get("mode") == "json":
		w.Header().Set("Content-Type", "application/json")
		w.Write(index)
	case !ok:
		http.Error(w, "not found: "+name, http.StatusNotFound)
	case hang != nil:
		w.Header().Set("Content-Length", fmt.Sprint(len(data)))
		w.Write(data[:len(data)/2])
		w.(http.Flusher).Flush()
		m.mu.Lock()
		select {
		case <-hang:
		default:
			close(hang)
		}
		m.mu.Unlock()
		<-r.Context().Done()
	default:
		w.Write(data)
	}
}
