package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
)

// hermeticSetup is a fake upstream and a fake checksum database that knows
// the modules the upstream serves.
type hermeticSetup struct {
	up    *fakeUpstream
	db    *sumdbtest.DB
	hello *sumdbtest.Module
	env   []string // for gomirror: the network guard
}

func newHermeticSetup(t *testing.T) *hermeticSetup {
	t.Helper()
	hello := sumdbtest.NewModule(t, "example.com/hello", "v1.0.0", map[string]string{
		"hello.go": "package hello\n\nfunc Hello() string { return \"hello\" }\n",
	})
	hello11 := sumdbtest.NewModule(t, "example.com/hello", "v1.1.0", map[string]string{
		"hello.go": "package hello\n\nfunc Hello() string { return \"hello, world\" }\n",
	})
	caps := sumdbtest.NewModule(t, "example.com/CapsLock", "v0.1.0", map[string]string{"caps.go": "package caps\n"})
	db := sumdbtest.NewDB(t, "sum.example.test", hello, hello11, caps)
	return &hermeticSetup{up: newFakeUpstream(t, hello, hello11, caps), db: db, hello: hello, env: guardEnv(t)}
}

// sumdbFlag is gomirror's --sumdb for the fake database, with its URL.
func (h *hermeticSetup) sumdbFlag() string { return h.db.Key + " " + h.db.URL }

// start runs a gomirror in front of the fake upstream.
func (h *hermeticSetup) start(t *testing.T, data string, args ...string) *mirror {
	t.Helper()
	args = append([]string{"--upstream", h.up.URL, "--sumdb", h.sumdbFlag()}, args...)
	return startMirror(t, data, h.env, args...)
}

// client is a go command that uses m as its only proxy and verifies with
// the fake database through m's /sumdb/.
func (h *hermeticSetup) client(t *testing.T, m *mirror) *goClient {
	return newGoClient(t, m.URL, h.db.Key, h.env...)
}

func TestGoCommandColdFillThenWarmWithUpstreamDown(t *testing.T) {
	h := newHermeticSetup(t)
	m := h.start(t, t.TempDir(), "--metadata-ttl", "1ms")

	g := h.client(t, m)
	out := g.must("mod", "download", "-json", "example.com/hello@v1.0.0")
	var dl struct{ Version, Sum, GoModSum, Error string }
	if err := json.Unmarshal([]byte(out), &dl); err != nil {
		t.Fatalf("go mod download -json: %v\n%s", err, out)
	}
	if dl.Sum != h.hello.ZipHash || dl.GoModSum != h.hello.ModHash {
		t.Errorf("go mod download sums: got %s %s, want %s %s", dl.Sum, dl.GoModSum, h.hello.ZipHash, h.hello.ModHash)
	}
	g.must("get", "example.com/hello@v1.0.0")
	versions := g.must("list", "-m", "-versions", "example.com/hello")
	if strings.TrimSpace(versions) != "example.com/hello v1.0.0 v1.1.0" {
		t.Errorf("go list -m -versions: got %q", versions)
	}
	for _, f := range []string{"example.com/hello/@v/v1.0.0.info", "example.com/hello/@v/v1.0.0.mod", "example.com/hello/@v/v1.0.0.zip", "example.com/hello/@v/list"} {
		if !fileExists(filepath.Join(m.Data, f)) {
			t.Errorf("%s not stored after the cold fill", f)
		}
	}
	if got := h.up.count("example.com/hello/@v/v1.0.0.zip"); got != 1 {
		t.Errorf("upstream zip fetches: got %d, want 1", got)
	}

	// Warm: a fresh client, the upstream and the database both down.
	h.up.setMode(modeDown)
	h.db.SetDown(true)
	g2 := h.client(t, m)
	g2.must("mod", "download", "example.com/hello@v1.0.0")
	g2.must("get", "example.com/hello@v1.0.0")
	// The list is past its TTL; with the upstream down it is served stale.
	versions = g2.must("list", "-m", "-versions", "example.com/hello")
	if strings.TrimSpace(versions) != "example.com/hello v1.0.0 v1.1.0" {
		t.Errorf("stale go list -m -versions: got %q", versions)
	}
	resp, err := http.Get(m.URL + "/example.com/hello/@v/list")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Gomirror-Stale") != "true" {
		t.Errorf("stale list served without X-Gomirror-Stale: %v", resp.Header)
	}
}

func TestGoCommandCaseEncodedPath(t *testing.T) {
	h := newHermeticSetup(t)
	m := h.start(t, t.TempDir())
	g := h.client(t, m)
	g.must("mod", "download", "example.com/CapsLock@v0.1.0")
	if !fileExists(filepath.Join(m.Data, "example.com/!caps!lock/@v/v0.1.0.zip")) {
		t.Errorf("case-encoded zip not stored at example.com/!caps!lock/@v/v0.1.0.zip; stored: %v", storedFiles(t, m.Data))
	}
}

