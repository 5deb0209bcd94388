package upstream

import (
	"bytes"
	"context"
	"errors"
	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/gomirror/gomirror/internal/metrics"
)

// newTest returns an Upstream for proxy with test-friendly retry delays.
func newTest(t *testing.T, cfg Config) *Upstream {
	t.Helper()
	if cfg.Client == nil {
		cfg.Client = sumdbtest.LocalClient(t)
	}
	u, err := New(cfg)
	if err != nil {
		t.Fatalf("New(Proxy: %q): %v", cfg.Proxy, err)
	}
	u.http.RetryDelay = time.Millisecond
	return u
}

func TestFetchChain(t *testing.T) {
	const name = "example.com/lib/@v/v1.0.0.zip"
	mod := newTestModule(t, "example.com/lib", "v1.0.0")
	good := newFakeProxy(t, mod)

	var hits404, hits410, hits500, hits403, hitsBare404 atomic.Int64
	s404 := statusServer(t, http.StatusNotFound, "not found: example.com/lib@v1.0.0: first reason\nsecond line\n", &hits404)
	s410 := statusServer(t, http.StatusGone, "gone: example.com/lib@v1.0.0: second reason\n", &hits410)
	s500 := statusServer(t, http.StatusInternalServerError, "database on fire\n", &hits500)
	s403 := statusServer(t, http.StatusForbidden, "forbidden\n", &hits403)
	bare404 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hitsBare404.Add(1)
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusNotFound)
		io.WriteString(w, "<Error>NoSuchKey</Error>")
	}))
	t.Cleanup(bare404.Close)

	tests := []struct {
		name    string
		proxy   string
		wantOK  bool
		wantIs  error  // when !wantOK
		wantErr string // substring of the error, when !wantOK
		// wantGood is how many requests the good proxy gets.
		wantGood int
	}{
		{name: "comma after 404", proxy: s404.URL + "," + good.URL, wantOK: true, wantGood: 1},
		{name: "comma after 410", proxy: s410.URL + "," + good.URL, wantOK: true, wantGood: 1},
		{name: "comma after 404 and 410", proxy: s404.URL + "," + s410.URL + "," + good.URL, wantOK: true, wantGood: 1},
		{name: "comma after 500 stops", proxy: s500.URL + "," + good.URL,
			wantErr: "500 Internal Server Error: database on fire", wantGood: 0},
		{name: "comma after 403 stops", proxy: s403.URL + "," + good.URL,
			wantErr: "403 Forbidden: forbidden", wantGood: 0},
		{name: "pipe after 500", proxy: s500.URL + "|" + good.URL, wantOK: true, wantGood: 1},
		{name: "pipe after 403", proxy: s403.URL + "|" + good.URL, wantOK: true, wantGood: 1},
		{name: "off", proxy: "off", wantIs: fs.ErrPermission, wantErr: "module lookup disabled by GOPROXY=off"},
		{name: "off after 404", proxy: s404.URL + ",off," + good.URL, wantIs: fs.ErrPermission,
			wantErr: "module lookup disabled by GOPROXY=off"},
		// As the go command: with only "not found" answers, the last one
		// is reported (mod_proxy_list.txt: "return the final error").
		{name: "all not found", proxy: s404.URL + "," + s410.URL, wantIs: fs.ErrNotExist,
			wantErr: "gone: example.com/lib@v1.0.0: second reason"},
		{name: "all not found, reversed", proxy: s410.URL + "," + s404.URL, wantIs: fs.ErrNotExist,
			wantErr: "not found: example.com/lib@v1.0.0: first reason"},
		{name: "reason passed through", proxy: s404.URL, wantIs: fs.ErrNotExist,
			wantErr: "not found: example.com/lib@v1.0.0: first reason"},
		{name: "no reason without text/plain", proxy: bare404.URL, wantIs: fs.ErrNotExist,
			wantErr: "not found: example.com/lib@v1.0.0"},
		// A proxy error is more helpful than a later "not found".
		{name: "500 then 404", proxy: s500.URL + "|" + s404.URL, wantErr: "500 Internal Server Error"},
		{name: "404 then 500", proxy: s404.URL + "," + s500.URL, wantErr: "500 Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := good.requests()
			u := newTest(t, Config{Proxy: tt.proxy, Retries: -1})
			body, err := u.Fetch(t.Context(), name)
			if tt.wantOK {
				if err != nil {
					t.Fatalf("Fetch(%q): got error %v, want none", name, err)
				}
				if got := readAll(t, body); !bytes.Equal(got, mod.zip) {
					t.Errorf("Fetch(%q): got %d bytes, want the module's %d-byte zip", name, len(got), len(mod.zip))
				}
			} else {
				if err == nil {
					body.Close()
					t.Fatalf("Fetch(%q): got no error, want %q", name, tt.wantErr)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("Fetch(%q): got error %v, want one matching %v", name, err, tt.wantIs)
				}
				if tt.wantIs == nil && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission)) {
					t.Errorf("Fetch(%q): got error %v matching fs.ErrNotExist or fs.ErrPermission, want neither", name, err)
				}
				if errors.Is(tt.wantIs, fs.ErrNotExist) || errors.Is(tt.wantIs, fs.ErrPermission) {
					if err.Error() != tt.wantErr {
						t.Errorf("Fetch(%q): got message %q, want %q", name, err, tt.wantErr)
					}
				} else if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Fetch(%q): got error %q, want it to contain %q", name, err, tt.wantErr)
				}
			}
			if got := good.requests() - before; got != tt.wantGood {
				t.Errorf("good proxy: got %d requests, want %d", got, tt.wantGood)
			}
		})
	}
}

