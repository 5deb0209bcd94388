package upstream

import (
	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/mod/module"
)

// testModule is one generated module version.
type testModule struct {
	path, version string
	info, mod     []byte
	zip           []byte
}

// newTestModule generates path@version with a go.mod and one Go file.
func newTestModule(t *testing.T, path, version string) testModule {
	t.Helper()
	m := sumdbtest.NewModule(t, path, version, map[string]string{
		"lib.go": "package lib\n\n// Version is the version.\nconst Version = \"" + version + "\"\n",
	})
	return testModule{path: path, version: version, info: m.Info, mod: m.Mod, zip: m.Zip}
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
