// Package sumdbtest provides in-process fakes for tests of gomirror's
// verification: generated module versions, a checksum database and a module
// proxy, each behind httptest, and an HTTP client that refuses to dial
// anything but the loopback interface.
package sumdbtest

import (
	archivezip "archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/zip"
)

// Module is a generated module version: its three files and their hashes.
type Module struct {
	module.Version
	Info, Mod, Zip   []byte
	ZipHash, ModHash string
}

// NewModule generates the files of path@version, as BuildModule does,
// and fails the test when it cannot.
func NewModule(t testing.TB, path, version string, files map[string]string) *Module {
	t.Helper()
	m, err := BuildModule(path, version, files)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// BuildModule generates the files of path@version. files maps file names
// inside the module to their content; a go.mod declaring path is added
// unless files has one. An empty go.mod in files makes a module without
// one, as +incompatible versions are: its zip has no go.mod, and its .mod
// is the one line a proxy synthesizes.
func BuildModule(path, version string, files map[string]string) (*Module, error) {
	m := &Module{Version: module.Version{Path: path, Version: version}}
	all := map[string]string{"go.mod": "module " + path + "\n\ngo 1.21\n"}
	for name, content := range files {
		all[name] = content
	}
	m.Mod = []byte(all["go.mod"])
	if len(m.Mod) == 0 {
		delete(all, "go.mod")
		m.Mod = []byte("module " + path + "\n")
	}
	var zfiles []zip.File
	for name, content := range all {
		zfiles = append(zfiles, memFile{name: name, data: []byte(content)})
	}
	sort.Slice(zfiles, func(i, j int) bool { return zfiles[i].Path() < zfiles[j].Path() })
	var buf bytes.Buffer
	if err := zip.Create(&buf, m.Version, zfiles); err != nil {
		return nil, fmt.Errorf("creating zip of %s: %w", m.Version, err)
	}
	m.Zip = buf.Bytes()
	m.Info = fmt.Appendf(nil, `{"Version":%q,"Time":"2024-01-02T03:04:05Z"}`, version)
	var err error
	if m.ZipHash, err = HashZip(m.Zip); err != nil {
		return nil, fmt.Errorf("hashing zip of %s: %w", m.Version, err)
	}
	m.ModHash, err = dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(m.Mod)), nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// ZipHash returns the "h1:" hash of the module zip data, failing the test
// when data is not a zip.
func ZipHash(t testing.TB, data []byte) string {
	t.Helper()
	h, err := HashZip(data)
	if err != nil {
		t.Fatalf("hashing zip: %v", err)
	}
	return h
}

// HashZip returns the "h1:" hash of the module zip data, as
// dirhash.HashZip does for a zip file.
func HashZip(data []byte) (string, error) {
	zr, err := archivezip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", err
	}
	byName := make(map[string]*archivezip.File, len(zr.File))
	names := make([]string, 0, len(zr.File))
	for _, f := range zr.File {
		byName[f.Name] = f
		names = append(names, f.Name)
	}
	return dirhash.Hash1(names, func(name string) (io.ReadCloser, error) { return byName[name].Open() })
}

// GoSum returns the go.sum lines of m.
func (m *Module) GoSum() string {
	v := m.Version.Version
	return fmt.Sprintf("%s %s %s\n%s %s/go.mod %s\n", m.Path, v, m.ZipHash, m.Path, v, m.ModHash)
}

type memFile struct {
	name string
	data []byte
}

func (f memFile) Path() string                 { return f.name }
func (f memFile) Lstat() (os.FileInfo, error)  { return memInfo(f), nil }
func (f memFile) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(f.data)), nil }

type memInfo memFile

func (fi memInfo) Name() string       { return filepath.Base(fi.name) }
func (fi memInfo) Size() int64        { return int64(len(fi.data)) }
func (fi memInfo) Mode() os.FileMode  { return 0o644 }
func (fi memInfo) ModTime() time.Time { return time.Time{} }
func (fi memInfo) IsDir() bool        { return false }
func (fi memInfo) Sys() any           { return nil }

// DB is a fake checksum database: golang.org/x/mod/sumdb's TestServer
// behind httptest, signing with a key generated for the test. It knows the
// modules added to it and counts the requests it receives.
type DB struct {
	// Name is the database name, Key its verifier key ("NAME+hash+key").
	Name, Key string
	// URL is the base URL the database is served at.
	URL string

	requests  atomic.Int64
	lookups   atomic.Int64
	abandoned atomic.Int64
	down      atomic.Bool
	mu        sync.Mutex
	gosum     map[module.Version]string
	hold      chan struct{} // guarded by mu; while not nil, requests wait for it to close
	held      chan string   // guarded by mu; announces held requests
}

