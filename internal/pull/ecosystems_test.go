package pull_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/mod/module"

	"github.com/gomirror/gomirror/internal/golang"
	"github.com/gomirror/gomirror/internal/golang/golangtest"
	"github.com/gomirror/gomirror/internal/goproxy"
	"github.com/gomirror/gomirror/internal/metrics"
	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/store"
	"github.com/gomirror/gomirror/internal/store/disk"
	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
	"github.com/gomirror/gomirror/internal/upstream"
)

// The core's promises are kept for every ecosystem on it: each entry of
// the table below builds one ecosystem's handler over a fake upstream,
// reached through a gate that counts, holds, cuts and fails requests, and
// names one immutable file and one metadata document that it serves.
//
// Every test named TestEveryEcosystem... runs for every row: coalesced
// misses, fills that outlive their client, stale metadata, cut downloads,
// the upstream faults (no headers, a stalled body, refused connections,
// 5xx), a late request after the upstream recovered, a client that hangs
// up, and replicas on one bucket and one Redis. A mirror joins the table
// with a file of its own, ecosystems_NAME_test.go, whose init function
// appends its row. Its setup must:
//
//   - send every upstream request with the client it is given, and the
//     bounds of upstreamFor(client) (the fault tests make them short);
//   - set served.replica when its handler keeps anything of its origin (a
//     key, a digest) that a second call of setup would make anew; and
//     served.fileName, the file's store name, when it has a fixed one.

// gate stands between an ecosystem and its fake origin.
type gate struct {
	origin http.Handler

	mu     sync.Mutex
	counts map[string]int
	hold   chan struct{} // when set, requests wait for it
	held   chan string   // when set, receives each held path
	down   bool
	cut    bool // send half the body, then drop the connection
	// hang accepts requests and never answers them.
	hang bool
	// stall sends the headers and half the body, then nothing more.
	stall bool
	// refuse makes every new connection to the upstream fail as a
	// closed port does; see rigTransport.
	refuse bool
	// closed ends every hung and stalled request when the test ends.
	closed chan struct{}
}

// healthy clears every fault.
func healthy(g *gate) {
	g.hold, g.held, g.down, g.cut, g.hang, g.stall, g.refuse = nil, nil, false, false, false, false, false
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.counts[r.URL.Path]++
	hold, held, down, cut, hang, stall := g.hold, g.held, g.down, g.cut, g.hang, g.stall
	g.mu.Unlock()
	if hang {
		if held != nil {
			held <- r.URL.Path
		}
		select {
		case <-r.Context().Done():
		case <-g.closed:
		}
		return
	}
	if hold != nil {
		if held != nil {
			held <- r.URL.Path
		}
		select {
		case <-hold:
		case <-r.Context().Done():
			return
		}
	}
	if down {
		http.Error(w, "upstream down", http.StatusServiceUnavailable)
		return
	}
	if stall {
		rec := httptest.NewRecorder()
		g.origin.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(rec.Code)
		w.Write(body[:len(body)/2])
		http.NewResponseController(w).Flush()
		select {
		case <-r.Context().Done():
		case <-g.closed:
		}
		return
	}
	if cut {
		rec := httptest.NewRecorder()
		g.origin.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(rec.Code)
		w.Write(body[:len(body)/2])
		panic(http.ErrAbortHandler)
	}
	g.origin.ServeHTTP(w, r)
}

func (g *gate) count(substr string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for p, c := range g.counts {
		if strings.Contains(p, substr) {
			n += c
		}
	}
	return n
}

func (g *gate) set(f func(g *gate)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f(g)
}

// ecosystem is one row of the table. A mirror joins the table with a file
// of its own that appends its row in an init function.
type ecosystem struct {
	name string
	// setup returns the fake upstream, the handler under test built over
	// cache with the gate's URL as its upstream, and what it serves. The
	// handler sends its upstream requests with client, and with the
	// bounds of upstreamFor(client): the fault tests set them short.
	setup func(t *testing.T, upstreamURL func() string, client *http.Client, cache *pull.Cache) served
}

// rigTransport is the transport of a rig's upstream client. It carries the
// upstream bounds that the rig wants its ecosystem to use, and fails new
// connections while the gate refuses them.
type rigTransport struct {
	*http.Transport
	header, idle time.Duration // zero: the core's defaults
}

// upstreamFor returns the core's upstream client over client, with the
// bounds that the rig set for its upstream requests.
func upstreamFor(client *http.Client) *pull.HTTPUpstream {
	header, idle := boundsOf(client)
	return &pull.HTTPUpstream{Client: client, HeaderTimeout: header, IdleTimeout: idle}
}