func TestGoCommandIncompatibleVersion(t *testing.T) {
	legacy := sumdbtest.NewModule(t, "example.com/legacy", "v2.0.0+incompatible", map[string]string{
		"go.mod": "", "legacy.go": "package legacy\n",
	})
	db := sumdbtest.NewDB(t, "sum.example.test", legacy)
	up := newFakeUpstream(t, legacy)
	// The go command asks for v2.0.0, a version of another major than the
	// path's; the upstream resolves it as a query to +incompatible.
	up.set("example.com/legacy/@v/v2.0.0.info", legacy.Info)
	env := guardEnv(t)
	m := startMirror(t, t.TempDir(), env, "--upstream", up.URL, "--sumdb", db.Key+" "+db.URL)
	g := newGoClient(t, m.URL, db.Key, env...)
	g.must("get", "example.com/legacy@v2.0.0")
	gomod, _ := os.ReadFile(filepath.Join(g.dir, "go.mod"))
	if !strings.Contains(string(gomod), "example.com/legacy v2.0.0+incompatible") {
		t.Errorf("go.mod after go get example.com/legacy@v2.0.0:\n%s", gomod)
	}
}

func TestGoCommandChain(t *testing.T) {
	h := newHermeticSetup(t)
	missing := newFakeUpstream(t)
	missing.setMode(modeMissing)
	broken := newFakeUpstream(t)
	broken.setMode(modeDown)
	tests := []struct {
		name     string
		upstream string
		wantErr  string // empty: the download succeeds
	}{
		{"comma after 404", missing.URL + "," + h.up.URL, ""},
		{"comma stops at 503", broken.URL + "," + h.up.URL, "503"},
		{"pipe after 503", broken.URL + "|" + h.up.URL, ""},
		{"off", "off", "GOPROXY=off"},
		{"off after 404", missing.URL + ",off", "GOPROXY=off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := startMirror(t, t.TempDir(), h.env, "--upstream", tt.upstream, "--sumdb", h.sumdbFlag())
			out, err := h.client(t, m).run("mod", "download", "example.com/hello@v1.0.0")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("go mod download through %q: %v\n%s", tt.upstream, err, out)
				}
				return
			}
			if err == nil || !strings.Contains(out, tt.wantErr) {
				t.Fatalf("go mod download through %q: got err %v and output %q, want an error mentioning %q", tt.upstream, err, out, tt.wantErr)
			}
		})
	}
}

func TestGoCommandRefusesTamperedFiles(t *testing.T) {
	good := sumdbtest.NewModule(t, "example.com/victim", "v1.0.0", map[string]string{"a.go": "package a\n"})
	edited := sumdbtest.NewModule(t, "example.com/victim", "v1.0.0", map[string]string{"a.go": "package a // edited\n"})
	flipped := bytes.Clone(good.Zip)
	flipped[len(flipped)/2] ^= 0x01
	tests := []struct {
		name, file string
		body       []byte
	}{
		{"zip with one byte changed", "zip", flipped},
		{"valid zip rebuilt with one file edited", "zip", edited.Zip},
		{"edited go.mod", "mod", []byte("module example.com/victim\n\ngo 1.21\n\nrequire evil.example.com v1.0.0\n")},
		{"zip with a path outside the module prefix", "zip", zipWithOutsidePath(t, good)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := sumdbtest.NewDB(t, "sum.example.test", good)
			up := newFakeUpstream(t, good)
			name := "example.com/victim/@v/v1.0.0." + tt.file
			up.set(name, tt.body)
			env := guardEnv(t)
			m := startMirror(t, t.TempDir(), env, "--upstream", up.URL, "--sumdb", db.Key+" "+db.URL)
			out, err := newGoClient(t, m.URL, db.Key, env...).run("mod", "download", "example.com/victim@v1.0.0")
			if err == nil {
				t.Fatalf("go mod download of a tampered module succeeded:\n%s", out)
			}
			if !strings.Contains(out, "example.com/victim@v1.0.0") {
				t.Errorf("go command output does not name the module version:\n%s", out)
			}
			if fileExists(filepath.Join(m.Data, name)) {
				t.Errorf("tampered %s was stored", name)
			}
			resp, err := http.Get(m.URL + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			metrics, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := fmt.Sprintf("gomirror_verify_failures_total{ecosystem=\"go\",kind=%q} 1", tt.file); !strings.Contains(string(metrics), want) {
				t.Errorf("/metrics lacks %q", want)
			}
		})
	}
}

func TestGoCommandPrivateModuleDirect(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed: cannot make the private repository")
	}
	h := newHermeticSetup(t)
	gitEnv := newGitModule(t, "example.com/corp/lib", "v1.2.0")
	m := startMirror(t, t.TempDir(), append(append([]string{}, h.env...), gitEnv...),
		"--upstream", h.up.URL, "--sumdb", h.sumdbFlag(), "--private", "example.com/corp")
	g := newGoClient(t, m.URL, h.db.Key, append(append([]string{}, h.env...), "GONOSUMDB=example.com/corp")...)
	before := h.db.Requests()
	out := g.must("mod", "download", "-json", "example.com/corp/lib.git@v1.2.0")
	if !strings.Contains(out, `"Version": "v1.2.0"`) {
		t.Errorf("go mod download of the private module: %s", out)
	}
	versions := g.must("list", "-m", "-versions", "example.com/corp/lib.git")
	if !strings.Contains(versions, "v1.2.0") {
		t.Errorf("go list -m -versions of the private module: got %q", versions)
	}
	if !fileExists(filepath.Join(m.Data, "example.com/corp/lib.git/@v/v1.2.0.zip")) {
		t.Errorf("private zip not stored; stored: %v", storedFiles(t, m.Data))
	}
	if got := h.db.Requests() - before; got != 0 {
		t.Errorf("checksum database requests for a private module: got %d, want 0", got)
	}
	h.up.mu.Lock()
	defer h.up.mu.Unlock()
	for name, n := range h.up.counts {
		if strings.Contains(name, "corp") && n > 0 {
			t.Errorf("the public upstream was asked for private %s", name)
		}
	}
}