// NewDB starts a checksum database called name that knows mods. It is
// closed when the test ends.
func NewDB(t testing.TB, name string, mods ...*Module) *DB {
	t.Helper()
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	db := &DB{Name: name, Key: vkey, gosum: make(map[module.Version]string)}
	for _, m := range mods {
		db.Add(m)
	}
	srv := sumdb.NewServer(sumdb.NewTestServer(skey, db.lookup))
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		db.requests.Add(1)
		if strings.HasPrefix(r.URL.Path, "/lookup/") {
			db.lookups.Add(1)
		}
		if db.down.Load() {
			http.Error(w, "database down for the test", http.StatusServiceUnavailable)
			return
		}
		db.mu.Lock()
		hold, held := db.hold, db.held
		db.mu.Unlock()
		if hold != nil {
			select {
			case held <- r.URL.Path:
			default:
			}
			select {
			case <-hold:
			case <-r.Context().Done():
				db.abandoned.Add(1)
				return
			}
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	t.Cleanup(db.release) // Before ts.Close, which waits for held requests.
	db.URL = ts.URL
	return db
}

// Hold makes the database keep every request it receives waiting, without
// an answer, until release is called or the client gives up (counted by
// Abandoned). The path of each held request is sent on held, which has
// room for 64; requests beyond that are held without being announced.
// Held requests are released when the test ends.
func (db *DB) Hold() (held <-chan string, release func()) {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.hold == nil {
		db.hold, db.held = make(chan struct{}), make(chan string, 64)
	}
	return db.held, db.release
}

// release answers the held requests and stops holding new ones.
func (db *DB) release() {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.hold != nil {
		close(db.hold)
		db.hold, db.held = nil, nil
	}
}

// Abandoned returns how many held requests the client gave up on before
// they were released.
func (db *DB) Abandoned() int64 { return db.abandoned.Load() }

// Add makes the database know m with m's hashes.
func (db *DB) Add(m *Module) {
	db.AddLines(m.Version, m.GoSum())
}

// AddLines makes the database know mv with the given go.sum lines, which
// may disagree with the module's real files.
func (db *DB) AddLines(mv module.Version, gosum string) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.gosum[mv] = gosum
}

func (db *DB) lookup(path, vers string) ([]byte, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	lines, ok := db.gosum[module.Version{Path: path, Version: vers}]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return []byte(lines), nil
}

// Requests returns how many requests the database has received.
func (db *DB) Requests() int64 { return db.requests.Load() }

// LookupRequests returns how many /lookup/ requests the database has
// received.
func (db *DB) LookupRequests() int64 { return db.lookups.Load() }

// SetDown makes the database answer 503 to everything (down is true) or
// serve again.
func (db *DB) SetDown(down bool) { db.down.Store(down) }

// Proxy is a fake module proxy serving generated modules, and optionally a
// checksum database proxy under /sumdb/.
type Proxy struct {
	// URL is the proxy's base URL.
	URL string

	requests atomic.Int64
	mu       sync.Mutex
	files    map[string][]byte
}

// NewProxy starts a module proxy serving mods. When sumdbHandler is not
// nil, it gets every request under /sumdb/, with the full path. The proxy
// is closed when the test ends.
func NewProxy(t testing.TB, sumdbHandler http.Handler, mods ...*Module) *Proxy {
	t.Helper()
	p := &Proxy{files: make(map[string][]byte)}
	for _, m := range mods {
		p.Add(m)
	}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		if strings.HasPrefix(r.URL.Path, "/sumdb/") {
			if sumdbHandler == nil {
				http.NotFound(w, r)
				return
			}
			sumdbHandler.ServeHTTP(w, r)
			return
		}
		p.mu.Lock()
		data, ok := p.files[strings.TrimPrefix(r.URL.Path, "/")]
		p.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	t.Cleanup(ts.Close)
	p.URL = ts.URL
	return p
}

// Add serves m's files, replacing any served before for the same version.
func (p *Proxy) Add(m *Module) {
	esc, err := module.EscapePath(m.Path)
	if err != nil {
		panic(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	base := esc + "/@v/" + m.Version.Version
	p.files[base+".info"] = m.Info
	p.files[base+".mod"] = m.Mod
	p.files[base+".zip"] = m.Zip
	p.files[esc+"/@v/list"] = append(p.files[esc+"/@v/list"], m.Version.Version+"\n"...)
}

// Requests returns how many requests the proxy has received.
func (p *Proxy) Requests() int64 { return p.requests.Load() }

// LocalClient returns an HTTP client that can dial only loopback addresses:
// a test using it fails loudly instead of reaching the network.
func LocalClient(t testing.TB) *http.Client {
	dialer := &net.Dialer{Timeout: 10 * time.Second}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				t.Errorf("test dialed %s: only its own servers on loopback are allowed", addr)
				return nil, fmt.Errorf("dial %s: not a test server", addr)
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}
