package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// loopbackClient returns an HTTP client that fails the test when it dials
// anything but the loopback interface.
func loopbackClient(t *testing.T) *http.Client {
	t.Helper()
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				t.Errorf("test dialed %s; only its own servers on loopback are allowed", addr)
				return nil, fmt.Errorf("dial %s refused by test guard", addr)
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// memFile is an in-memory file for zip.Create.
type memFile struct {
	path string
	data []byte
}

func (f memFile) Path() string                 { return f.path }
func (f memFile) Lstat() (fs.FileInfo, error)  { return memInfo(f), nil }
func (f memFile) Open() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(f.data)), nil }

type memInfo memFile

func (i memInfo) Name() string       { return i.path[strings.LastIndex(i.path, "/")+1:] }
func (i memInfo) Size() int64        { return int64(len(i.data)) }
func (i memInfo) Mode() fs.FileMode  { return 0o644 }
func (i memInfo) ModTime() time.Time { return time.Time{} }
func (i memInfo) IsDir() bool        { return false }
func (i memInfo) Sys() any           { return nil }

// testModule is one generated module version.
type testModule struct {
	path, version string
	info, mod     []byte
	zip           []byte
}

// newTestModule generates path@version with a go.mod and one Go file.
func newTestModule(t *testing.T, path, version string) testModule {
	t.Helper()
	mod := []byte("module " + path + "\n\ngo 1.21\n")
	files := []modzip.File{
		memFile{"go.mod", mod},
		memFile{"lib.go", []byte("package lib\n\n// Version is the version.\nconst Version = \"" + version + "\"\n")},
	}
	var z bytes.Buffer
	if err := modzip.Create(&z, module.Version{Path: path, Version: version}, files); err != nil {
		t.Fatalf("zip.Create(%s@%s): %v", path, version, err)
	}
	info, err := json.Marshal(map[string]any{"Version": version, "Time": time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return testModule{path: path, version: version, info: info, mod: mod, zip: z.Bytes()}
}

// fakeProxy is a GOPROXY serving generated modules. It counts requests by
// escaped path. Its fail hook, when set, may answer a request instead.
type fakeProxy struct {
	*httptest.Server
	mu    sync.Mutex
	files map[string][]byte // by name (escaped, without leading slash)
	hits  map[string]int    // by request URI
	total int
	fail  func(w http.ResponseWriter, r *http.Request, n int) bool // n: 1-based request number
}

// newFakeProxy starts a fake proxy serving mods.
func newFakeProxy(t *testing.T, mods ...testModule) *fakeProxy {
	t.Helper()
	p := &fakeProxy{files: map[string][]byte{}, hits: map[string]int{}}
	lists := map[string][]string{}
	for _, m := range mods {
		ep, err := module.EscapePath(m.path)
		if err != nil {
			t.Fatal(err)
		}
		ev, err := module.EscapeVersion(m.version)
		if err != nil {
			t.Fatal(err)
		}
		p.files[ep+"/@v/"+ev+".info"] = m.info
		p.files[ep+"/@v/"+ev+".mod"] = m.mod
		p.files[ep+"/@v/"+ev+".zip"] = m.zip
		p.files[ep+"/@latest"] = m.info
		lists[ep] = append(lists[ep], m.version)
	}
	for ep, vs := range lists {
		p.files[ep+"/@v/list"] = []byte(strings.Join(vs, "\n") + "\n")
	}
	p.Server = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.Close)
	return p
}

func (p *fakeProxy) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.hits[r.RequestURI]++
	p.total++
	n, fail := p.total, p.fail
	p.mu.Unlock()
	if fail != nil && fail(w, r, n) {
		return
	}
	data, ok := p.files[strings.TrimPrefix(r.URL.Path, "/")]
	if !ok {
		http.Error(w, "not found: "+strings.TrimPrefix(r.URL.Path, "/"), http.StatusNotFound)
		return
	}
	w.Write(data)
}

// setFail sets the fail hook.
func (p *fakeProxy) setFail(fail func(w http.ResponseWriter, r *http.Request, n int) bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = fail
}

// requests returns how many requests the proxy received.
func (p *fakeProxy) requests() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.total
}

// statusServer answers every request with code and a text/plain body,
// counting requests in hits.
func statusServer(t *testing.T, code int, body string, hits *atomic.Int64) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		io.WriteString(w, body)
	}))
	t.Cleanup(s.Close)
	return s
}

// readAll reads and closes a fetched body.
func readAll(t *testing.T, rc io.ReadCloser) []byte {
	t.Helper()
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading body: %v", err)
	}
	return b
}