// newGitModule makes a git repository holding module repoPath+".git" at
// tag version, and returns the environment under which git fetches
// https://repoPath from it.
func newGitModule(t *testing.T, repoPath, version string) []string {
	t.Helper()
	dir := t.TempDir()
	repo := filepath.Join(dir, "repo")
	os.MkdirAll(repo, 0o755)
	os.WriteFile(filepath.Join(repo, "go.mod"), []byte("module "+repoPath+".git\n\ngo 1.21\n"), 0o644)
	os.WriteFile(filepath.Join(repo, "lib.go"), []byte("package lib\n\nconst Secret = 42\n"), 0o644)
	gitconfig := filepath.Join(dir, "gitconfig")
	os.WriteFile(gitconfig, []byte(fmt.Sprintf(`[url "file://%s"]
	insteadOf = https://%s
[protocol "file"]
	allow = always
[user]
	name = gomirror test
	email = test@gomirror.invalid
[init]
	defaultBranch = main
`, repo, repoPath)), 0o644)
	env := []string{"GIT_CONFIG_GLOBAL=" + gitconfig, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0"}
	for _, args := range [][]string{
		{"init", "-q"}, {"add", "."}, {"commit", "-q", "-m", "lib " + version}, {"tag", version},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir = repo
		cmd.Env = append(baseEnv(), env...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return env
}

func TestCoalescingOverHTTP(t *testing.T) {
	h := newHermeticSetup(t)
	m := h.start(t, t.TempDir())
	const clients = 100
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		wg.Go(func() {
			resp, err := http.Get(m.URL + "/example.com/hello/@v/v1.0.0.zip")
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || !bytes.Equal(body, h.hello.Zip) {
				errs <- fmt.Errorf("got status %d and %d bytes, want 200 and the zip", resp.StatusCode, len(body))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := h.up.count("example.com/hello/@v/v1.0.0.zip"); got != 1 {
		t.Errorf("upstream requests for %d concurrent misses: got %d, want 1", clients, got)
	}
}

func TestCrashDuringFillLeavesNoPartialFile(t *testing.T) {
	h := newHermeticSetup(t)
	data := t.TempDir()
	m := h.start(t, data)
	h.up.setMode(modeHang)
	go http.Get(m.URL + "/example.com/hello/@v/v1.0.0.zip")
	<-h.up.hung // Half the zip is on its way into gomirror.
	m.kill()
	zip := filepath.Join(data, "example.com/hello/@v/v1.0.0.zip")
	if fileExists(zip) {
		t.Fatal("a partial zip is visible after the crash")
	}

	h.up.setMode(modeServe)
	m = h.start(t, data)
	entries, _ := os.ReadDir(filepath.Join(data, ".tmp"))
	for _, e := range entries {
		if e.Name() != "lock" { // The disk store's lock, not a partial file.
			t.Errorf("temporary file %s left after restart", e.Name())
		}
	}
	resp, err := http.Get(m.URL + "/example.com/hello/@v/v1.0.0.zip")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, h.hello.Zip) {
		t.Fatalf("after restart: got status %d and %d bytes, want 200 and the whole zip", resp.StatusCode, len(body))
	}
	stored, err := os.ReadFile(zip)
	if err != nil || !bytes.Equal(stored, h.hello.Zip) {
		t.Errorf("stored zip after restart differs from upstream's (err %v)", err)
	}
}

func TestGracefulShutdownFinishesRequests(t *testing.T) {
	h := newHermeticSetup(t)
	m := h.start(t, t.TempDir())
	h.up.setMode(modeSlow)
	type result struct {
		code int
		body []byte
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get(m.URL + "/example.com/hello/@v/v1.0.0.zip")
		if err != nil {
			res <- result{err: err}
			return
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		res <- result{resp.StatusCode, body, err}
	}()
	<-h.up.slow // The request is in flight, waiting on the upstream.
	m.cmd.Process.Signal(syscall.SIGTERM)
	r := <-res
	if r.err != nil || r.code != http.StatusOK || !bytes.Equal(r.body, h.hello.Zip) {
		t.Fatalf("request in flight during shutdown: got status %d, %d bytes, error %v; want 200 and the zip", r.code, len(r.body), r.err)
	}
	err := <-m.done
	m.done <- err
	if err != nil {
		t.Errorf("gomirror exit after SIGTERM: %v", err)
	}
}
