package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/client/sdk"
	"github.com/gomirror/gomirror/internal/client/sdk/sdktest"
	"github.com/gomirror/gomirror/internal/pull/pulltest"
	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
)

// installSetup is a fake mirror with a small fake Go release go1.99.0 for
// this machine, as a /golang/ archive and as a golang.org/toolchain module
// vouched for by a fake checksum database the mirror proxies.
type installSetup struct {
	mirror *sdktest.Mirror
	db     *sumdbtest.DB
	home   string
	env    []string
}

const installVersion = "go1.99.0"

// noTelemetry keeps the go command that gomirror runs (go env) from
// starting its telemetry child, which would go on writing in the test's
// HOME after the test ends.
const noTelemetry = "TEST_TELEMETRY_DIR=/dev/null/no-telemetry"

func newInstallSetup(t *testing.T) *installSetup {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake release's bin/go is a shell script")
	}
	m := sdktest.NewMirror(t)
	m.AddRelease(t, installVersion, true, runtime.GOOS, runtime.GOARCH, false)
	m.AddRelease(t, "go1.98.0", true, runtime.GOOS, runtime.GOARCH, false)
	m.AddRelease(t, "go1.100rc1", false, runtime.GOOS, runtime.GOARCH, false)
	mod := sdktest.ToolchainModule(t, installVersion, runtime.GOOS, runtime.GOARCH, sdktest.Tree(installVersion, runtime.GOOS, runtime.GOARCH))
	m.AddModule(mod)
	db := sumdbtest.NewDB(t, "sum.example.test", mod)
	m.ProxySumDB(db)
	home := t.TempDir()
	env := append(baseEnv(), "HOME="+home, "XDG_CONFIG_HOME=", "XDG_CACHE_HOME=", "GOENV=off", "GOTOOLCHAIN=local", noTelemetry,
		"GOPROXY="+m.URL+",direct", "GOSUMDB="+db.Key)
	return &installSetup{mirror: m, db: db, home: home, env: append(env, guardEnv(t)...)}
}

// gomirror runs the gomirror command with the setup's environment and
// returns its stdout, stderr and exit code.
func (s *installSetup) gomirror(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "gomirror", args...)
	cmd.Env = s.env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("gomirror %s: %v", strings.Join(args, " "), err)
	}
	return out.String(), errb.String(), code
}

func (s *installSetup) sdkDir() string { return filepath.Join(s.home, "sdk") }

func checkFakeGo(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(dir, sdk.Marker)); err != nil {
		t.Errorf("no golang.org/dl marker: %v", err)
	}
	out, err := exec.Command(filepath.Join(dir, "bin", "go"), "version").CombinedOutput()
	want := "go version " + installVersion + " " + runtime.GOOS + "/" + runtime.GOARCH + "\n"
	if err != nil || string(out) != want {
		t.Errorf("%s/bin/go version: got %q, %v; want %q", dir, out, err, want)
	}
}

