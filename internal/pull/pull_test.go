package pull

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gomirror/gomirror/internal/metrics"
	"github.com/gomirror/gomirror/internal/store"
	"github.com/gomirror/gomirror/internal/store/disk"
)

// upstream is a fake upstream of named files. It counts fetches, can hold
// them, stream them slowly in two halves, and fail.
type upstream struct {
	mu      sync.Mutex
	files   map[string][]byte
	etags   map[string]string
	counts  map[string]int
	err     error
	gate    chan struct{} // when set, fetches wait for it before answering
	half    chan struct{} // when set, bodies pause after their first half until it closes
	started chan string
}

func newUpstream() *upstream {
	return &upstream{files: map[string][]byte{}, etags: map[string]string{}, counts: map[string]int{}}
}

func (u *upstream) set(name string, data []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.files[name] = data
}

func (u *upstream) setErr(err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.err = err
}

func (u *upstream) count(name string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.counts[name]
}

// pausingReader returns its first half, then waits for gate.
type pausingReader struct {
	ctx  context.Context
	data []byte
	off  int
	gate chan struct{}
}

func (p *pausingReader) Read(b []byte) (int, error) {
	if p.off >= len(p.data) {
		return 0, io.EOF
	}
	if p.off >= len(p.data)/2 && p.gate != nil {
		select {
		case <-p.gate:
			p.gate = nil
		case <-p.ctx.Done():
			return 0, p.ctx.Err()
		}
	}
	end := len(p.data)
	if p.gate != nil {
		end = len(p.data) / 2
	}
	n := copy(b, p.data[p.off:end])
	p.off += n
	return n, nil
}

func (u *upstream) fetch(name string) func(ctx context.Context, prev io.Reader) (io.ReadCloser, error) {
	return func(ctx context.Context, prev io.Reader) (io.ReadCloser, error) {
		u.mu.Lock()
		u.counts[name]++
		data, ok := u.files[name]
		err, gate, half, started := u.err, u.gate, u.half, u.started
		u.mu.Unlock()
		if started != nil {
			started <- name
		}
		if gate != nil {
			select {
			case <-gate:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("%s: %w", name, fs.ErrNotExist)
		}
		if prev != nil {
			old, _ := io.ReadAll(prev)
			if bytes.Equal(old, data) {
				return nil, ErrNotModified
			}
		}
		return io.NopCloser(&pausingReader{ctx: ctx, data: data, gate: half}), nil
	}
}

type fixture struct {
	c     *Cache
	up    *upstream
	store store.Store
	m     *metrics.Metrics
	// want holds the trusted digests of immutable files; a name without
	// one is checked by nothing but its size limit.
	want map[string][]byte
}

func newFixture(t *testing.T, edit func(*Config)) *fixture {
	t.Helper()
	st, err := disk.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return newFixtureOn(t, st, edit)
}

func newFixtureOn(t *testing.T, st store.Store, edit func(*Config)) *fixture {
	t.Helper()
	m := metrics.New(nil)
	cfg := Config{Store: st, TempDir: t.TempDir(), Metrics: m}
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Shutdown(context.Background()) })
	return &fixture{c: c, up: newUpstream(), store: st, m: m, want: map[string][]byte{}}
}

// add puts an immutable file upstream, with its trusted digest.
func (f *fixture) add(name string, data []byte) {
	f.up.set(name, data)
	sum := sha256.Sum256(data)
	f.want[name] = sum[:]
}

// artifact is the test ecosystem's description of name: files under
// "meta/" are metadata fresh for ttl, everything else is immutable and
// checked against its digest.
func (f *fixture) artifact(name string, ttl time.Duration) *Artifact {
	a := &Artifact{Ecosystem: "test", Kind: "file", Name: name, ContentType: "application/octet-stream", Fetch: f.up.fetch(name)}
	if strings.HasPrefix(name, "meta/") {
		a.Kind, a.TTL = "meta", ttl
	} else if sum, ok := f.want[name]; ok {
		a.Want = &Digest{Algorithm: "sha256", Sum: sum, Size: -1, Source: "the test index"}
	}
	return a
}

func (f *fixture) handler(ttl time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f.c.Serve(w, r, f.artifact(strings.TrimPrefix(r.URL.Path, "/"), ttl)); err != nil {
			http.Error(w, Reason(err), Status(err))
		}
	})
}