func TestFetchNamesFailingEntry(t *testing.T) {
	var hits atomic.Int64
	s := statusServer(t, http.StatusBadGateway, "upstream broke\n", &hits)
	u := newTest(t, Config{Proxy: s.URL + "/prefix", Retries: -1})
	_, err := u.Fetch(t.Context(), "example.com/lib/@v/list")
	want := "reading " + s.URL + "/prefix/example.com/lib/@v/list: 502 Bad Gateway: upstream broke"
	if err == nil || err.Error() != want {
		t.Fatalf("Fetch: got error %v, want %q", err, want)
	}
}

func TestFetchKinds(t *testing.T) {
	mod := newTestModule(t, "github.com/BurntSushi/toml", "v1.2.0")
	p := newFakeProxy(t, mod)
	u := newTest(t, Config{Proxy: p.URL + "/"})
	tests := []struct {
		name string
		want []byte
	}{
		{"github.com/!burnt!sushi/toml/@v/list", []byte("v1.2.0\n")},
		{"github.com/!burnt!sushi/toml/@latest", mod.info},
		{"github.com/!burnt!sushi/toml/@v/v1.2.0.info", mod.info},
		{"github.com/!burnt!sushi/toml/@v/v1.2.0.mod", mod.mod},
		{"github.com/!burnt!sushi/toml/@v/v1.2.0.zip", mod.zip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := u.Fetch(t.Context(), tt.name)
			if err != nil {
				t.Fatalf("Fetch(%q): got error %v, want none", tt.name, err)
			}
			if got := readAll(t, body); !bytes.Equal(got, tt.want) {
				t.Errorf("Fetch(%q): got %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

// TestFetchEscaping checks that module paths and versions, case-escaped in
// names, reach the upstream escaped exactly once, and URL-encoded as the
// go command encodes them ("!" travels as %21, which servers decode).
func TestFetchEscaping(t *testing.T) {
	type seen struct{ path, uri string }
	var mu sync.Mutex
	var got []seen
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, seen{r.URL.Path, r.RequestURI})
		mu.Unlock()
		io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	tests := []struct {
		base, name        string
		wantPath, wantURI string
	}{
		{s.URL, "github.com/!burnt!sushi/toml/@v/list",
			"/github.com/!burnt!sushi/toml/@v/list", "/github.com/%21burnt%21sushi/toml/@v/list"},
		{s.URL + "/mirror/", "github.com/!burnt!sushi/toml/@v/v1.0.0.info",
			"/mirror/github.com/!burnt!sushi/toml/@v/v1.0.0.info", "/mirror/github.com/%21burnt%21sushi/toml/@v/v1.0.0.info"},
		{s.URL + "/a%20b", "github.com/!azure/go/@v/!master.info",
			"/a b/github.com/!azure/go/@v/!master.info", "/a%20b/github.com/%21azure/go/@v/%21master.info"},
		{s.URL, "example.com/m/@v/v2.0.0+incompatible.zip",
			"/example.com/m/@v/v2.0.0+incompatible.zip", "/example.com/m/@v/v2.0.0+incompatible.zip"},
		{s.URL, "example.com/m/@latest", "/example.com/m/@latest", "/example.com/m/@latest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := newTest(t, Config{Proxy: tt.base})
			body, err := u.Fetch(t.Context(), tt.name)
			if err != nil {
				t.Fatalf("Fetch(%q): got error %v, want none", tt.name, err)
			}
			readAll(t, body)
			mu.Lock()
			last := got[len(got)-1]
			mu.Unlock()
			if last.path != tt.wantPath {
				t.Errorf("Fetch(%q) from %s: upstream decoded path %q, want %q", tt.name, tt.base, last.path, tt.wantPath)
			}
			if last.uri != tt.wantURI {
				t.Errorf("Fetch(%q) from %s: upstream request URI %q, want %q", tt.name, tt.base, last.uri, tt.wantURI)
			}
		})
	}
}

func TestFetchRetries(t *testing.T) {
	const name = "example.com/lib/@v/v1.0.0.mod"
	mod := newTestModule(t, "example.com/lib", "v1.0.0")
	tests := []struct {
		name     string
		fail     func(w http.ResponseWriter, r *http.Request, n int) bool
		retries  int
		wantOK   bool
		wantReqs int
	}{
		{
			name: "429 with Retry-After 0",
			fail: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if n <= 2 {
					w.Header().Set("Retry-After", "0")
					http.Error(w, "slow down", http.StatusTooManyRequests)
					return true
				}
				return false
			},
			wantOK: true, wantReqs: 3,
		},
		{
			name: "503 once",
			fail: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if n == 1 {
					http.Error(w, "unavailable", http.StatusServiceUnavailable)
					return true
				}
				return false
			},
			wantOK: true, wantReqs: 2,
		},
		{
			name: "503 always",
			fail: func(w http.ResponseWriter, r *http.Request, n int) bool {
				http.Error(w, "unavailable", http.StatusServiceUnavailable)
				return true
			},
			retries: 3, wantReqs: 4,
		},
		{
			name: "429 with long Retry-After gives up",
			fail: func(w http.ResponseWriter, r *http.Request, n int) bool {
				w.Header().Set("Retry-After", "3600")
				http.Error(w, "come back tomorrow", http.StatusTooManyRequests)
				return true
			},
			wantReqs: 1,
		},
		{
			name: "404 not retried",
			fail: func(w http.ResponseWriter, r *http.Request, n int) bool {
				http.Error(w, "not found", http.StatusNotFound)
				return true
			},
			wantReqs: 1,
		},
		{
			name: "400 not retried",
			fail: func(w http.ResponseWriter, r *http.Request, n int) bool {
				http.Error(w, "bad request", http.StatusBadRequest)
				return true
			},
			wantReqs: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newFakeProxy(t, mod)
			p.setFail(tt.fail)
			u := newTest(t, Config{Proxy: p.URL, Retries: tt.retries})
			body, err := u.Fetch(t.Context(), name)
			if tt.wantOK {
				if err != nil {
					t.Fatalf("Fetch: got error %v, want none", err)
				}
				if got := readAll(t, body); !bytes.Equal(got, mod.mod) {
					t.Errorf("Fetch: got %q, want %q", got, mod.mod)
				}
			} else if err == nil {
				body.Close()
				t.Fatalf("Fetch: got no error, want one")
			}
			if got := p.requests(); got != tt.wantReqs {
				t.Errorf("proxy: got %d requests, want %d", got, tt.wantReqs)
			}
		})
	}
}

