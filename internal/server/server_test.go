package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/pull/pulltest"
	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
)

func newTestServer(t *testing.T, edit func(*config.Config)) (*Server, *httptest.Server) {
	t.Helper()
	return newServerWithEnv(t, nil, edit)
}

// newServerWithEnv serves a Server over a fake module proxy and checksum
// database, with cfg edited by edit and env as its environment.
func newServerWithEnv(t *testing.T, env []string, edit func(*config.Config)) (*Server, *httptest.Server) {
	t.Helper()
	mod := sumdbtest.NewModule(t, "example.com/hello", "v1.0.0", nil)
	db := sumdbtest.NewDB(t, "sum.example.test", mod)
	up := sumdbtest.NewProxy(t, nil, mod)
	cfg := config.Default(func(string) string { return "" })
	cfg.Data = t.TempDir()
	cfg.Upstream = up.URL
	cfg.SumDB = db.Key + " " + db.URL
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(t.Context(), cfg, slog.New(slog.DiscardHandler), env)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return s, ts
}

func do(t *testing.T, method, url string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, url, nil)
	resp, err := http.DefaultTransport.RoundTrip(req) // No redirects followed.
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestEndpoints(t *testing.T) {
	_, ts := newTestServer(t, nil)
	// Fill a file so that the metrics have something to say.
	if resp, body := do(t, "GET", ts.URL+"/example.com/hello/@v/v1.0.0.mod"); resp.StatusCode != 200 {
		t.Fatalf("GET .mod: got %d (%s), want 200", resp.StatusCode, body)
	}
	tests := []struct {
		method, path string
		code         int
		bodyHas      string
	}{
		{"GET", "/healthz", 200, "ok"},
		{"GET", "/readyz", 200, "store: ok"},
		{"GET", "/metrics", 200, `gomirror_requests_total{code="200",ecosystem="go",kind="mod"} 1`},
		{"GET", "/metrics", 200, `gomirror_upstream_fetches_total{kind="mod",result="ok"} 1`},
		{"GET", "/metrics", 200, `gomirror_store_lookups_total{ecosystem="go",kind="mod",result="miss"} 1`},
		{"GET", "/metrics", 200, `gomirror_fills_total{ecosystem="go",kind="mod",result="ok"} 1`},
		{"GET", "/metrics", 200, "gomirror_upstream_fetch_duration_seconds_bucket"},
		{"GET", "/metrics", 200, "gomirror_served_bytes_total"},
		{"GET", "/metrics", 200, "gomirror_upstream_fetches_in_flight 0"},
		{"POST", "/example.com/hello/@v/v1.0.0.mod", 405, "method POST not allowed"},
		{"PUT", "/healthz", 405, "not allowed"},
		{"DELETE", "/sumdb/sum.example.test/latest", 405, "not allowed"},
		{"GET", "/example.com/x/../../etc/passwd/@v/list", 400, "bad request"},
		{"GET", "/./example.com/hello/@v/list", 400, "bad request"},
		{"GET", "/sumdb/unknown.example/latest", 404, ""},
		{"HEAD", "/example.com/hello/@v/v1.0.0.mod", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			resp, body := do(t, tt.method, ts.URL+tt.path)
			if resp.StatusCode != tt.code {
				t.Fatalf("got status %d (%q), want %d", resp.StatusCode, body, tt.code)
			}
			if !strings.Contains(body, tt.bodyHas) {
				t.Errorf("body lacks %q:\n%s", tt.bodyHas, body)
			}
			if tt.code == 405 && resp.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow: got %q, want %q", resp.Header.Get("Allow"), "GET, HEAD")
			}
		})
	}
}

func TestReadyzFailsWhenStoreIsNotWritable(t *testing.T) {
	s, ts := newTestServer(t, nil)
	tmp := filepath.Join(s.cfg.Data, ".tmp")
	if err := os.RemoveAll(tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	resp, body := do(t, "GET", ts.URL+"/readyz")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "store: not ready") {
		t.Errorf("got %d (%q), want 503 saying the store is not ready", resp.StatusCode, body)
	}
}

func TestSumDBOff(t *testing.T) {
	_, ts := newTestServer(t, func(c *config.Config) { c.SumDB = "off" })
	resp, body := do(t, "GET", ts.URL+"/sumdb/sum.golang.org/supported")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("got %d (%q), want 404", resp.StatusCode, body)
	}
	// Without a database the structural checks still apply, and good files
	// are served.
	if resp, body := do(t, "GET", ts.URL+"/example.com/hello/@v/v1.0.0.zip"); resp.StatusCode != 200 {
		t.Errorf("zip with the checksum database off: got %d (%q), want 200", resp.StatusCode, body)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	cfg := config.Default(func(string) string { return "" })
	cfg.Data = t.TempDir()
	cfg.Upstream = "ftp://nope"
	if _, err := New(t.Context(), cfg, slog.New(slog.DiscardHandler), nil); err == nil || !strings.Contains(err.Error(), "upstream") {
		t.Errorf("got %v, want an error naming upstream", err)
	}
}

func TestRedisPrefixNamesTheStore(t *testing.T) {
	cfg := func(storage, data string) config.Config {
		c := config.Default(func(string) string { return "" })
		c.Storage, c.Data = storage, data
		return c
	}
	same := [][2]config.Config{
		{cfg("s3://b/p?endpoint=http://s3:9000&region=r", "/a"), cfg("s3://b/p?region=r&endpoint=http://s3:9000", "/b")},
		{cfg("", "/srv/gomirror"), cfg("", "/srv/gomirror")},
	}
	for _, p := range same {
		if a, b := redisPrefix(p[0]), redisPrefix(p[1]); a != b {
			t.Errorf("replicas of one store: got prefixes %q and %q, want the same", a, b)
		}
	}
	differ := [][2]config.Config{
		{cfg("s3://edge?endpoint=http://s3:9000", "/a"), cfg("s3://origin?endpoint=http://s3:9000", "/a")},
		{cfg("s3://b/p1?endpoint=http://s3:9000", "/a"), cfg("s3://b/p2?endpoint=http://s3:9000", "/a")},
		{cfg("", "/srv/edge"), cfg("", "/srv/origin")},
	}
	for _, p := range differ {
		if a, b := redisPrefix(p[0]), redisPrefix(p[1]); a == b {
			t.Errorf("different stores %q and %q: got the same prefix %q", p[0].Storage+p[0].Data, p[1].Storage+p[1].Data, a)
		}
	}
}

func TestAccessLog(t *testing.T) {
	var buf pulltest.Buffer
	mod := sumdbtest.NewModule(t, "example.com/hello", "v1.0.0", nil)
	cfg := config.Default(func(string) string { return "" })
	cfg.Data = t.TempDir()
	cfg.Upstream = sumdbtest.NewProxy(t, nil, mod).URL
	cfg.SumDB = "off"
	s, err := New(t.Context(), cfg, slog.New(slog.NewJSONHandler(&buf, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	do(t, "GET", ts.URL+"/example.com/hello/@v/v1.0.0.mod")
	var found bool
	for line := range strings.SplitSeq(buf.String(), "\n") {
		if strings.Contains(line, `"msg":"request"`) && strings.Contains(line, `"path":"/example.com/hello/@v/v1.0.0.mod"`) &&
			strings.Contains(line, `"kind":"mod"`) && strings.Contains(line, `"status":200`) && strings.Contains(line, `"bytes":`) {
			found = true
		}
	}
	if !found {
		t.Errorf("no access log line for the request in:\n%s", buf.String())
	}
}