func (f *fixture) get(t *testing.T, ctx context.Context, path string, hdr ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	f.handler(time.Hour).ServeHTTP(w, r)
	return w
}

func (f *fixture) stored(t *testing.T, name string) bool {
	t.Helper()
	rc, err := f.store.Get(t.Context(), name)
	if err != nil {
		return false
	}
	rc.Close()
	return true
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func big(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func TestFillAndHit(t *testing.T) {
	f := newFixture(t, nil)
	data := []byte("hello, mirror")
	f.add("a/b.bin", data)
	for i := range 2 {
		w := f.get(t, t.Context(), "/a/b.bin")
		if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), data) {
			t.Fatalf("request %d: got %d %q, want 200 %q", i, w.Code, w.Body, data)
		}
		if w.Header().Get("Cache-Control") != ImmutableCacheControl || w.Header().Get("ETag") == "" {
			t.Errorf("request %d: headers %v lack the immutable Cache-Control or an ETag", i, w.Header())
		}
	}
	if got := f.up.count("a/b.bin"); got != 1 {
		t.Errorf("upstream fetches: got %d, want 1", got)
	}
	if got := testutil.ToFloat64(f.m.Fills.WithLabelValues("test", "file", "ok")); got != 1 {
		t.Errorf("fills counted ok: got %v, want 1", got)
	}
}

func TestDigestMismatchIsRefusedAndNotStored(t *testing.T) {
	for _, size := range []int{100, 1 << 20} { // Below and above the held-back tail.
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			f := newFixture(t, nil)
			good := big(size)
			f.add("x.bin", good)
			bad := bytes.Clone(good)
			bad[len(bad)-1] ^= 1
			f.up.set("x.bin", bad)
			srv := httptest.NewServer(f.handler(time.Hour))
			defer srv.Close()
			resp, err := http.Get(srv.URL + "/x.bin")
			var body []byte
			if err == nil {
				body, err = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			switch {
			case err == nil && resp.StatusCode == http.StatusBadGateway:
				for _, s := range []string{"sha256 mismatch", fmt.Sprintf("%x", f.want["x.bin"])} {
					if !strings.Contains(string(body), s) {
						t.Errorf("refusal %q does not name %q", body, s)
					}
				}
				// The digest of what was fetched is an oracle for content
				// the mirror was sent to: never shown.
				if got := fmt.Sprintf("%x", sha256.Sum256(bad)); strings.Contains(string(body), got) {
					t.Errorf("refusal %q names the digest of the refused body", body)
				}
			case err != nil:
				// Streamed: the transfer was cut short.
				if len(body) >= len(bad) {
					t.Errorf("a cut transfer delivered %d bytes of %d", len(body), len(bad))
				}
			default:
				t.Fatalf("got status %d with %d bytes, want 502 or a transfer cut short", resp.StatusCode, len(body))
			}
			if f.stored(t, "x.bin") {
				t.Error("the mismatching file was stored")
			}
			if got := testutil.ToFloat64(f.m.VerifyFailures.WithLabelValues("test", "file")); got != 1 {
				t.Errorf("verify failures: got %v, want 1", got)
			}
		})
	}
}

func TestStreamingFill(t *testing.T) {
	f := newFixture(t, nil)
	data := big(1 << 20)
	f.add("s.bin", data)
	f.up.half = make(chan struct{})
	srv := httptest.NewServer(f.handler(time.Hour))
	defer srv.Close()

	// The first client gets bytes while the upstream is still sending:
	// the fill cannot complete before the gate opens.
	resp, err := http.Get(srv.URL + "/s.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 1024)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatalf("reading the first bytes while the fill is under way: %v", err)
	}
	if f.stored(t, "s.bin") {
		t.Fatal("stored before the upstream finished")
	}
	// A second client joins the same fill and reads what has arrived.
	resp2, err := http.Get(srv.URL + "/s.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	if _, err := io.ReadFull(resp2.Body, make([]byte, 1024)); err != nil {
		t.Fatalf("joined client: %v", err)
	}
	close(f.up.half)
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := append(first, rest...); !bytes.Equal(got, data) {
		t.Errorf("first client got %d bytes that differ from upstream's %d", len(got), len(data))
	}
	if resp.ContentLength != -1 && resp.ContentLength != int64(len(data)) {
		t.Errorf("Content-Length %d, want %d or none", resp.ContentLength, len(data))
	}
	if got := f.up.count("s.bin"); got != 1 {
		t.Errorf("upstream fetches for two clients: got %d, want 1", got)
	}
	// The checked tail is sent before the store has the file: it is
	// stored soon after.
	eventually(t, "the file stored after the fill", func() bool { return f.stored(t, "s.bin") })
}