// resetListener closes the first n connections it accepts, before reading
// any request.
type resetListener struct {
	net.Listener
	n       int
	dropped atomic.Int64
}

func (l *resetListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if int(l.dropped.Load()) >= l.n {
			return c, nil
		}
		l.dropped.Add(1)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetLinger(0) // send a reset
		}
		c.Close()
	}
}

func TestFetchRetriesConnectionReset(t *testing.T) {
	const name = "example.com/lib/@v/v1.0.0.mod"
	mod := newTestModule(t, "example.com/lib", "v1.0.0")
	for _, tt := range []struct {
		name    string
		drop    int
		retries int
		wantOK  bool
	}{
		{"recovers", 2, 2, true},
		{"gives up", 100, 2, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newFakeProxy(t, mod)
			p.Close()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			rl := &resetListener{Listener: ln, n: tt.drop}
			s := httptest.NewUnstartedServer(http.HandlerFunc(p.serve))
			s.Listener.Close()
			s.Listener = rl
			s.Start()
			t.Cleanup(s.Close)

			u := newTest(t, Config{Proxy: s.URL, Retries: tt.retries})
			body, err := u.Fetch(t.Context(), name)
			if tt.wantOK {
				if err != nil {
					t.Fatalf("Fetch: got error %v, want none", err)
				}
				if got := readAll(t, body); !bytes.Equal(got, mod.mod) {
					t.Errorf("Fetch: got %q, want %q", got, mod.mod)
				}
			} else if err == nil {
				body.Close()
				t.Fatal("Fetch: got no error, want one")
			}
			wantDropped := min(tt.drop, tt.retries+1)
			if got := int(rl.dropped.Load()); got != wantDropped {
				t.Errorf("connections reset: got %d, want %d", got, wantDropped)
			}
		})
	}
}

