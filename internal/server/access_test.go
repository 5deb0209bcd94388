package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/gomirror/gomirror/internal/access"
	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/npm"
	"github.com/gomirror/gomirror/internal/oci"
	"github.com/gomirror/gomirror/internal/pypi"
	"github.com/gomirror/gomirror/internal/testca"
)

// accessFiles writes a tokens file (alice: gm_alice) and a rules file
// that gives example.com/hello to alice alone and everything else to
// everyone, and returns an edit that uses them with an audit log.
func accessFiles(t *testing.T) (edit func(*config.Config), auditLog string) {
	t.Helper()
	dir := t.TempDir()
	tokens, rules, audit := filepath.Join(dir, "tokens"), filepath.Join(dir, "rules.yaml"), filepath.Join(dir, "audit.log")
	os.WriteFile(tokens, []byte("alice "+access.HashToken("gm_alice")+"\n"), 0o600)
	hash, err := bcrypt.GenerateFromPassword([]byte("wonderland"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(dir, "htpasswd")
	os.WriteFile(htpasswd, []byte("alice:"+string(hash)+"\n"), 0o600)
	os.WriteFile(rules, []byte(`
rules:
  - users: [alice]
    ecosystem: go
    paths: [example.com/hello]
    allow: true
  - paths: [example.com/hello]
    allow: false
  - groups: [all]
    allow: true
`), 0o600)
	return func(c *config.Config) {
		c.Access.Tokens, c.Access.Rules, c.Access.AuditLog, c.Access.Htpasswd = tokens, rules, audit, htpasswd
	}, audit
}

func get(t *testing.T, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), "GET", url, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func auditEvents(t *testing.T, file string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for line := range strings.Lines(string(data)) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("audit line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func TestAccessGoProxy(t *testing.T) {
	edit, audit := accessFiles(t)
	_, ts := newTestServer(t, edit)
	zip := "/example.com/hello/@v/v1.0.0.zip"
	bearer := []string{"Authorization", "Bearer gm_alice"}

	// Alice fills it, and it goes into the memory cache of hot files.
	for range 2 {
		if resp, body := get(t, ts.URL+zip, bearer...); resp.StatusCode != 200 {
			t.Fatalf("alice: got %d (%s), want 200", resp.StatusCode, body)
		}
	}
	resp, content := get(t, ts.URL+zip, bearer...)
	if resp.StatusCode != 200 || len(content) == 0 {
		t.Fatalf("alice again: got %d", resp.StatusCode)
	}
	tests := []struct {
		name, path string
		hdr        []string
		code       int
	}{
		{"anonymous", zip, nil, 401},
		{"wrong token", zip, []string{"Authorization", "Bearer gm_mallory"}, 401},
		{"token in query", zip + "?token=gm_alice", nil, 400},
		{"token in query with header", zip + "?access_token=gm_alice", bearer, 400},
		{"case encoding", "/example.com/!hello/@v/v1.0.0.zip", nil, 401},
		{"escaped case encoding", "/example.com/%21hello/@v/v1.0.0.zip", nil, 401},
		{"traversal", "/example.com/x/../hello/@v/v1.0.0.zip", nil, 400},
		{"escaped traversal", "/example.com/x/%2e%2e/hello/@v/v1.0.0.zip", nil, 400},
		{"escaped slash", "/example.com%2fhello/@v/v1.0.0.zip", nil, 400},
		{"double escaping", "/example.com/hello%252f/@v/v1.0.0.zip", nil, 400},
		{"upper-case host", "/Example.com/hello/@v/v1.0.0.zip", nil, 400},
		{"backslash", "/example.com\\hello/@v/v1.0.0.zip", nil, 400},
		{"list", "/example.com/hello/@v/list", nil, 401},
		{"latest", "/example.com/hello/@latest", nil, 401},
		{"submodule", "/example.com/hello/sub/@v/list", nil, 401},
		{"malformed header", zip, []string{"Authorization", "Basic !!"}, 401},
		{"huge header", zip, []string{"Authorization", "Bearer " + strings.Repeat("a", 8<<10)}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, ts.URL+tt.path, tt.hdr...)
			if resp.StatusCode != tt.code {
				t.Errorf("got %d (%s), want %d", resp.StatusCode, body, tt.code)
			}
			if strings.Contains(body, content[:64]) || len(body) > 200 {
				t.Errorf("a refusal holds content: %d bytes", len(body))
			}
			if tt.code == 401 && resp.Header.Get("WWW-Authenticate") != `Basic realm="gomirror", charset="UTF-8"` {
				t.Errorf("challenge: got %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	// Alice's password works as well as her token.
	req, _ := http.NewRequest("GET", ts.URL+zip, nil)
	req.SetBasicAuth("alice", "wonderland")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Errorf("alice's password: %v %v", resp.Status, err)
	} else {
		resp.Body.Close()
	}
	// Public content stays public, and the checksum database too.
	if resp, body := get(t, ts.URL+"/sumdb/sum.example.test/supported"); resp.StatusCode != 200 {
		t.Errorf("sumdb: got %d (%s)", resp.StatusCode, body)
	}
	if resp, _ := get(t, ts.URL+"/healthz"); resp.StatusCode != 200 {
		t.Errorf("healthz: got %d", resp.StatusCode)
	}

	var failed, denied, queried int
	for _, e := range auditEvents(t, audit) {
		switch e["event"] {
		case access.EventAuthFailed:
			failed++
		case access.EventDenied:
			denied++
		case access.EventQueryRefused:
			queried++
		}
		if b, _ := json.Marshal(e); strings.Contains(string(b), "gm_alice") || strings.Contains(string(b), "gm_mallory") {
			t.Errorf("an audit event holds a token: %s", b)
		}
	}
	if failed != 3 || denied < 6 || queried != 2 {
		t.Errorf("audit events: %d failures, %d denials, %d refused queries; want 3, at least 6, 2", failed, denied, queried)
	}
}

func TestAccessPrivateNeedsARule(t *testing.T) {
	edit, _ := accessFiles(t)
	tests := []struct {
		name    string
		listen  string
		private string
		rules   bool
		wantErr string
	}{
		{"all interfaces, no rules", ":8080", "corp.example.com", false, `private: modules matching "corp.example.com" would be served to anyone who can reach :8080`},
		{"all interfaces, rules not naming it", "0.0.0.0:8080", "example.com/hello,corp.example.com/*", true, `private: modules matching "corp.example.com/*"`},
		{"all interfaces, rules naming it", ":8080", "example.com/hello", true, ""},
		{"loopback, no rules", "127.0.0.1:8080", "corp.example.com", false, ""},
		{"localhost, no rules", "localhost:8080", "corp.example.com", false, ""},
		{"ipv6 loopback", "[::1]:8080", "corp.example.com", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default(func(string) string { return "" })
			cfg.Data, cfg.Listen, cfg.Private, cfg.Upstream = t.TempDir(), tt.listen, tt.private, "off"
			if tt.rules {
				edit(&cfg)
			}
			s, err := New(t.Context(), cfg, slog.New(slog.DiscardHandler), nil)
			if err == nil {
				s.Close()
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.HasPrefix(err.Error(), tt.wantErr)):
				t.Errorf("got %v, want an error starting %q", err, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), "--access-rules") || tt.wantErr != "" && !strings.Contains(err.Error(), "loopback"):
				t.Errorf("the error does not name the fixes: %v", err)
			}
		})
	}
}

// TestAccessTLSReloadAndOps serves HTTPS with HTTP/2, rotates the
// certificate while serving, and keeps the operations endpoints on their
// own listener.
func TestAccessTLSReloadAndOps(t *testing.T) {
	ca := testca.New(t)
	dir := t.TempDir()
	certFile, keyFile := ca.WriteLeaf(t, dir, "first")
	ops, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	opsAddr := ops.Addr().String()
	ops.Close()
	s, _ := newTestServer(t, func(c *config.Config) {
		c.Access.TLSCert, c.Access.TLSKey, c.Access.OpsListen = certFile, keyFile, opsAddr
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	base := "https://" + ln.Addr().String()

	// fetch makes a new connection and returns the status, protocol and
	// the name on the server's certificate.
	fetch := func(url string) (int, string, string) {
		t.Helper()
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get(url)
		if err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Proto, resp.TLS.PeerCertificates[0].Subject.CommonName
	}
	code, proto, cn := fetch(base + "/example.com/hello/@v/v1.0.0.mod")
	if code != 200 || proto != "HTTP/2.0" || cn != "first" {
		t.Errorf("got %d over %s from %q, want 200 over HTTP/2.0 from first", code, proto, cn)
	}
	if code, _, _ := fetch(base + "/metrics"); code != 404 {
		t.Errorf("/metrics on the main listener: got %d, want 404", code)
	}
	resp, body := get(t, "http://"+opsAddr+"/metrics")
	if resp.StatusCode != 200 || !strings.Contains(body, "gomirror_requests_total") {
		t.Errorf("/metrics on the operations listener: got %d", resp.StatusCode)
	}
	if resp, _ := get(t, "http://"+opsAddr+"/example.com/hello/@v/list"); resp.StatusCode != 404 {
		t.Errorf("a module on the operations listener: got %d, want 404", resp.StatusCode)
	}

	// Rotate the certificate: new connections see the new one within a
	// few seconds, without a restart.
	ca.WriteLeaf(t, dir, "second")
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, _, cn := fetch(base + "/healthz")
		if code != 404 {
			t.Fatalf("/healthz on the main listener: got %d, want 404", code)
		}
		if cn == "second" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("still served %q 30s after the rotation", cn)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestClassifier checks the subject the server names for each route,
// including those of the ecosystems still to come, by their prefixes.
func TestClassifier(t *testing.T) {
	h := http.NotFoundHandler()
	rt := &router{routes: []route{
		{prefix: "/sumdb/", ecosystem: "sumdb", handler: h},
		{prefix: "/golang/", ecosystem: "golang", handler: h, subject: trimPrefix("/golang/")},
		{prefix: "/vuln/", ecosystem: "vuln", handler: h, subject: trimPrefix("/vuln/")},
		{prefix: "/v2/", ecosystem: "oci", handler: h, subject: ociSubject(""),
			private: ociPrivate([]oci.Registry{{Host: "ghcr.io", Username: "u"}}, parsePublic("oci:ghcr.io/corp/public"))},
		{prefix: "/pypi/", ecosystem: "pypi", handler: h, subject: pypi.Subject},
		{prefix: "/npm/", ecosystem: "npm", handler: h, subject: npm.Subject,
			private: npmPrivate(map[string]npm.Upstream{"@corp": {URL: "https://npm.corp/", Token: "t"}, "@open": {URL: "https://npm.open/"}}, npm.Upstream{}, parsePublic(""))},
	}, goproxy: h, ops: h}
	classify := classifier(rt, "corp.example.com,*.internal.example,github.com/corp")
	tests := []struct {
		path string
		want access.Subject
	}{
		{"/healthz", access.Subject{Ecosystem: access.EcosystemHealth}},
		{"/metrics", access.Subject{Ecosystem: access.EcosystemOps, Name: "metrics"}},
		{"/-/jobs/go/run", access.Subject{Ecosystem: access.EcosystemAdmin, Name: "jobs/go/run"}},
		{"/corp.example.com/lib/@v/list", access.Subject{Ecosystem: "go", Name: "corp.example.com/lib", Private: true}},
		{"/corp.example.com/!lib/@v/list", access.Subject{Ecosystem: "go", Name: "corp.example.com/Lib", Private: true}},
		{"/git.internal.example/x/@latest", access.Subject{Ecosystem: "go", Name: "git.internal.example/x", Private: true}},
		{"/golang.org/x/text/@v/list", access.Subject{Ecosystem: "go", Name: "golang.org/x/text"}},
		{"/corp.example.com/%2e%2e/x/@v/list", access.Subject{Ecosystem: "go", Invalid: true}},
		{"/sumdb/sum.golang.org/lookup/corp.example.com/lib@v1.0.0", access.Subject{Ecosystem: "sumdb"}},
		{"/golang/go1.22.0.linux-amd64.tar.gz", access.Subject{Ecosystem: "golang", Name: "go1.22.0.linux-amd64.tar.gz"}},
		{"/vuln/ID/GO-2024-0001.json", access.Subject{Ecosystem: "vuln", Name: "ID/GO-2024-0001.json"}},
		{"/v2/", access.Subject{Ecosystem: "oci", Probe: true}},
		{"/v2/alpine/manifests/3", access.Subject{Ecosystem: "oci", Name: "docker.io/library/alpine"}},
		{"/v2/ghcr.io/corp/app/blobs/sha256:" + strings.Repeat("0", 64), access.Subject{Ecosystem: "oci", Name: "ghcr.io/corp/app", Private: true}},
		{"/v2/ghcr.io/corp/public/manifests/v1", access.Subject{Ecosystem: "oci", Name: "ghcr.io/corp/public"}},
		{"/v2/quay.io/corp/app/manifests/v1", access.Subject{Ecosystem: "oci", Name: "quay.io/corp/app"}},
		{"/v2/ghcr.io/Corp/app/manifests/v1", access.Subject{Ecosystem: "oci", Invalid: true}},
		{"/github.com/!corp/x/@v/list", access.Subject{Ecosystem: "go", Name: "github.com/Corp/x", Private: true}},
		{"/pypi/simple/Corp.Secret/", access.Subject{Ecosystem: "pypi", Name: "corp-secret"}},
		{"/npm/@corp%2fsecret", access.Subject{Ecosystem: "npm", Name: "@corp/secret", Private: true}},
		{"/npm/@CORP/secret/-/secret-1.0.0.tgz", access.Subject{Ecosystem: "npm", Name: "@CORP/secret", Private: true}},
		{"/npm/-/package/@Corp/secret/dist-tags", access.Subject{Ecosystem: "npm", Name: "@Corp/secret", Private: true}},
		{"/npm/@open/x", access.Subject{Ecosystem: "npm", Name: "@open/x"}},
		{"/npm/left-pad", access.Subject{Ecosystem: "npm", Name: "left-pad"}},
		{"/npm%2F@corp/secret", access.Subject{Ecosystem: "npm", Invalid: true}},
		{"/pypi%2fsimple/corp-secret/", access.Subject{Ecosystem: "pypi", Invalid: true}},
		{"/v2", access.Subject{Ecosystem: "oci", Probe: true}},
	}
	for _, tt := range tests {
		r, err := http.NewRequest("GET", "http://mirror"+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := classify(r); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.path, got, tt.want)
		}
	}
}

func TestAccessHugeHeaders(t *testing.T) {
	edit, _ := accessFiles(t)
	_, ts := newTestServer(t, edit)
	resp, body := get(t, ts.URL+"/example.com/hello/@v/list", "Authorization", "Bearer "+strings.Repeat("a", 2<<20))
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 2 MiB header: got %d (%.80s), want 431", resp.StatusCode, body)
	}
}

func TestAccessRateLimit(t *testing.T) {
	_, ts := newTestServer(t, func(c *config.Config) { c.Access.RateLimit = "3/h" })
	var last *http.Response
	var body string
	for range 4 {
		last, body = get(t, ts.URL+"/example.com/hello/@v/list")
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" ||
		last.Header.Get("Content-Type") != "text/plain; charset=utf-8" || !strings.HasPrefix(body, "too many requests") {
		t.Errorf("fourth request: got %d, Retry-After %q, %q; want a plain-text 429 with Retry-After", last.StatusCode, last.Header.Get("Retry-After"), body)
	}
	if resp, _ := get(t, ts.URL+"/healthz"); resp.StatusCode != 200 {
		t.Errorf("health while throttled: got %d, want 200", resp.StatusCode)
	}
}
