package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/client/sdk"
)

// TestEndToEndToolchainThroughGomirror is an end-to-end test against the
// public Go module proxy. One gomirror in front of it serves, in turn:
//
//   - the real go command switching to go1.22.0 (GOTOOLCHAIN=go1.22.0):
//     it downloads golang.org/toolchain through gomirror and checks it
//     against sum.golang.org, which it reaches through gomirror's /sumdb/;
//   - gomirror install go1.22.0 --mirror gomirror, which, as gomirror
//     serves no /golang/ archives, falls back to the same toolchain module,
//     now in gomirror's store, and checks it against sum.golang.org the
//     same way; the release then builds a program, and golang.org/dl's
//     go1.22.0 wrapper (installed through gomirror too) runs it.
//
// Both run with HTTP(S)_PROXY set to a guard that fails the test if
// anything tries to go around gomirror. The ~70 MB module is fetched from
// the public proxy once.
func TestEndToEndToolchainThroughGomirror(t *testing.T) {
	proxy := publicProxy(t)
	const v = "go1.22.0"
	m := startMirror(t, t.TempDir(), nil, "--upstream", proxy)
	mod := sdk.ToolchainModuleVersion(v, runtime.GOOS, runtime.GOARCH)
	guard := guardEnv(t)

	// (a) The go command downloads and runs the toolchain through gomirror.
	g := newGoClient(t, m.URL, "sum.golang.org", append([]string{"GOTOOLCHAIN=" + v, noTelemetry}, guard...)...)
	out := g.must("version") // stderr first says "go: downloading go1.22.0 (linux/amd64)"
	if !strings.Contains(out, "\ngo version "+v+" "+runtime.GOOS+"/"+runtime.GOARCH+"\n") {
		t.Fatalf("GOTOOLCHAIN=%s go version: got %q", v, out)
	}
	stored := filepath.Join(m.Data, mod.Path, "@v", mod.Version+".zip")
	if !fileExists(stored) {
		t.Errorf("%s is not in gomirror's store after the go command fetched it", stored)
	}

	// (b) gomirror install, from the same gomirror, into ~/sdk.
	home := t.TempDir()
	dir := filepath.Join(home, "sdk")
	env := append(baseEnv(), "HOME="+home, "XDG_CONFIG_HOME=", "XDG_CACHE_HOME=", "GOENV=off", "GOTOOLCHAIN=local", noTelemetry)
	env = append(env, guard...)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "gomirror", "install", v, "--mirror", m.URL)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("gomirror install %s: %v\nstdout:\n%s\nstderr:\n%s", v, err, &stdout, &stderr)
	}
	t.Logf("gomirror install:\n%s%s", &stdout, &stderr)
	if servesArchives(t, m.URL) {
		if !strings.Contains(stdout.String(), "source: release archive "+m.URL+"/golang/") {
			t.Errorf("gomirror serves /golang/, but install did not use it:\n%s", &stdout)
		}
	} else {
		for _, want := range []string{
			"source: golang.org/toolchain module " + m.URL + "/golang.org/toolchain/@v/" + mod.Version + ".zip\n",
			"(no release archive: ", // the mirror serves no /golang/, or it fails
			"checked: h1 hash against the checksum database sum.golang.org via " + m.URL + "/sumdb/sum.golang.org\n",
		} {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("stdout lacks %q:\n%s", want, &stdout)
			}
		}
		if latest := filepath.Join(home, ".config", "gomirror", "sumdb", "sum.golang.org", "latest"); !fileExists(latest) {
			t.Errorf("no verified tree head of sum.golang.org in %s", latest)
		}
	}
	goroot := filepath.Join(dir, v)
	if !fileExists(filepath.Join(goroot, sdk.Marker)) {
		t.Errorf("%s lacks golang.org/dl's %s marker", goroot, sdk.Marker)
	}
	gobin := filepath.Join(goroot, "bin", "go")
	// The installed go command, offline, with its own caches.
	goEnv := append(append([]string{}, env...), "GOROOT=", "GOPROXY=off", "GOFLAGS=-modcacherw",
		"GOMODCACHE="+filepath.Join(home, "modcache"), "GOCACHE="+filepath.Join(home, "gocache"))
	run := func(args ...string) string {
		t.Helper()
		c := exec.CommandContext(ctx, gobin, args...)
		c.Env = goEnv
		c.Dir = t.TempDir()
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", gobin, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out, want := run("version"), "go version "+v+" "+runtime.GOOS+"/"+runtime.GOARCH+"\n"; out != want {
		t.Errorf("%s version: got %q, want %q", gobin, out, want)
	}
	if out := strings.TrimSpace(run("env", "GOROOT")); out != goroot {
		t.Errorf("go env GOROOT: got %q, want %q", out, goroot)
	}
	if out := run("tool", "compile", "-V=full"); !strings.HasPrefix(out, "compile version "+v) {
		t.Errorf("go tool compile -V=full: got %q", out)
	}
	// The installed toolchain builds and runs a program: compile, asm and
	// link are executable. (A program without fmt keeps the build short.)
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "go.mod"), []byte("module hello\n\ngo 1.22\n"), 0o644)
	os.WriteFile(filepath.Join(src, "main.go"), []byte("package main\n\nfunc main() { println(\"hello from\", \""+v+"\") }\n"), 0o644)
	c := exec.CommandContext(ctx, gobin, "run", ".")
	c.Env = goEnv
	c.Dir = src
	if out, err := c.CombinedOutput(); err != nil || string(out) != "hello from "+v+"\n" {
		t.Errorf("go run with the installed toolchain: %v\n%s", err, out)
	}

	// (c) golang.org/dl's go1.22.0 wrapper, installed through gomirror,
	// finds the release installed and runs it.
	gobinDir := t.TempDir()
	gocache, err := exec.Command("go", "env", "GOCACHE").Output() // warm: the standard library is built
	if err != nil {
		t.Fatalf("go env GOCACHE: %v", err)
	}
	dl := newGoClient(t, m.URL, "sum.golang.org", append([]string{"GOBIN=" + gobinDir, "GOCACHE=" + strings.TrimSpace(string(gocache)), noTelemetry}, guard...)...)
	dl.must("install", "golang.org/dl/"+v+"@latest")
	w := exec.CommandContext(ctx, filepath.Join(gobinDir, v), "version")
	w.Env = append(append([]string{}, goEnv...), "HOME="+home)
	if out, err := w.CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "go version "+v+" ") {
		t.Errorf("golang.org/dl's %s version: got %q, %v; want it to run the installed release", v, out, err)
	}
}

// servesArchives reports whether the mirror at base serves a /golang/
// release index.
func servesArchives(t *testing.T, base string) bool {
	t.Helper()
	resp, err := http.Get(base + "/golang/?mode=json")
	if err != nil {
		t.Fatalf("probe %s/golang/: %v", base, err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