func TestFetchTimeout(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".zip") {
			w.Write([]byte("PK partial"))
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(s.Close)

	t.Run("headers", func(t *testing.T) {
		u := newTest(t, Config{Proxy: s.URL, Timeout: 50 * time.Millisecond})
		body, err := u.Fetch(t.Context(), "example.com/lib/@v/v1.0.0.info")
		if err == nil {
			body.Close()
			t.Fatal("Fetch from a hung upstream: got no error, want one")
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Fetch from a hung upstream: got error %v, want one matching context.DeadlineExceeded", err)
		}
	})
	t.Run("body", func(t *testing.T) {
		u := newTest(t, Config{Proxy: s.URL, Timeout: 50 * time.Millisecond})
		body, err := u.Fetch(t.Context(), "example.com/lib/@v/v1.0.0.zip")
		if err != nil {
			t.Fatalf("Fetch: got error %v, want a body that fails later", err)
		}
		defer body.Close()
		_, err = io.ReadAll(body)
		if err == nil {
			t.Fatal("reading a hung body: got no error, want one")
		}
	})
	t.Run("caller cancels", func(t *testing.T) {
		u := newTest(t, Config{Proxy: s.URL + "|" + s.URL})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		body, err := u.Fetch(ctx, "example.com/lib/@v/v1.0.0.info")
		if err == nil {
			body.Close()
			t.Fatal("Fetch with a cancelled context: got no error, want one")
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Fetch with a cancelled context: got error %v, want one matching context.Canceled", err)
		}
	})
}

