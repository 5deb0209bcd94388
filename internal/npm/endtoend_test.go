package npm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/store/disk"
)

// switchable is a transport that can be cut off, as when the mirror loses
// its link to the registry.
type switchable struct {
	cut  atomic.Bool
	next http.RoundTripper
}

func (s *switchable) RoundTrip(r *http.Request) (*http.Response, error) {
	if s.cut.Load() {
		return nil, errors.New("upstream cut off by the test")
	}
	return s.next.RoundTrip(r)
}

// reachNpm skips the test when the npm registry cannot be reached, and
// when npm is not installed.
func reachNpm(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test with the real npm registry: skipped in -short mode")
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Skip("npm is not installed (scripts/test.sh installs nodejs and npm)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, DefaultUpstream+"left-pad", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Skipf("npm registry: cannot reach %s: %v", DefaultUpstream, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Skipf("npm registry: cannot reach %s: status %s", DefaultUpstream, resp.Status)
	}
	return npm
}

// runNpm runs npm in dir with a clean configuration of its own.
func runNpm(t *testing.T, npm, dir string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, args...)
	cmd.Dir = dir
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "HOME="+home, "npm_config_userconfig="+filepath.Join(home, ".npmrc"),
		"npm_config_update_notifier=false", "npm_config_fund=false", "npm_config_audit=false")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("npm %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("npm %s:\n%s", strings.Join(args, " "), out)
}

func newProject(t *testing.T) string {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"name":"e2e","version":"1.0.0","private":true}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestNpmClient drives the real npm client against the real npm registry
// through the mirror: an install, the same install with the registry cut
// off, and `npm ci` from the lockfile.
func TestNpmClient(t *testing.T) {
	npm := reachNpm(t)
	dir := t.TempDir()
	st, err := disk.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cache, err := pull.New(pull.Config{Store: st, TempDir: filepath.Join(dir, ".tmp")})
	if err != nil {
		t.Fatal(err)
	}
	tr := &switchable{next: http.DefaultTransport}
	// A TTL of a nanosecond revalidates every packument with the registry,
	// and serves the stored ones stale once the registry is cut off.
	h, err := New(Config{Cache: cache, Client: &http.Client{Transport: tr}, TTL: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	registry := srv.URL + "/npm/"

	checkLock := func(t *testing.T, proj string) {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(proj, "package-lock.json"))
		if err != nil {
			t.Fatal(err)
		}
		var lock struct {
			Packages map[string]struct {
				Version, Resolved, Integrity string
			} `json:"packages"`
		}
		if err := json.Unmarshal(data, &lock); err != nil {
			t.Fatal(err)
		}
		n := 0
		for p, pkg := range lock.Packages {
			if p == "" {
				continue
			}
			n++
			if !strings.HasPrefix(pkg.Resolved, registry) || !strings.HasPrefix(pkg.Integrity, "sha512-") {
				t.Errorf("%s resolved from %q (integrity %q), want %s...", p, pkg.Resolved, pkg.Integrity, registry)
			}
		}
		if ex := lock.Packages["node_modules/express"]; ex.Version != "4.21.2" || n < 30 {
			t.Errorf("lock has express %q and %d packages; want 4.21.2 and its whole tree", ex.Version, n)
		}
		pj, err := os.ReadFile(filepath.Join(proj, "node_modules", "express", "package.json"))
		if err != nil || !strings.Contains(string(pj), `"version": "4.21.2"`) {
			t.Errorf("node_modules/express/package.json: %v %.100s", err, pj)
		}
	}

	online := newProject(t)
	runNpm(t, npm, online, "install", "express@4.21.2", "--registry", registry, "--cache", t.TempDir())
	checkLock(t, online)

	tr.cut.Store(true)
	offline := newProject(t)
	runNpm(t, npm, offline, "install", "express@4.21.2", "--registry", registry, "--cache", t.TempDir())
	checkLock(t, offline)

	ci := newProject(t)
	for _, f := range []string{"package.json", "package-lock.json"} {
		data, err := os.ReadFile(filepath.Join(online, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(ci, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	runNpm(t, npm, ci, "ci", "--registry", registry, "--cache", t.TempDir())
	checkLock(t, ci)
}