// boundsOf returns the upstream header and idle timeouts that the rig set
// on client, zero for the defaults.
func boundsOf(client *http.Client) (header, idle time.Duration) {
	if rt, ok := client.Transport.(*rigTransport); ok {
		return rt.header, rt.idle
	}
	return 0, 0
}

type served struct {
	origin  http.Handler
	handler http.Handler
	// replica builds the handler again over another cache, as a replica
	// of the same mirror, with the same upstream. Nil means calling the
	// row's setup again, which suits rows whose handler keeps nothing of
	// their origin (no key, no digest).
	replica  func(cache *pull.Cache) http.Handler
	file     string // URL path of an immutable file
	fileUp   string // what its upstream request path contains
	fileName string // its store name
	eco      string // its ecosystem and kind labels
	kind     string
	want     []byte
	meta     string // URL path of a metadata document
}

var ecosystems = []ecosystem{
	{name: "go", setup: setupGo},
	{name: "golang", setup: setupGolang},
}

func setupGo(t *testing.T, upstreamURL func() string, client *http.Client, cache *pull.Cache) served {
	mod := sumdbtest.NewModule(t, "example.com/table", "v1.0.0", map[string]string{"big.go": "package table\n// " + strings.Repeat("x", 200<<10) + "\n"})
	proxy := goOrigin{mod: mod}
	build := func(cache *pull.Cache) http.Handler {
		lazy := &lazyUpstream{url: upstreamURL, client: client}
		h, err := goproxy.New(goproxy.Config{Cache: cache, Upstream: lazy, Verifier: verifier{mod}})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	return served{
		origin: proxy, handler: build(cache), replica: build,
		file: "/example.com/table/@v/v1.0.0.zip", fileUp: "v1.0.0.zip", fileName: "example.com/table/@v/v1.0.0.zip",
		eco: "go", kind: "zip",
		want: mod.Zip, meta: "/example.com/table/@v/list",
	}
}

// lazyUpstream builds the GOPROXY chain on first use, once the gate's
// URL is known.
type lazyUpstream struct {
	url    func() string
	client *http.Client
	once   sync.Once
	up     *upstream.Upstream
	err    error
}

func (l *lazyUpstream) Fetch(ctx context.Context, name string) (io.ReadCloser, error) {
	l.once.Do(func() {
		header, idle := boundsOf(l.client)
		l.up, l.err = upstream.New(upstream.Config{Proxy: l.url(), Client: l.client, Retries: -1, HeaderTimeout: header, IdleTimeout: idle})
	})
	if l.err != nil {
		return nil, l.err
	}
	return l.up.Fetch(ctx, name)
}

type goOrigin struct{ mod *sumdbtest.Module }

func (o goOrigin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, _ := module.EscapePath(o.mod.Path)
	base := "/" + p + "/@v/"
	switch r.URL.Path {
	case base + "list":
		io.WriteString(w, o.mod.Version.Version+"\n")
	case base + o.mod.Version.Version + ".zip":
		w.Write(o.mod.Zip)
	case base + o.mod.Version.Version + ".mod":
		w.Write(o.mod.Mod)
	case base + o.mod.Version.Version + ".info":
		w.Write(o.mod.Info)
	default:
		http.NotFound(w, r)
	}
}

type verifier struct{ mod *sumdbtest.Module }

func (v verifier) Lookup(_ context.Context, path, version string) (string, string, error) {
	if path != v.mod.Path || version != v.mod.Version.Version {
		return "", "", fs.ErrNotExist
	}
	return v.mod.ZipHash, v.mod.ModHash, nil
}

func setupGolang(t *testing.T, upstreamURL func() string, client *http.Client, cache *pull.Cache) served {
	up := golangtest.NewUpstream(t)
	file := "go1.99.1.linux-amd64.tar.gz"
	build := func(cache *pull.Cache) http.Handler {
		return &lazyGolang{url: upstreamURL, client: client, cache: cache}
	}
	return served{
		origin: up.Config.Handler, handler: build(cache), replica: build,
		file: "/golang/" + file, fileUp: "/go/" + file, fileName: "golang/dl/" + file,
		eco: "golang", kind: "archive",
		want: up.File(file), meta: "/golang/?mode=json&include=all",
	}
}

type lazyGolang struct {
	url    func() string
	client *http.Client
	cache  *pull.Cache
	once   sync.Once
	h      http.Handler
}

func (l *lazyGolang) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.once.Do(func() {
		h, err := golang.New(golang.Config{Cache: l.cache, IndexURL: l.url() + "/dl/", BaseURL: l.url() + "/go/",
			TTL: time.Hour, Upstream: upstreamFor(l.client)})
		if err != nil {
			panic(err)
		}
		l.h = h
	})
	l.h.ServeHTTP(w, r)
}