// TestFetchQuietUpstream checks the bounds on a proxy that goes quiet:
// before its headers, or in the middle of its body. Either way the fetch
// fails long before the whole-fetch Timeout with an error that matches
// os.ErrDeadlineExceeded and is not "not found".
func TestFetchQuietUpstream(t *testing.T) {
	mod := newTestModule(t, "example.com/lib", "v1.0.0")
	good := newFakeProxy(t, mod)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	hang := func(r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	noHeaders := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hang(r)
	}))
	t.Cleanup(noHeaders.Close)
	stalls := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("PK partial"))
		w.(http.Flusher).Flush()
		hang(r)
	}))
	t.Cleanup(stalls.Close)
	// Timeout is long: only the header and idle bounds can end these
	// fetches in time.
	const (
		timeout = 10 * time.Minute
		short   = 20 * time.Millisecond
	)
	checkTimeout := func(t *testing.T, what string, err error, want string) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: got no error, want a timeout", what)
		}
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%s: got error %v, want one matching os.ErrDeadlineExceeded", what, err)
		}
		if errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: got error %v matching fs.ErrNotExist, want a timeout only", what, err)
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got error %q, want it to say %q", what, err, want)
		}
	}

	t.Run("no headers", func(t *testing.T) {
		u := newTest(t, Config{Proxy: noHeaders.URL, Timeout: timeout, HeaderTimeout: short})
		body, err := u.Fetch(t.Context(), "example.com/lib/@v/v1.0.0.info")
		if err == nil {
			body.Close()
		}
		checkTimeout(t, "Fetch from a proxy that sends no headers", err, "no response header within "+short.String())
	})
	t.Run("no headers, comma stops", func(t *testing.T) {
		u := newTest(t, Config{Proxy: noHeaders.URL + "," + good.URL, Timeout: timeout, HeaderTimeout: short})
		before := good.requests()
		body, err := u.Fetch(t.Context(), "example.com/lib/@v/v1.0.0.info")
		if err == nil {
			body.Close()
		}
		checkTimeout(t, "Fetch from a proxy that sends no headers, then another", err, "no response header")
		if got := good.requests() - before; got != 0 {
			t.Errorf("after a timeout and ',': got %d requests to the next proxy, want 0 (a timeout is not \"not found\")", got)
		}
	})
	t.Run("no headers, pipe falls through", func(t *testing.T) {
		u := newTest(t, Config{Proxy: noHeaders.URL + "|" + good.URL, Timeout: timeout, HeaderTimeout: short})
		body, err := u.Fetch(t.Context(), "example.com/lib/@v/v1.0.0.zip")
		if err != nil {
			t.Fatalf("Fetch: got error %v, want the next proxy's zip", err)
		}
		if got := readAll(t, body); !bytes.Equal(got, mod.zip) {
			t.Errorf("Fetch: got %d bytes, want the module's %d-byte zip", len(got), len(mod.zip))
		}
	})
	t.Run("body stalls", func(t *testing.T) {
		u := newTest(t, Config{Proxy: stalls.URL, Timeout: timeout, IdleTimeout: short})
		body, err := u.Fetch(t.Context(), "example.com/lib/@v/v1.0.0.zip")
		if err != nil {
			t.Fatalf("Fetch: got error %v, want a body that stalls", err)
		}
		defer body.Close()
		got, err := io.ReadAll(body)
		checkTimeout(t, "reading a stalled body", err, "no data within "+short.String())
		if string(got) != "PK partial" {
			t.Errorf("reading a stalled body: got %q before the error, want %q", got, "PK partial")
		}
		// Later reads fail the same way.
		if _, err := body.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("Read after the timeout: got error %v, want one matching os.ErrDeadlineExceeded", err)
		}
	})
	t.Run("whole fetch", func(t *testing.T) {
		u := newTest(t, Config{Proxy: noHeaders.URL, Timeout: short})
		body, err := u.Fetch(t.Context(), "example.com/lib/@v/v1.0.0.info")
		if err == nil {
			body.Close()
		}
		checkTimeout(t, "Fetch that outlives Timeout", err, "fetch not finished within "+short.String())
	})
}