func TestStreamClientHangsUpFillGoesOn(t *testing.T) {
	f := newFixture(t, nil)
	data := big(1 << 20)
	f.add("h.bin", data)
	f.up.half = make(chan struct{})
	srv := httptest.NewServer(f.handler(time.Hour))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/h.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close() // Hang up mid-stream.
	close(f.up.half)
	eventually(t, "the fill to store the file after its client hung up", func() bool { return f.stored(t, "h.bin") })
}

func TestCoalescedMisses(t *testing.T) {
	f := newFixture(t, nil)
	data := big(300 << 10)
	f.add("c.bin", data)
	f.up.gate = make(chan struct{})
	f.up.started = make(chan string, 1)
	const clients = 100
	var wg sync.WaitGroup
	codes := make(chan error, clients)
	for range clients {
		wg.Go(func() {
			w := f.get(t, t.Context(), "/c.bin")
			if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), data) {
				codes <- fmt.Errorf("got %d and %d bytes", w.Code, w.Body.Len())
			}
		})
	}
	<-f.up.started
	eventually(t, "every client to miss", func() bool {
		return testutil.ToFloat64(f.m.StoreLookups.WithLabelValues("test", "file", "miss")) >= clients
	})
	close(f.up.gate)
	wg.Wait()
	close(codes)
	for err := range codes {
		t.Error(err)
	}
	if got := f.up.count("c.bin"); got != 1 {
		t.Errorf("upstream fetches for %d concurrent misses: got %d, want 1", clients, got)
	}
}

func TestNegativeCache(t *testing.T) {
	f := newFixture(t, nil)
	for i := range 3 {
		if w := f.get(t, t.Context(), "/missing.bin"); w.Code != http.StatusNotFound {
			t.Fatalf("request %d: got %d, want 404", i, w.Code)
		}
	}
	if got := f.up.count("missing.bin"); got != 1 {
		t.Errorf("upstream fetches of a missing file: got %d, want 1", got)
	}
}