// rig is one ecosystem under test.
type rig struct {
	served
	upstreamURL func() string
	gate        *gate
	m           *metrics.Metrics
	srv         *httptest.Server
	store       store.Store
	root        string // the disk store's directory; "" for another store
	tmp         string
	client      *http.Client // the upstream client
	// answered receives the status that the handler wrote for each
	// request, 0 when it wrote nothing, once the handler has returned.
	answered chan int
}

// rigOptions changes what newRigWith builds.
type rigOptions struct {
	// header and idle bound the upstream requests; zero means the core's
	// defaults.
	header, idle time.Duration
	// stall is the core's StallTimeout; zero means its default.
	stall time.Duration
	// store replaces the rig's own disk store, and locker and negative
	// make it a replica coordinated with others.
	store    store.Store
	locker   pull.Locker
	negative pull.NegativeCache
	// of, when set, is another rig whose upstream this rig shares: this
	// rig is a replica of it, built with the row's replica function.
	of *rig
}

func newRig(t *testing.T, e ecosystem, ttl time.Duration) *rig {
	t.Helper()
	return newRigWith(t, e, rigOptions{})
}

func newRigWith(t *testing.T, e ecosystem, o rigOptions) *rig {
	t.Helper()
	st, root := o.store, ""
	if st == nil {
		root = t.TempDir()
		d, err := disk.New(root, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		st = d
	}
	tmp := t.TempDir()
	m := metrics.New(nil)
	cache, err := pull.New(pull.Config{Store: st, TempDir: tmp, StaleGrace: 50 * time.Millisecond, Metrics: m,
		StallTimeout: o.stall, Locker: o.locker, Negative: o.negative})
	if err != nil {
		t.Fatal(err)
	}
	var (
		g      *gate
		up     *httptest.Server
		client *http.Client
		s      served
	)
	if o.of != nil {
		g, client, s = o.of.gate, o.of.client, o.of.served
		if s.replica != nil {
			s.handler = s.replica(cache)
		} else {
			s.handler = e.setup(t, o.of.upstreamURL, client, cache).handler
		}
	} else {
		g = &gate{counts: map[string]int{}, closed: make(chan struct{})}
		up = httptest.NewServer(g)
		t.Cleanup(up.Close)
		base := up.Client().Transport.(*http.Transport).Clone()
		dial := base.DialContext
		if dial == nil {
			dial = (&net.Dialer{}).DialContext
		}
		base.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			g.mu.Lock()
			refuse := g.refuse
			g.mu.Unlock()
			if refuse {
				return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
			}
			return dial(ctx, network, addr)
		}
		client = &http.Client{Transport: &rigTransport{Transport: base, header: o.header, idle: o.idle}}
		s = e.setup(t, func() string { return up.URL }, client, cache)
		g.origin = s.origin
	}
	answered := make(chan int, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			select {
			case answered <- rec.status:
			default:
			}
		}()
		s.handler.ServeHTTP(rec, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if o.of == nil {
			close(g.closed)
		}
		g.set(func(g *gate) {
			if g.hold != nil {
				select {
				case <-g.hold:
				default:
					close(g.hold)
				}
			}
		})
		cache.Shutdown(context.Background())
	})
	r := &rig{served: s, gate: g, m: m, srv: srv, store: st, root: root, tmp: tmp, client: client, answered: answered}
	if up != nil {
		r.upstreamURL = func() string { return up.URL }
	} else {
		r.upstreamURL = o.of.upstreamURL
	}
	return r
}

// statusRecorder notes the status a handler writes.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(p)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *rig) get(ctx context.Context, path string) (int, []byte, http.Header, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.srv.URL+path, nil)
	resp, err := r.srv.Client().Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, resp.Header, err
}

