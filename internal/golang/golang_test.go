package golang_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gomirror/gomirror/internal/golang"
	"github.com/gomirror/gomirror/internal/golang/golangtest"
	"github.com/gomirror/gomirror/internal/metrics"
	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/store/disk"
)

type fixture struct {
	up    *golangtest.Upstream
	srv   *httptest.Server
	m     *metrics.Metrics
	h     http.Handler
	store *disk.Store
}

func newFixture(t *testing.T, ttl time.Duration) *fixture {
	t.Helper()
	up := golangtest.NewUpstream(t)
	st, err := disk.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := metrics.New(nil)
	cache, err := pull.New(pull.Config{Store: st, TempDir: t.TempDir(), Metrics: m, StaleGrace: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h, err := golang.New(golang.Config{
		Cache:    cache,
		IndexURL: up.URL + "/dl/?mode=json&include=all",
		BaseURL:  up.URL + "/go/",
		TTL:      ttl,
		Upstream: &pull.HTTPUpstream{Client: up.Client()},
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { cache.Shutdown(t.Context()) })
	return &fixture{up: up, srv: srv, m: m, h: h, store: st}
}

func (f *fixture) get(t *testing.T, path string) (int, []byte, http.Header) {
	t.Helper()
	resp, err := f.srv.Client().Get(f.srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading: %v", path, err)
	}
	return resp.StatusCode, body, resp.Header
}

func (f *fixture) stored(t *testing.T, file string) bool {
	rc, err := f.store.Get(t.Context(), "golang/dl/"+file)
	if err != nil {
		return false
	}
	rc.Close()
	return true
}

func TestColdFillAndWarmHitsWithUpstreamDown(t *testing.T) {
	f := newFixture(t, time.Hour)
	file := "go1.99.1.linux-amd64.tar.gz"
	want := f.up.File(file)
	code, body, hdr := f.get(t, "/golang/"+file)
	if code != 200 || !bytes.Equal(body, want) {
		t.Fatalf("cold fill: got %d and %d bytes, want 200 and %d", code, len(body), len(want))
	}
	if hdr.Get("Content-Type") != "application/gzip" {
		t.Errorf("Content-Type: got %q", hdr.Get("Content-Type"))
	}
	f.up.SetDown(true)
	for i := range 2 {
		code, body, hdr = f.get(t, "/golang/"+file)
		if code != 200 || !bytes.Equal(body, want) || hdr.Get("ETag") == "" {
			t.Fatalf("warm hit %d with the upstream down: got %d, %d bytes, ETag %q", i, code, len(body), hdr.Get("ETag"))
		}
	}
	if got := f.up.Count("/go/" + file); got != 1 {
		t.Errorf("upstream fetches of the archive: got %d, want 1", got)
	}
}

func TestSHA256Files(t *testing.T) {
	f := newFixture(t, time.Hour)
	for _, file := range []string{"go1.99.1.linux-amd64.tar.gz", "go1.99.1.src.tar.gz", "go1.99.1.windows-amd64.zip"} {
		sum := sha256.Sum256(f.up.File(file))
		code, body, _ := f.get(t, "/golang/"+file+".sha256")
		if code != 200 || string(body) != hex.EncodeToString(sum[:]) {
			t.Errorf("%s.sha256: got %d %q, want 200 %x", file, code, body, sum)
		}
	}
	if code, _, _ := f.get(t, "/golang/go1.99.1.plan9-mips.tar.gz.sha256"); code != 404 {
		t.Errorf("sha256 of a file not in the index: got %d, want 404", code)
	}
}

func TestTamperedArchiveRefusedAndNotStored(t *testing.T) {
	f := newFixture(t, time.Hour)
	file := "go1.99.1.linux-amd64.tar.gz"
	good := f.up.File(file)
	bad := bytes.Clone(good)
	bad[10] ^= 0xff
	f.up.Tamper(file, bad)
	code, body, _ := f.get(t, "/golang/"+file)
	if code != http.StatusBadGateway {
		t.Fatalf("got %d %q, want 502", code, body)
	}
	goodSum, badSum := sha256.Sum256(good), sha256.Sum256(bad)
	if !strings.Contains(string(body), hex.EncodeToString(goodSum[:])) {
		t.Errorf("refusal %q does not name the expected %x", body, goodSum)
	}
	// The digest of what came is not shown (see pull's mismatch).
	if strings.Contains(string(body), hex.EncodeToString(badSum[:])) {
		t.Errorf("refusal %q names the digest of the refused body", body)
	}
	if f.stored(t, file) {
		t.Error("the tampered archive was stored")
	}
	if got := testutil.ToFloat64(f.m.VerifyFailures.WithLabelValues("golang", "archive")); got != 1 {
		t.Errorf("verify failures: got %v, want 1", got)
	}
}

func TestUnknownNameIs404(t *testing.T) {
	f := newFixture(t, time.Hour)
	code, body, _ := f.get(t, "/golang/go1.5.0.linux-amd64.tar.gz")
	if code != 404 || !strings.Contains(string(body), "not in the release index") {
		t.Errorf("got %d %q, want 404 saying the file is not in the index", code, body)
	}
	if got := f.up.Count("/go/go1.5.0.linux-amd64.tar.gz"); got != 0 {
		t.Errorf("a name not in the index was fetched %d times", got)
	}
}

func TestIndex(t *testing.T) {
	f := newFixture(t, time.Hour)
	code, body, _ := f.get(t, "/golang/?mode=json&include=all")
	if code != 200 {
		t.Fatalf("include=all: got %d", code)
	}
	var all []golang.Release
	if err := json.Unmarshal(body, &all); err != nil {
		t.Fatal(err)
	}
	if len(all) != len(f.up.Releases()) {
		t.Errorf("include=all: got %d releases, want %d", len(all), len(f.up.Releases()))
	}
	fl := all[0].Files[0]
	if fl.Filename == "" || fl.SHA256 == "" || fl.Size == 0 || fl.OS == "" || fl.Kind == "" || fl.Version == "" {
		t.Errorf("a file entry lacks fields: %+v", fl)
	}
	code, body, _ = f.get(t, "/golang/?mode=json")
	var sup []golang.Release
	if err := json.Unmarshal(body, &sup); code != 200 || err != nil {
		t.Fatalf("mode=json: got %d, %v", code, err)
	}
	var vs []string
	for _, r := range sup {
		vs = append(vs, r.Version)
		if !r.Stable {
			t.Errorf("mode=json lists the unstable %s", r.Version)
		}
	}
	if fmt.Sprint(vs) != "[go1.99.1 go1.98.2]" {
		t.Errorf("mode=json: got %v, want the newest patch of the two newest minors", vs)
	}
	code, body, hdr := f.get(t, "/golang/")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(string(body), `href="go1.99.1.linux-amd64.tar.gz"`) {
		t.Errorf("HTML listing: got %d %q", code, hdr.Get("Content-Type"))
	}
	if got := f.up.Count("/dl/"); got != 1 {
		t.Errorf("index fetches within the TTL: got %d, want 1", got)
	}
}

func TestStaleIndex(t *testing.T) {
	f := newFixture(t, time.Nanosecond)
	if code, _, _ := f.get(t, "/golang/?mode=json&include=all"); code != 200 {
		t.Fatalf("first index: got %d", code)
	}
	f.up.SetDown(true)
	code, body, hdr := f.get(t, "/golang/?mode=json&include=all")
	if code != 200 || hdr.Get(pull.StaleHeader) != "true" || !json.Valid(body) {
		t.Errorf("index with the upstream down: got %d, stale header %q", code, hdr.Get(pull.StaleHeader))
	}
	// The archive is still checked against the stale index.
	file := "go1.99.1.darwin-arm64.tar.gz"
	f.up.SetDown(false)
	f.up.SetIndexDown(true)
	if code, body, _ := f.get(t, "/golang/"+file); code != 200 || !bytes.Equal(body, f.up.File(file)) {
		t.Errorf("archive with the index upstream down: got %d", code)
	}
}

func TestBadNames(t *testing.T) {
	f := newFixture(t, time.Hour)
	for _, p := range []string{
		"/golang/../etc/passwd",
		"/golang/go1.22.0.linux-amd64.tar.gz/../../x",
		"/golang/go1.22.0.linux-amd64.exe",
		"/golang/index.json",
		"/golang/%2e%2e/x",
		"/golang/go1.22.0.linux-amd64.tar.gz.sha512",
		"/golang/" + strings.Repeat("a", 3000),
	} {
		r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/", nil)
		r.URL.Path = p
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest || strings.Count(strings.TrimSpace(w.Body.String()), "\n") != 0 {
			t.Errorf("%s: got %d %q, want 400 with one line", p[:min(len(p), 60)], w.Code, w.Body)
		}
	}
	if got := f.up.Total(); got != 0 {
		t.Errorf("upstream requests for bad names: got %d, want 0", got)
	}
}

func TestConcurrentMissesOneFetch(t *testing.T) {
	f := newFixture(t, time.Hour)
	file := "go1.99.1.linux-amd64.tar.gz"
	var wg sync.WaitGroup
	errs := make(chan string, 50)
	for range 50 {
		wg.Go(func() {
			resp, err := f.srv.Client().Get(f.srv.URL + "/golang/" + file)
			if err != nil {
				errs <- err.Error()
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 200 || !bytes.Equal(b, f.up.File(file)) {
				errs <- fmt.Sprintf("got %d and %d bytes", resp.StatusCode, len(b))
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := f.up.Count("/go/" + file); got != 1 {
		t.Errorf("upstream fetches: got %d, want 1", got)
	}
}

func FuzzServeNames(f *testing.F) {
	for _, s := range []string{"go1.22.0.linux-amd64.tar.gz", "go1.22.0.src.tar.gz.sha256", "../x", "go1.22rc1.windows-386.msi", ""} {
		f.Add(s)
	}
	up := golangtest.NewUpstream(f)
	st, err := disk.New(f.TempDir(), nil)
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	cache, err := pull.New(pull.Config{Store: st, TempDir: f.TempDir()})
	if err != nil {
		f.Fatal(err)
	}
	h, err := golang.New(golang.Config{Cache: cache, IndexURL: up.URL + "/dl/", BaseURL: up.URL + "/go/", Upstream: &pull.HTTPUpstream{Client: up.Client()}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, name string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL.Path = "/golang/" + name
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 && w.Code != http.StatusBadGateway {
			t.Errorf("%q: got %d %q", name, w.Code, w.Body)
		}
	})
}
