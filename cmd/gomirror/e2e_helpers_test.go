package main

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/module"

	"github.com/gomirror/gomirror/internal/pull/pulltest"
	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
)

// upstreamMode is how a fakeUpstream answers.
type upstreamMode int

const (
	modeServe   upstreamMode = iota
	modeDown                 // 503 for everything
	modeMissing              // 404 for everything
	modeHang                 // module zips send half their bytes, then hang
	modeSlow                 // module zips wait a second before they are sent
	modeHangAll              // every request hangs before its headers until the client gives up
)

// fakeUpstream is a GOPROXY upstream for end-to-end tests: it serves
// generated modules, counts requests per path, and can be switched down.
type fakeUpstream struct {
	URL string

	mu     sync.Mutex
	mode   upstreamMode
	files  map[string][]byte
	counts map[string]int
	hung   chan struct{} // closed when a hanging response has sent its half
	slow   chan struct{} // closed when a slow response has begun
}

func newFakeUpstream(t *testing.T, mods ...*sumdbtest.Module) *fakeUpstream {
	t.Helper()
	u := &fakeUpstream{files: map[string][]byte{}, counts: map[string]int{}, hung: make(chan struct{}), slow: make(chan struct{})}
	for _, m := range mods {
		u.add(m)
	}
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		u.mu.Lock()
		u.counts[name]++
		mode, data, ok := u.mode, u.files[name], false
		_, ok = u.files[name]
		u.mu.Unlock()
		switch {
		case mode == modeHangAll:
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case mode == modeDown:
			http.Error(w, "upstream down for the test", http.StatusServiceUnavailable)
		case mode == modeMissing || !ok:
			http.Error(w, "not found: "+name+" is not on this test upstream", http.StatusNotFound)
		case mode == modeHang && strings.HasSuffix(name, ".zip"):
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			w.Write(data[:len(data)/2])
			w.(http.Flusher).Flush()
			u.mu.Lock()
			select {
			case <-u.hung:
			default:
				close(u.hung)
			}
			u.mu.Unlock()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case mode == modeSlow && strings.HasSuffix(name, ".zip"):
			u.mu.Lock()
			select {
			case <-u.slow:
			default:
				close(u.slow)
			}
			u.mu.Unlock()
			time.Sleep(time.Second)
			w.Write(data)
		default:
			w.Write(data)
		}
	}))
	t.Cleanup(func() { close(release); ts.Close() })
	u.URL = ts.URL
	return u
}

func (u *fakeUpstream) add(m *sumdbtest.Module) {
	esc, _ := module.EscapePath(m.Path)
	u.mu.Lock()
	defer u.mu.Unlock()
	base := esc + "/@v/" + m.Version.Version
	u.files[base+".info"] = m.Info
	u.files[base+".mod"] = m.Mod
	u.files[base+".zip"] = m.Zip
	u.files[esc+"/@v/list"] = append(u.files[esc+"/@v/list"], m.Version.Version+"\n"...)
	u.files[esc+"/@latest"] = m.Info
}

func (u *fakeUpstream) set(name string, data []byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.files[name] = data
}

func (u *fakeUpstream) setMode(m upstreamMode) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.mode = m
}

func (u *fakeUpstream) count(name string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.counts[name]
}

// guardEnv returns environment settings that send any HTTP(S) traffic not
// bound for loopback to a proxy that fails the test: the subprocesses of a
// hermetic test may talk only to the test's own servers.
func guardEnv(t *testing.T) []string {
	t.Helper()
	guard := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("a hermetic test reached for %s %s", r.Method, r.Host)
		http.Error(w, "hermetic test", http.StatusForbidden)
	}))
	t.Cleanup(guard.Close)
	return []string{
		"HTTP_PROXY=" + guard.URL, "HTTPS_PROXY=" + guard.URL,
		"http_proxy=" + guard.URL, "https_proxy=" + guard.URL,
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
	}
}

// baseEnv is the environment of a subprocess: the test's own, less every
// setting of gomirror and the go command that would leak into it.
func baseEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GOMIRROR_") || strings.HasPrefix(k, "GO") && k != "GOROOT" && k != "GOCACHE" ||
			strings.HasSuffix(strings.ToLower(k), "_proxy") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// mirror is a gomirror serve process.
type mirror struct {
	URL  string
	Data string
	cmd  *exec.Cmd
	log  *pulltest.Buffer
	done chan error
}

// startMirror runs `gomirror serve` on a free loopback port with the data
// directory data, and waits until it is healthy. It is stopped with SIGTERM
// when the test ends.
func startMirror(t *testing.T, data string, env []string, args ...string) *mirror {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	args = append([]string{"serve", "--listen", addr, "--data", data, "--log-level", "debug"}, args...)
	cmd := exec.Command("gomirror", args...)
	cmd.Env = append(append(baseEnv(), "HOME="+t.TempDir()), env...)
	m := &mirror{URL: "http://" + addr, Data: data, cmd: cmd, log: &pulltest.Buffer{}, done: make(chan error, 1)}
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
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(m.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return m
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

// stop ends the mirror with SIGTERM and waits for it.
func (m *mirror) stop(t *testing.T) {
	if m.cmd.ProcessState != nil {
		return
	}
	m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-m.done:
		m.done <- err
	case <-time.After(30 * time.Second):
		m.cmd.Process.Kill()
		t.Errorf("gomirror did not stop within 30s of SIGTERM")
		m.done <- <-m.done
	}
}

// kill ends the mirror with SIGKILL, as a crash would.
func (m *mirror) kill() {
	m.cmd.Process.Kill()
	err := <-m.done
	m.done <- err
}

// goClient runs the real go command as a user of a mirror would, with its
// own module cache.
type goClient struct {
	t   *testing.T
	env []string
	dir string
}

// newGoClient returns a go command pointed at goproxy and gosumdb, with an
// empty module cache and a scratch module in dir.
func newGoClient(t *testing.T, goproxy, gosumdb string, extraEnv ...string) *goClient {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Fatalf("the go command is required: %v", err)
	}
	home := t.TempDir()
	env := append(baseEnv(),
		"HOME="+home, "GOPATH="+filepath.Join(home, "gopath"), "GOMODCACHE="+filepath.Join(home, "modcache"),
		"GOENV=off", "GOFLAGS=-modcacherw", "GOTOOLCHAIN=local", "GO111MODULE=on",
		"GOPROXY="+goproxy, "GOSUMDB="+gosumdb, "GONOSUMDB=", "GOPRIVATE=", "GONOPROXY=", "GOINSECURE=",
	)
	env = append(env, extraEnv...)
	dir := filepath.Join(home, "work")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/user\n\ngo 1.21\n"), 0o644)
	return &goClient{t: t, env: env, dir: dir}
}

// run runs the go command and returns its combined output.
func (g *goClient) run(args ...string) (string, error) {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(g.t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Env = g.env
	cmd.Dir = g.dir
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// must runs the go command and fails the test when it fails.
func (g *goClient) must(args ...string) string {
	g.t.Helper()
	out, err := g.run(args...)
	if err != nil {
		g.t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// storedFiles lists the regular files under dir, relative to it, skipping
// gomirror's own bookkeeping directories.
func storedFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != dir {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	return files
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// zipWithOutsidePath builds a zip for m that also holds a file outside the
// module's path@version/ prefix.
func zipWithOutsidePath(t *testing.T, m *sumdbtest.Module) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{m.Version.String() + "/go.mod", m.Version.String() + "/../../outside.go"} {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(m.Mod)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