// stored reports whether the store holds the file: under its store name
// when the row gives one, else anywhere, by its content.
func (r *rig) stored(t *testing.T) bool {
	if r.fileName != "" {
		rc, err := r.store.Get(t.Context(), r.fileName)
		if err != nil {
			return false
		}
		rc.Close()
		return true
	}
	if r.root == "" {
		t.Fatalf("row %s names no store name for its file", r.eco)
	}
	found := false
	filepath.WalkDir(r.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || found {
			return nil
		}
		if d.IsDir() && d.Name() == ".tmp" {
			return filepath.SkipDir
		}
		if fi, err := d.Info(); err == nil && !d.IsDir() && fi.Size() == int64(len(r.want)) {
			data, _ := os.ReadFile(p)
			found = bytes.Equal(data, r.want)
		}
		return nil
	})
	return found
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestEveryEcosystemCoalescesMisses(t *testing.T) {
	for _, e := range ecosystems {
		t.Run(e.name, func(t *testing.T) {
			r := newRig(t, e, time.Hour)
			// Warm the metadata the file's check needs, then hold the file.
			if code, body, _, err := r.get(t.Context(), r.meta); err != nil || code != 200 {
				t.Fatalf("metadata: %d %s %v", code, body, err)
			}
			held := make(chan string, 64)
			hold := make(chan struct{})
			r.gate.set(func(g *gate) { g.hold, g.held = hold, held })
			const clients = 20
			var wg sync.WaitGroup
			errs := make(chan string, clients)
			for range clients {
				wg.Go(func() {
					code, body, _, err := r.get(t.Context(), r.file)
					if err != nil || code != 200 || !bytes.Equal(body, r.want) {
						errs <- fmt.Sprintf("got %d, %d bytes, %v", code, len(body), err)
					}
				})
			}
			for p := <-held; !strings.Contains(p, r.fileUp); p = <-held {
			}
			waitFor(t, "every client to miss", func() bool {
				return testutil.ToFloat64(r.m.StoreLookups.WithLabelValues(r.eco, r.kind, "miss")) >= clients
			})
			close(hold)
			wg.Wait()
			close(errs)
			for e := range errs {
				t.Error(e)
			}
			if got := r.gate.count(r.fileUp); got != 1 {
				t.Errorf("upstream requests for %d concurrent misses: got %d, want 1", clients, got)
			}
		})
	}
}

func TestEveryEcosystemFillSurvivesHangUp(t *testing.T) {
	for _, e := range ecosystems {
		t.Run(e.name, func(t *testing.T) {
			r := newRig(t, e, time.Hour)
			if code, _, _, err := r.get(t.Context(), r.meta); err != nil || code != 200 {
				t.Fatalf("metadata: %d %v", code, err)
			}
			held := make(chan string, 8)
			hold := make(chan struct{})
			r.gate.set(func(g *gate) { g.hold, g.held = hold, held })
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan struct{})
			go func() {
				r.get(ctx, r.file)
				close(done)
			}()
			for p := <-held; !strings.Contains(p, r.fileUp); p = <-held {
			}
			cancel()
			<-done
			r.gate.set(func(g *gate) { g.hold = nil })
			close(hold)
			waitFor(t, "the fill to store the file after its client hung up", func() bool { return r.stored(t) })
		})
	}
}

func TestEveryEcosystemServesStaleMetadata(t *testing.T) {
	for _, e := range ecosystems {
		t.Run(e.name, func(t *testing.T) {
			r := newRig(t, e, time.Hour)
			code, first, _, err := r.get(t.Context(), r.meta)
			if err != nil || code != 200 {
				t.Fatalf("metadata: %d %v", code, err)
			}
			// Age every stored file past any TTL.
			old := time.Now().Add(-48 * time.Hour)
			filepath.WalkDir(r.root, func(p string, d fs.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					os.Chtimes(p, old, old)
				}
				return nil
			})
			r.gate.set(func(g *gate) { g.down = true })
			code, body, hdr, err := r.get(t.Context(), r.meta)
			if err != nil || code != 200 || hdr.Get(pull.StaleHeader) != "true" || !bytes.Equal(body, first) {
				t.Errorf("with the upstream down: got %d, stale %q, same body %v, %v", code, hdr.Get(pull.StaleHeader), bytes.Equal(body, first), err)
			}
		})
	}
}

func TestEveryEcosystemCrashSafeFill(t *testing.T) {
	for _, e := range ecosystems {
		t.Run(e.name, func(t *testing.T) {
			r := newRig(t, e, time.Hour)
			if code, _, _, err := r.get(t.Context(), r.meta); err != nil || code != 200 {
				t.Fatalf("metadata: %d %v", code, err)
			}
			// The upstream drops the connection half-way through the file.
			r.gate.set(func(g *gate) { g.cut = true })
			code, body, _, err := r.get(t.Context(), r.file)
			if err == nil && code == 200 && bytes.Equal(body, r.want) {
				t.Fatal("a cut download was served whole")
			}
			if r.stored(t) {
				t.Fatal("a cut download was stored")
			}
			waitFor(t, "the temporary file to go", func() bool {
				entries, _ := os.ReadDir(r.tmp)
				return len(entries) == 0
			})
			// Once the upstream is whole again, the file is filled.
			r.gate.set(func(g *gate) { g.cut = false })
			code, body, _, err = r.get(t.Context(), r.file)
			if err != nil || code != 200 || !bytes.Equal(body, r.want) {
				t.Errorf("after the upstream recovered: got %d, %d bytes, %v", code, len(body), err)
			}
		})
	}
}