func TestFetchStreams(t *testing.T) {
	release := make(chan struct{})
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("first part,"))
		w.(http.Flusher).Flush()
		<-release
		w.Write([]byte("second part"))
	}))
	t.Cleanup(s.Close)
	u := newTest(t, Config{Proxy: s.URL})
	body, err := u.Fetch(t.Context(), "example.com/lib/@v/v1.0.0.zip")
	if err != nil {
		close(release)
		t.Fatalf("Fetch: got error %v, want none", err)
	}
	// The body is handed over before the upstream has finished sending it.
	first := make([]byte, len("first part,"))
	if _, err := io.ReadFull(body, first); err != nil {
		close(release)
		t.Fatalf("reading the first part: %v", err)
	}
	close(release)
	rest := readAll(t, body)
	if got := string(first) + string(rest); got != "first part,second part" {
		t.Errorf("body: got %q, want %q", got, "first part,second part")
	}
}

func TestFetchInvalidName(t *testing.T) {
	p := newFakeProxy(t)
	u := newTest(t, Config{Proxy: p.URL})
	for _, name := range []string{"golang.org/x/text", "../x/@v/list", "Golang.org/x/text/@v/list"} {
		_, err := u.Fetch(t.Context(), name)
		if !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("Fetch(%q): got error %v, want one matching fs.ErrInvalid", name, err)
		}
	}
	// A zip of a version that cannot exist is not found, as proxies say.
	if _, err := u.Fetch(t.Context(), "golang.org/x/text/@v/master.zip"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Fetch of master.zip: got error %v, want one matching fs.ErrNotExist", err)
	}
	if got := p.requests(); got != 0 {
		t.Errorf("proxy: got %d requests for invalid names, want 0", got)
	}
}

func TestFetchFileProxy(t *testing.T) {
	mod := newTestModule(t, "example.com/lib", "v1.0.0")
	dir := t.TempDir()
	file := filepath.Join(dir, "example.com", "lib", "@v", "v1.0.0.mod")
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, mod.mod, 0o644); err != nil {
		t.Fatal(err)
	}
	u := newTest(t, Config{Proxy: "file://" + filepath.ToSlash(dir)})
	body, err := u.Fetch(t.Context(), "example.com/lib/@v/v1.0.0.mod")
	if err != nil {
		t.Fatalf("Fetch: got error %v, want none", err)
	}
	if got := readAll(t, body); !bytes.Equal(got, mod.mod) {
		t.Errorf("Fetch: got %q, want %q", got, mod.mod)
	}
	_, err = u.Fetch(t.Context(), "example.com/lib/@v/v2.0.0+incompatible.mod")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Fetch of a missing file: got error %v, want one matching fs.ErrNotExist", err)
	}
}

func TestFetchDefaultClient(t *testing.T) {
	mod := newTestModule(t, "example.com/lib", "v1.0.0")
	p := newFakeProxy(t, mod)
	u, err := New(Config{Proxy: p.URL})
	if err != nil {
		t.Fatal(err)
	}
	body, err := u.Fetch(t.Context(), "example.com/lib/@v/list")
	if err != nil {
		t.Fatalf("Fetch: got error %v, want none", err)
	}
	if got := string(readAll(t, body)); got != "v1.0.0\n" {
		t.Errorf("Fetch: got %q, want %q", got, "v1.0.0\n")
	}
}