func TestAnnouncedOversizeRefusedUnread(t *testing.T) {
	f := newFixture(t, nil)
	read := false
	a := &Artifact{Ecosystem: "test", Kind: "file", Name: "huge.bin", MaxSize: 10,
		Fetch: func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
			return sized{Reader: readerFunc(func([]byte) (int, error) { read = true; return 0, io.EOF }), size: 1 << 40}, nil
		}}
	w := httptest.NewRecorder()
	err := f.c.Serve(w, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/huge.bin", nil), a)
	if Status(err) != http.StatusBadGateway || !errors.Is(err, ErrRefused) {
		t.Fatalf("got %v (status %d), want a refusal", err, Status(err))
	}
	if read {
		t.Error("the body was read although its announced size is over the limit")
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

type sized struct {
	io.Reader
	size int64
}

func (s sized) Size() int64  { return s.size }
func (s sized) Close() error { return nil }

func TestMetadataStaleWhenUpstreamFailsOrHangs(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.StaleGrace = 50 * time.Millisecond })
	f.up.set("meta/list", []byte("one\n"))
	h := func(ttl time.Duration, path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		f.handler(ttl).ServeHTTP(w, httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))
		return w
	}
	if w := h(time.Hour, "/meta/list"); w.Code != 200 || w.Body.String() != "one\n" || w.Header().Get("Cache-Control") != "public, max-age=3600" {
		t.Fatalf("first: got %d %q %v", w.Code, w.Body, w.Header())
	}

	t.Run("upstream fails", func(t *testing.T) {
		f.up.setErr(errors.New("connection refused"))
		defer f.up.setErr(nil)
		w := h(time.Nanosecond, "/meta/list")
		if w.Code != 200 || w.Body.String() != "one\n" || w.Header().Get(StaleHeader) != "true" {
			t.Errorf("got %d %q stale=%q, want the stored copy marked stale", w.Code, w.Body, w.Header().Get(StaleHeader))
		}
	})
	t.Run("upstream hangs", func(t *testing.T) {
		gate := make(chan struct{})
		f.up.mu.Lock()
		f.up.gate = gate
		f.up.mu.Unlock()
		f.up.set("meta/list", []byte("one\ntwo\n"))
		w := h(time.Nanosecond, "/meta/list")
		if w.Code != 200 || w.Body.String() != "one\n" || w.Header().Get(StaleHeader) != "true" {
			t.Errorf("got %d %q stale=%q, want the stored copy marked stale at once", w.Code, w.Body, w.Header().Get(StaleHeader))
		}
		f.up.mu.Lock()
		f.up.gate = nil
		f.up.mu.Unlock()
		close(gate)
		// The refresh went on in the background.
		eventually(t, "the background refresh", func() bool {
			rc, err := f.store.Get(t.Context(), "meta/list")
			if err != nil {
				return false
			}
			defer rc.Close()
			b, _ := io.ReadAll(rc)
			return string(b) == "one\ntwo\n"
		})
		eventually(t, "the refresh to end", func() bool {
			f.c.mu.Lock()
			defer f.c.mu.Unlock()
			return len(f.c.flying) == 0
		})
	})
	t.Run("not modified restarts the TTL", func(t *testing.T) {
		// Wait for the revalidation however slow the machine: this case is
		// about its outcome, not about the grace time.
		f.c.cfg.StaleGrace = time.Hour
		before := f.up.count("meta/list")
		w := h(time.Nanosecond, "/meta/list")
		if w.Code != 200 || w.Header().Get(StaleHeader) != "" || w.Body.String() != "one\ntwo\n" {
			t.Fatalf("got %d %q stale=%q", w.Code, w.Body, w.Header().Get(StaleHeader))
		}
		if got := f.up.count("meta/list") - before; got != 1 {
			t.Errorf("revalidations: got %d, want 1", got)
		}
		if w := h(time.Hour, "/meta/list"); w.Code != 200 || f.up.count("meta/list")-before != 1 {
			t.Errorf("after a 304 the copy is fresh again: got %d with %d fetches", w.Code, f.up.count("meta/list")-before)
		}
	})
	if got := testutil.ToFloat64(f.m.StaleServed.WithLabelValues("test", "meta")); got != 2 {
		t.Errorf("stale answers counted: got %v, want 2", got)
	}
}

// fullStore fails every write as a full disk does.
type fullStore struct{ store.Store }

func (fullStore) Put(context.Context, string, io.Reader) error {
	return &fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}
}

func TestFullStoreIs507(t *testing.T) {
	st, err := disk.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := newFixtureOn(t, fullStore{st}, nil)
	f.add("f.bin", []byte("data"))
	w := f.get(t, t.Context(), "/f.bin")
	if w.Code != http.StatusInsufficientStorage || !strings.Contains(w.Body.String(), "storage is full") {
		t.Errorf("got %d %q, want 507 saying the mirror's storage is full", w.Code, w.Body)
	}
	if got := testutil.ToFloat64(f.m.StoreWriteFailures.WithLabelValues("full")); got != 1 {
		t.Errorf("write failures counted: got %v, want 1", got)
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{fmt.Errorf("%w: x", ErrBadRequest), 400},
		{NotFound("gone"), 404},
		{fs.ErrPermission, 403},
		{fmt.Errorf("%w: 4 fills", ErrTooManyRequests), 429},
		{fmt.Errorf("%w: bad", ErrRefused), 502},
		{fmt.Errorf("%w: down", ErrUpstream), 502},
		{fmt.Errorf("reading: %w", os.ErrDeadlineExceeded), 504},
		{fmt.Errorf("%w: disk", store.ErrFull), 507},
		{fmt.Errorf("%w: x", errStorage), 503},
		{fmt.Errorf("reading: %w", context.Canceled), StatusClientClosed},
		{errStalled, 504},
		{errors.New("bug"), 500},
	}
	for _, tt := range tests {
		if got := Status(tt.err); got != tt.want {
			t.Errorf("Status(%v): got %d, want %d", tt.err, got, tt.want)
		}
		if r := Reason(tt.err); r == "" || strings.Contains(r, "\n") {
			t.Errorf("Reason(%v) = %q, want one line", tt.err, r)
		}
	}
	if got := Reason(errors.New("/secret/path: bug")); got != "internal error" {
		t.Errorf("Reason of an internal error: got %q, want %q", got, "internal error")
	}
}