func TestInstallCommandFromArchive(t *testing.T) {
	s := newInstallSetup(t)
	// The mirror comes from GOPROXY, the directory is ~/sdk.
	stdout, stderr, code := s.gomirror(t, "install", installVersion)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	dir := filepath.Join(s.sdkDir(), installVersion)
	for _, want := range []string{
		"installed " + installVersion + " in " + dir + "\n",
		"source: release archive " + s.mirror.URL + "/golang/" + installVersion + "." + runtime.GOOS + "-" + runtime.GOARCH + ".tar.gz\n",
		"checked: sha256 against ",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	// stderr is not a terminal: plain lines, no bar.
	if !strings.Contains(stderr, "downloaded "+installVersion) || strings.Contains(stderr, "\r") {
		t.Errorf("stderr: got %q, want plain progress lines", stderr)
	}
	checkFakeGo(t, dir)

	// Again: refused, with the existing install untouched.
	_, stderr, code = s.gomirror(t, "install", installVersion)
	if code != 1 || !strings.Contains(stderr, "already installed in "+dir+" (--force replaces it)") {
		t.Errorf("second install: exit %d, stderr %q; want 1 and a refusal naming --force", code, stderr)
	}
	checkFakeGo(t, dir)

	stdout, stderr, code = s.gomirror(t, "install", installVersion, "--force")
	if code != 0 || !strings.Contains(stdout, "replaced "+installVersion+" in "+dir) {
		t.Errorf("install --force: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	checkFakeGo(t, dir)
}

func TestInstallCommandWrongChecksum(t *testing.T) {
	s := newInstallSetup(t)
	name := installVersion + "." + runtime.GOOS + "-" + runtime.GOARCH + ".tar.gz"
	s.mirror.Set("golang/"+name+".sha256", []byte(sdktest.SHA256([]byte("something else"))))
	dir := t.TempDir()
	_, stderr, code := s.gomirror(t, "install", installVersion, "--dir", dir, "--mirror", s.mirror.URL)
	if code != 1 || !strings.Contains(stderr, "sha256") {
		t.Errorf("exit %d, stderr %q; want 1 and a sha256 refusal", code, stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused install left %v in %s", entries, dir)
	}
}

func TestInstallCommandFallsBackToToolchainModule(t *testing.T) {
	s := newInstallSetup(t)
	s.mirror.SetNoArchives(http.StatusNotFound)
	dir := t.TempDir()
	stdout, stderr, code := s.gomirror(t, "install", "1.99.0", "--dir", dir, "--mirror", s.mirror.URL)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	m := sdk.ToolchainModuleVersion(installVersion, runtime.GOOS, runtime.GOARCH)
	for _, want := range []string{
		"source: golang.org/toolchain module " + s.mirror.URL + "/golang.org/toolchain/@v/" + m.Version + ".zip\n",
		"(no release archive: the mirror serves no /golang/)",
		"checked: h1 hash against the checksum database sum.example.test via " + s.mirror.URL + "/sumdb/sum.example.test\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	checkFakeGo(t, filepath.Join(dir, installVersion))
	latest := filepath.Join(s.home, ".config", "gomirror", "sumdb", "sum.example.test", "latest")
	if _, err := os.Stat(latest); err != nil {
		t.Errorf("the checksum database's tree head is not kept in gomirror's configuration directory: %v", err)
	}
}

func TestInstallCommandList(t *testing.T) {
	s := newInstallSetup(t)
	if _, stderr, code := s.gomirror(t, "install", installVersion); code != 0 {
		t.Fatalf("install: exit %d\n%s", code, stderr)
	}
	stdout, stderr, code := s.gomirror(t, "install", "--list")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	want := []string{
		"VERSION STABLE INSTALLED",
		"go1.100rc1",
		"go1.99.0 stable installed",
		"go1.98.0 stable",
	}
	if len(lines) != len(want) {
		t.Fatalf("got\n%s\nwant\n%s", stdout, strings.Join(want, "\n"))
	}
	for i := range want {
		if got := strings.Join(strings.Fields(lines[i]), " "); got != want[i] {
			t.Errorf("line %d: got %q, want %q", i, got, want[i])
		}
	}

	s.mirror.SetNoArchives(http.StatusNotFound)
	_, stderr, code = s.gomirror(t, "install", "--list")
	if code != 1 || !strings.Contains(stderr, "serves no /golang/ release archives") {
		t.Errorf("without /golang/: exit %d, stderr %q; want 1 and a message saying so", code, stderr)
	}
}

func TestInstallCommandBadArguments(t *testing.T) {
	s := newInstallSetup(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"install", "go1.22.0/../../x"}, "not a Go release name"},
		{[]string{"install"}, "accepts 1 arg"},
		{[]string{"install", "--list", "go1.22.0"}, "unknown command"},
		{[]string{"install", "go1.22.0", "--mirror", "ftp://x"}, "scheme must be https or http"},
		{[]string{"install", "go1.22.0", "--mirror", "nosuchpreset"}, "unknown mirror"},
	} {
		_, stderr, code := s.gomirror(t, tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("gomirror %s: exit %d, stderr %q; want an error saying %q", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
	}
}

// TestInstallCommandInterrupted sends SIGINT to gomirror install in the
// middle of a download: it must stop, say so, and leave nothing behind.
func TestInstallCommandInterrupted(t *testing.T) {
	s := newInstallSetup(t)
	name := installVersion + "." + runtime.GOOS + "-" + runtime.GOARCH + ".tar.gz"
	halfway := s.mirror.Hang("golang/" + name)
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), "gomirror", "install", installVersion, "--dir", dir)
	cmd.Env = s.env
	var stderr pulltest.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-halfway:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatalf("the download never started:\n%s", stderr.String())
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 130 {
		t.Errorf("got %v, want exit status 130", err)
	}
	if !strings.Contains(stderr.String(), "interrupted; nothing was left behind") {
		t.Errorf("stderr: %q", stderr.String())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("an interrupted install left %v in %s", names, dir)
	}
}

// TestInstallCommandGOTOOLCHAIN checks that gomirror's own go env does
// not switch toolchains: with GOTOOLCHAIN naming the release being
// installed, the go command would otherwise download it first.
func TestInstallCommandGOTOOLCHAIN(t *testing.T) {
	s := newInstallSetup(t)
	s.env = append(s.env, "GOTOOLCHAIN="+installVersion)
	stdout, stderr, code := s.gomirror(t, "install", installVersion)
	if code != 0 || !strings.Contains(stdout, "source: release archive") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	m := sdk.ToolchainModuleVersion(installVersion, runtime.GOOS, runtime.GOARCH)
	if n := s.mirror.Count("golang.org/toolchain/@v/" + m.Version + ".zip"); n != 0 {
		t.Errorf("the toolchain module was downloaded %d times; want 0", n)
	}
	checkFakeGo(t, filepath.Join(s.sdkDir(), installVersion))
}