func TestFetchMetrics(t *testing.T) {
	mod := newTestModule(t, "example.com/lib", "v1.0.0")
	p := newFakeProxy(t, mod)
	m := metrics.New(nil)
	u := newTest(t, Config{Proxy: p.URL, Metrics: m, Retries: -1})

	body, err := u.Fetch(t.Context(), "example.com/lib/@v/v1.0.0.zip")
	if err != nil {
		t.Fatal(err)
	}
	// The core that fills the store counts fetches in flight; upstream
	// must not count them a second time.
	if got := gaugeValue(t, m.FetchesInFlight); got != 0 {
		t.Errorf("in flight while the body is open: got %v, want 0 (not upstream's gauge)", got)
	}
	readAll(t, body)
	body.Close() // a second Close must not count twice
	if _, err := u.Fetch(t.Context(), "example.com/lib/@v/v1.9.0.info"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Fetch: got error %v, want fs.ErrNotExist", err)
	}
	if _, err := u.Fetch(t.Context(), "example.com/lib/@v/main.info"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Fetch: got error %v, want fs.ErrNotExist", err)
	}
	p.setFail(func(w http.ResponseWriter, r *http.Request, n int) bool {
		http.Error(w, "broken", http.StatusInternalServerError)
		return true
	})
	if _, err := u.Fetch(t.Context(), "example.com/lib/@v/list"); err == nil {
		t.Fatal("Fetch: got no error, want one")
	}

	for _, c := range []struct {
		kind, result string
		want         float64
	}{
		{"zip", "ok", 1},
		{"info", "notfound", 1},
		{"query", "notfound", 1},
		{"list", "error", 1},
		{"list", "ok", 0},
	} {
		if got := counterValue(t, m, c.kind, c.result); got != c.want {
			t.Errorf("UpstreamFetches{kind=%q,result=%q}: got %v, want %v", c.kind, c.result, got, c.want)
		}
	}
	if got := gaugeValue(t, m.FetchesInFlight); got != 0 {
		t.Errorf("in flight after all fetches ended: got %v, want 0", got)
	}
	var h dto.Metric
	if err := m.UpstreamDuration.WithLabelValues("zip").(interface{ Write(*dto.Metric) error }).Write(&h); err != nil {
		t.Fatal(err)
	}
	if got := h.GetHistogram().GetSampleCount(); got != 1 {
		t.Errorf("UpstreamDuration{kind=zip} samples: got %d, want 1", got)
	}
}

func counterValue(t *testing.T, m *metrics.Metrics, kind, result string) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.UpstreamFetches.WithLabelValues(kind, result).Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetCounter().GetValue()
}

func gaugeValue(t *testing.T, g interface{ Write(*dto.Metric) error }) float64 {
	t.Helper()
	var d dto.Metric
	if err := g.Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetGauge().GetValue()
}

// TestFetchHidesCredentials: a proxy with credentials in its URL that
// fails in every way shows them in no error and no log line.
func TestFetchHidesCredentials(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.Contains(r.URL.Path, "broken"):
			http.Error(w, "broken", http.StatusInternalServerError)
		case strings.Contains(r.URL.Path, "hung"):
			select {
			case <-release:
			case <-r.Context().Done():
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := closed.Addr().String()
	closed.Close()
	var log bytes.Buffer
	tests := []struct{ proxy, name string }{
		{"http://bob:s3cret@" + strings.TrimPrefix(srv.URL, "http://") + "/?token=s3cret", "example.com/broken/@v/list"},
		{"http://bob:s3cret@" + strings.TrimPrefix(srv.URL, "http://"), "example.com/hung/@v/list"},
		{"http://bob:s3cret@" + strings.TrimPrefix(srv.URL, "http://"), "example.com/missing/@v/list"},
		{"http://bob:s3cret@" + closedAddr, "example.com/any/@v/list"},
	}
	for _, tt := range tests {
		u := newTest(t, Config{Proxy: tt.proxy, HeaderTimeout: 200 * time.Millisecond, Retries: 1, Logger: slog.New(slog.NewTextHandler(&log, nil))})
		body, err := u.Fetch(t.Context(), tt.name)
		if err == nil {
			body.Close()
			t.Errorf("%s: got no error, want one", tt.name)
			continue
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error %q shows the credentials", tt.name, err)
		}
	}
	if strings.Contains(log.String(), "s3cret") {
		t.Errorf("the log shows the credentials:\n%s", log.String())
	}
}
