package main

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/access"
	"github.com/gomirror/gomirror/internal/pull/pulltest"
	"github.com/gomirror/gomirror/internal/testca"
)

// startTLSMirror runs `gomirror serve` over HTTPS on a free loopback port
// and waits until it is healthy, trusting ca. It returns the mirror and an
// HTTP client that trusts ca.
func startTLSMirror(t *testing.T, ca *testca.CA, certFile, keyFile string, env []string, args ...string) (*mirror, *http.Client) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	data := t.TempDir()
	args = append([]string{"serve", "--listen", addr, "--data", data, "--log-level", "debug", "--tls-cert", certFile, "--tls-key", keyFile}, args...)
	cmd := exec.Command("gomirror", args...)
	cmd.Env = append(append(baseEnv(), "HOME="+t.TempDir()), env...)
	m := &mirror{URL: "https://" + addr, Data: data, cmd: cmd, log: &pulltest.Buffer{}, done: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = m.log, m.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting gomirror: %v", err)
	}
	go func() { m.done <- cmd.Wait() }()
	t.Cleanup(func() {
		m.stop(t)
		if t.Failed() {
			t.Logf("gomirror log:\n%s", m.log)
		}
	})
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}, ForceAttemptHTTP2: true}}
	t.Cleanup(hc.CloseIdleConnections)
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := hc.Get(m.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return m, hc
			}
		}
		select {
		case err := <-m.done:
			m.done <- err
			t.Fatalf("gomirror exited before it was healthy: %v\n%s", err, m.log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("gomirror not healthy after 30s:\n%s", m.log)
		}
	}
}

// TestGoCommandPrivateModuleOverHTTPS drives the real go command through
// a mirror that serves HTTPS and gives a private module (fetched direct
// from a local git repository) only to a user with a token, which the go
// command reads from .netrc.
func TestGoCommandPrivateModuleOverHTTPS(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: cannot make the private repository")
	}
	h := newHermeticSetup(t)
	gitEnv := newGitModule(t, "example.com/corp/lib", "v1.2.0")
	ca := testca.New(t)
	dir := t.TempDir()
	certFile, keyFile := ca.WriteLeaf(t, dir, "mirror")
	caFile := ca.WriteCert(t, dir)
	const token = "gm_alice_0123456789abcdef"
	tokens, rules, audit := filepath.Join(dir, "tokens"), filepath.Join(dir, "rules.yaml"), filepath.Join(dir, "audit.log")
	os.WriteFile(tokens, []byte("alice "+access.HashToken(token)+" dev\n"), 0o600)
	os.WriteFile(rules, []byte(`
rules:
  - groups: [dev]
    ecosystem: go
    paths: [example.com/corp]
    allow: true
  - groups: [all]
    allow: true
`), 0o600)
	m, hc := startTLSMirror(t, ca, certFile, keyFile, append(append([]string{}, h.env...), gitEnv...),
		"--upstream", h.up.URL, "--sumdb", h.sumdbFlag(), "--private", "example.com/corp",
		"--tokens", tokens, "--access-rules", rules, "--audit-log", audit, "--auth-failure-limit", "5/h")
	host := strings.TrimPrefix(m.URL, "https://")

	// The go command matches a .netrc machine against host:port.
	netrc := filepath.Join(dir, "netrc")
	os.WriteFile(netrc, []byte(fmt.Sprintf("machine %s login alice password %s\n", host, token)), 0o600)
	goEnv := append(append([]string{}, h.env...), "GONOSUMDB=example.com/corp", "SSL_CERT_FILE="+caFile)

	g := newGoClient(t, m.URL, h.db.Key, append(goEnv, "NETRC="+netrc)...)
	out := g.must("mod", "download", "-json", "example.com/corp/lib.git@v1.2.0")
	if !strings.Contains(out, `"Version": "v1.2.0"`) {
		t.Errorf("go mod download of the private module with credentials: %s", out)
	}
	// Public modules, verified through the mirror's /sumdb/, need none.
	anon := newGoClient(t, m.URL, h.db.Key, append(goEnv, "NETRC="+filepath.Join(dir, "none"))...)
	anon.must("mod", "download", "example.com/hello@v1.0.0")

	// Without credentials: refused with a 401, and not a byte of the
	// module in the answer.
	out, err := anon.run("mod", "download", "-json", "example.com/corp/lib.git@v1.2.0")
	if err == nil || !strings.Contains(out, "401 Unauthorized") {
		t.Errorf("go mod download without credentials: err %v, want a 401:\n%s", err, out)
	}
	if strings.Contains(out, "Secret") {
		t.Errorf("the refusal holds the module's source:\n%s", out)
	}
	for _, p := range []string{"/example.com/corp/lib.git/@v/v1.2.0.zip", "/example.com/corp/lib.git/@v/list", "/example.com/!corp/lib.git/@v/v1.2.0.mod"} {
		resp, err := hc.Get(m.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(body), "Secret") || strings.Contains(string(body), "v1.2.0\n") {
			t.Errorf("anonymous GET %s: got %d %q, want 401 with no content", p, resp.StatusCode, body)
		}
	}

	// A wrong token is refused; guessing is slowed down: after five
	// failures, even the right token waits.
	bad := newGoClient(t, m.URL, h.db.Key, append(goEnv, "NETRC="+writeNetrc(t, host, "alice", "gm_wrong"))...)
	if out, err := bad.run("mod", "download", "example.com/corp/lib.git@v1.2.0"); err == nil || !strings.Contains(out, "401") {
		t.Errorf("go mod download with a wrong token: err %v:\n%s", err, out)
	}
	var last *http.Response
	for i := 0; i < 10; i++ {
		req, _ := http.NewRequest("GET", m.URL+"/example.com/corp/lib.git/@v/list", nil)
		req.SetBasicAuth("alice", fmt.Sprint("guess", i))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		last = resp
		if resp.StatusCode == http.StatusTooManyRequests {
			break
		}
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Fatalf("after repeated guesses: got %d, Retry-After %q; want 429 with Retry-After", last.StatusCode, last.Header.Get("Retry-After"))
	}
	req, _ := http.NewRequest("GET", m.URL+"/example.com/corp/lib.git/@v/list", nil)
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("alice:"+token)))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("the right token while the address is blocked: got %d, want 429", resp.StatusCode)
	}

	// The audit trail has each case, and no secret.
	data, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"event":"private read","user":"alice"`, `"event":"denied","user":""`, `"event":"auth failed"`, `"event":"throttled"`} {
		if !strings.Contains(string(data), want) {
			t.Errorf("audit log lacks %s:\n%s", want, data)
		}
	}
	if strings.Contains(string(data), token) || strings.Contains(string(data), "gm_wrong") || strings.Contains(m.log.String(), token) {
		t.Errorf("a token reached the audit log or the server's log")
	}
}

func writeNetrc(t *testing.T, host, login, password string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "netrc")
	os.WriteFile(f, []byte(fmt.Sprintf("machine %s login %s password %s\n", host, login, password)), 0o600)
	return f
}
