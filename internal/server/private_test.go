package server

import (
	"encoding/base64"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/access"
	"github.com/gomirror/gomirror/internal/config"
)

// newEnvServer is newTestServer with an environment, for the upstream
// tokens that only ever come from it.
func newEnvServer(t *testing.T, env []string, edit func(*config.Config)) *httptest.Server {
	t.Helper()
	_, ts := newServerWithEnv(t, env, edit)
	return ts
}

// TestPrivateUpstreams checks that content fetched with credentials is
// served only to those a rule allows, in each protocol's error format,
// unless its upstream is declared public.
func TestPrivateUpstreams(t *testing.T) {
	dir := t.TempDir()
	authFile := filepath.Join(dir, "auth.json")
	os.WriteFile(authFile, []byte(`{"auths":{"ghcr.io":{"auth":"`+base64.StdEncoding.EncodeToString([]byte("bot:s3cret"))+`"}}}`), 0o600)
	tokens := filepath.Join(dir, "tokens")
	os.WriteFile(tokens, []byte("alice "+access.HashToken("gm_alice")+"\n"), 0o600)
	rules := filepath.Join(dir, "rules.yaml")
	os.WriteFile(rules, []byte(`
rules:
  - users: [alice]
    paths: ["@corp", "ghcr.io/corp", "*"]
    allow: true
  - groups: [all]
    allow: true
`), 0o600)
	env := []string{"GOMIRROR_NPM_TOKEN_CORP=npm-s3cret"}
	base := func(c *config.Config) {
		c.NPM.Scopes = "@corp=http://127.0.0.1:1/"
		c.PyPI.Indexes = "http://bot:s3cret@127.0.0.1:1/simple/"
		c.OCI.Registries = "docker.io,ghcr.io=http://127.0.0.1:1"
		c.OCI.AuthFile = authFile
	}
	tests := []struct {
		name   string
		edit   func(*config.Config)
		path   string
		bearer string
		want   int    // 0: anything but 401 and 403
		body   string // in the protocol's error format
	}{
		{"npm scope, no rules", nil, "/npm/@corp/secret/-/secret-1.0.0.tgz", "", 403, `{"error":`},
		{"npm scope in upper case", nil, "/npm/@CORP/secret", "", 403, `{"error":`},
		{"npm scope escaped", nil, "/npm/@corp%2fsecret", "", 403, `{"error":`},
		{"npm public package", nil, "/npm/left-pad", "", 0, ""},
		{"pypi credentialed index", nil, "/pypi/simple/anything/", "", 403, "access denied"},
		{"pypi index of projects", nil, "/pypi/simple/", "", 403, "access denied"},
		{"oci credentialed registry", nil, "/v2/ghcr.io/corp/app/manifests/v1", "", 403, `"DENIED"`},
		{"oci other registry", nil, "/v2/library/alpine/manifests/3", "", 0, ""},
		{"npm declared public", func(c *config.Config) { c.Access.PublicUpstreams = "npm:@corp" }, "/npm/@corp/secret", "", 0, ""},
		{"pypi declared public", func(c *config.Config) { c.Access.PublicUpstreams = "pypi:127.0.0.1" }, "/pypi/simple/anything/", "", 0, ""},
		{"oci repository declared public", func(c *config.Config) { c.Access.PublicUpstreams = "oci:ghcr.io/corp/app" }, "/v2/ghcr.io/corp/app/manifests/v1", "", 0, ""},
		{"anonymous with users", func(c *config.Config) { c.Access.Tokens, c.Access.Rules = tokens, rules }, "/npm/@corp/secret", "", 401, `{"error":`},
		{"a rule allows", func(c *config.Config) { c.Access.Tokens, c.Access.Rules = tokens, rules }, "/npm/@corp/secret", "gm_alice", 0, ""},
		{"a rule allows oci", func(c *config.Config) { c.Access.Tokens, c.Access.Rules = tokens, rules }, "/v2/ghcr.io/corp/app/manifests/v1", "gm_alice", 0, ""},
		{"anonymous oci with users", func(c *config.Config) { c.Access.Tokens, c.Access.Rules = tokens, rules }, "/v2/ghcr.io/corp/app/manifests/v1", "", 401, `"UNAUTHORIZED"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newEnvServer(t, env, func(c *config.Config) {
				base(c)
				if tt.edit != nil {
					tt.edit(c)
				}
			})
			var hdr []string
			if tt.bearer != "" {
				hdr = []string{"Authorization", "Bearer " + tt.bearer}
			}
			resp, body := get(t, ts.URL+tt.path, hdr...)
			switch {
			case tt.want == 0 && (resp.StatusCode == 401 || resp.StatusCode == 403):
				t.Errorf("GET %s: got %d %q, want it served", tt.path, resp.StatusCode, body)
			case tt.want != 0 && resp.StatusCode != tt.want:
				t.Errorf("GET %s: got %d %q, want %d", tt.path, resp.StatusCode, body, tt.want)
			case tt.want != 0 && !strings.Contains(body, tt.body):
				t.Errorf("GET %s: got body %q, want it to hold %q", tt.path, body, tt.body)
			}
			if strings.Contains(body, "s3cret") {
				t.Errorf("GET %s: the body shows a credential: %q", tt.path, body)
			}
		})
	}
}

// TestPagesRedactUpstreamCredentials checks that no upstream credential
// reaches the status pages, the feeds or the metrics.
func TestPagesRedactUpstreamCredentials(t *testing.T) {
	ts := newEnvServer(t, nil, func(c *config.Config) {
		c.Upstream = "http://bot:s3cret@127.0.0.1:1/,https://proxy.golang.org?token=s3cret"
		c.PyPI.Indexes = "http://bot:s3cret@127.0.0.1:1/simple/"
		c.Access.PublicUpstreams = "pypi"
	})
	for _, page := range []string{"/", "/status.json", "/mirrorz.json", "/jobs", "/metrics", "/help/go", "/help/pypi"} {
		resp, body := get(t, ts.URL+page)
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: got %d, want 200", page, resp.StatusCode)
		}
		if strings.Contains(body, "s3cret") {
			t.Errorf("GET %s shows an upstream credential", page)
		}
	}
	if _, body := get(t, ts.URL+"/status.json"); !strings.Contains(body, "127.0.0.1:1") {
		t.Errorf("/status.json does not name the upstream at all: %s", body)
	}
}

// TestSecurityHeaders checks that every response of every mirror carries
// nosniff, and that HTML pages carry a strict policy.
func TestSecurityHeaders(t *testing.T) {
	_, ts := newTestServer(t, nil)
	for _, tt := range []struct {
		path string
		html bool
	}{
		{"/", true}, {"/help/go", true}, {"/status.json", false}, {"/healthz", false}, {"/metrics", false},
		{"/example.com/hello/@v/list", false}, {"/example.com/hello/@v/v1.0.0.zip", false}, {"/nothing.example/x/@v/list", false},
		{"/npm/@x/../y", false}, {"/v2/", false}, {"/v2/Bad/manifests/1", false}, {"/pypi/nothing", false}, {"/golang/", false},
	} {
		resp, _ := get(t, ts.URL+tt.path)
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("GET %s (%d): got X-Content-Type-Options %q, want nosniff", tt.path, resp.StatusCode, got)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") && !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("GET %s: an HTML page with Content-Security-Policy %q, want default-src 'none'", tt.path, csp)
		}
		if tt.html && csp == "" {
			t.Errorf("GET %s: got no Content-Security-Policy", tt.path)
		}
	}
}
