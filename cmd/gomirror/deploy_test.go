package main

import (
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/pull/pulltest"
)

// TestDeployOriginStarts runs deploy/edge/origin.yaml as docs/deploy.md
// tells an operator to, on an address other than loopback: it serves
// private modules, so it must start only with the access rules it names,
// and then refuse private modules to an anonymous client.
func TestDeployOriginStarts(t *testing.T) {
	example, err := os.ReadFile("../../deploy/edge/origin.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	etc := filepath.Join(dir, "etc") + "/"
	os.MkdirAll(etc, 0o755)
	conf := strings.NewReplacer("/etc/gomirror/", etc, "/var/lib/gomirror", filepath.Join(dir, "data")).Replace(string(example))
	// Its access.yaml, as the example's comment gives it.
	var rules []string
	_, after, _ := strings.Cut(conf, "access.yaml:\n")
	for _, l := range strings.Split(after, "\n") {
		if r, ok := strings.CutPrefix(l, "#\t"); ok {
			rules = append(rules, r)
		}
	}
	os.WriteFile(filepath.Join(etc, "access.yaml"), []byte(strings.Join(rules, "\n")+"\n"), 0o644)
	tok := exec.Command("gomirror", "token", "edge", "edges", "--out", filepath.Join(dir, "edge.token"))
	tok.Env = append(baseEnv(), "HOME="+dir)
	line, err := tok.Output()
	if err != nil {
		t.Fatalf("gomirror token: %v", err)
	}
	os.WriteFile(filepath.Join(etc, "tokens"), line, 0o600)
	config := filepath.Join(dir, "origin.yaml")
	os.WriteFile(config, []byte(conf), 0o644)

	// Without its rules, the example would serve private modules to
	// anyone: gomirror refuses to start.
	bare := filepath.Join(dir, "bare.yaml")
	os.WriteFile(bare, []byte(strings.NewReplacer("tokens:", "# tokens:", "access-rules:", "# access-rules:").Replace(conf)), 0o644)
	out, err := serveCmd(t, bare, publicAddr(t)).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "would be served to anyone") {
		t.Fatalf("the example without its rules: got %v\n%s\nwant a refusal to start", err, out)
	}

	addr := publicAddr(t)
	cmd := serveCmd(t, config, addr)
	log := &pulltest.Buffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m := &mirror{URL: "http://" + strings.Replace(addr, "0.0.0.0", "127.0.0.1", 1), cmd: cmd, log: log, done: make(chan error, 1)}
	go func() { m.done <- cmd.Wait() }()
	t.Cleanup(func() { m.stop(t) })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(m.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-m.done:
			t.Fatalf("the example exited before it was healthy: %v\n%s", err, log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the example is not healthy after 30s:\n%s", log)
		}
	}
	resp, err := http.Get(m.URL + "/git.corp.example/app/@v/list")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("an anonymous request for a private module: got %d, want 401", resp.StatusCode)
	}
}

// serveCmd is `gomirror serve --config config --listen addr`.
func serveCmd(t *testing.T, config, addr string) *exec.Cmd {
	cmd := exec.Command("gomirror", "serve", "--config", config, "--listen", addr)
	cmd.Env = append(baseEnv(), "HOME="+t.TempDir())
	return cmd
}

// publicAddr returns a free port on every interface, an address that is
// not loopback only.
func publicAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return "0.0.0.0:" + port
}
