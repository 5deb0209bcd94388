package pypi

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// python returns a python3 that can make a venv with pip, or skips the
// test: scripts/test.sh installs Debian's python3-venv and python3-pip.
func python(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import venv, ensurepip").Run() == nil {
			return path
		}
	}
	t.Skip("pip end-to-end: cannot find python3 with venv and ensurepip (Debian: python3-venv python3-pip)")
	return ""
}

// venv makes a virtual environment with pip and returns its bin directory.
func venv(t *testing.T, py string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "venv")
	if out, err := exec.CommandContext(t.Context(), py, "-m", "venv", dir).CombinedOutput(); err != nil {
		t.Fatalf("python3 -m venv: %v\n%s", err, out)
	}
	return filepath.Join(dir, "bin")
}

// pip runs the venv's pip against the mirror, with no user configuration
// and no cache.
func pip(t *testing.T, bin, index string, args ...string) (string, error) {
	t.Helper()
	full := append([]string{"-m", "pip", "--disable-pip-version-check", "--no-cache-dir", "--no-input"}, args...)
	if index != "" {
		full = append(full, "--index-url", index)
	}
	cmd := exec.CommandContext(t.Context(), filepath.Join(bin, "python"), full...)
	cmd.Env = append(os.Environ(), "PIP_CONFIG_FILE="+os.DevNull, "PIP_NO_PYTHON_VERSION_WARNING=1", "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestPip(t *testing.T) {
	py := python(t)
	ix := newFakeIndex(t, false)
	a := buildWheel(t, "a", "1.0", "b>=1.0")
	b := buildWheel(t, "b", "1.0")
	good := buildWheel(t, "c", "1.0")
	bad := buildWheel(t, "c", "2.0")
	reason := "2.0 deletes your files"
	bad.yanked = &reason
	ix.add("a", a)
	ix.add("b", b)
	ix.add("c", good, bad)
	// Pages always expire: with the upstream down they are served stale.
	m := newMirror(t, Config{PageTTL: time.Nanosecond}, ix)
	index := m.srv.URL + "/pypi/simple/"
	bin := venv(t, py)

	t.Run("download", func(t *testing.T) {
		dest := t.TempDir()
		if out, err := pip(t, bin, index, "download", "--dest", dest, "a"); err != nil {
			t.Fatalf("pip download a: %v\n%s", err, out)
		}
		for _, f := range []fakeFile{a, b} {
			got, err := os.ReadFile(filepath.Join(dest, f.name))
			if err != nil || !bytes.Equal(got, f.data) {
				t.Errorf("%s: got %d bytes, %v; want the upstream's %d", f.name, len(got), err, len(f.data))
			}
		}
	})

	install := func(t *testing.T, args ...string) {
		t.Helper()
		if out, err := pip(t, bin, index, append([]string{"install"}, args...)...); err != nil {
			t.Fatalf("pip install %v: %v\n%s", args, err, out)
		}
		out, err := exec.CommandContext(t.Context(), filepath.Join(bin, "python"), "-c", "import a, b; print(a.VERSION, b.VERSION)").CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "1.0 1.0" {
			t.Fatalf("importing a and b: %v: %s", err, out)
		}
		if out, err := pip(t, bin, "", "uninstall", "-y", "a", "b"); err != nil {
			t.Fatalf("pip uninstall: %v\n%s", err, out)
		}
	}
	t.Run("install", func(t *testing.T) { install(t, "a") })

	reqs := filepath.Join(t.TempDir(), "requirements.txt")
	os.WriteFile(reqs, []byte("a==1.0 --hash=sha256:"+sum(a.data)+"\nb==1.0 --hash=sha256:"+sum(b.data)+"\n"), 0o644)
	t.Run("require-hashes", func(t *testing.T) { install(t, "--require-hashes", "-r", reqs) })
	t.Run("require-hashes mismatch", func(t *testing.T) {
		wrong := filepath.Join(t.TempDir(), "requirements.txt")
		os.WriteFile(wrong, []byte("a==1.0 --hash=sha256:"+sum(b.data)+"\nb==1.0 --hash=sha256:"+sum(b.data)+"\n"), 0o644)
		out, err := pip(t, bin, index, "install", "--require-hashes", "-r", wrong)
		if err == nil || !strings.Contains(out, "DO NOT MATCH") {
			t.Errorf("pip install with a wrong hash: got %v, want a hash failure\n%s", err, out)
		}
	})

	t.Run("yanked", func(t *testing.T) {
		dest := t.TempDir()
		if out, err := pip(t, bin, index, "download", "--no-deps", "--dest", dest, "c"); err != nil {
			t.Fatalf("pip download c: %v\n%s", err, out)
		}
		if _, err := os.Stat(filepath.Join(dest, bad.name)); err == nil {
			t.Errorf("pip chose the yanked %s", bad.name)
		}
		if _, err := os.Stat(filepath.Join(dest, good.name)); err != nil {
			t.Errorf("pip did not choose %s: %v", good.name, err)
		}
		out, err := pip(t, bin, index, "download", "--no-deps", "--dest", dest, "c==2.0")
		if err != nil {
			t.Fatalf("pip download c==2.0: %v\n%s", err, out)
		}
		if !strings.Contains(out, reason) {
			t.Errorf("pip did not show the yank reason %q:\n%s", reason, out)
		}
		if _, err := os.Stat(filepath.Join(dest, bad.name)); err != nil {
			t.Errorf("pinned yanked version not downloaded: %v", err)
		}
	})

	t.Run("upstream down", func(t *testing.T) {
		ix.down.Store(true)
		defer ix.down.Store(false)
		before := ix.hitCount("/files/" + a.name)
		install(t, "a")
		if n := ix.hitCount("/files/" + a.name); n != before {
			t.Errorf("upstream asked for %s again: %d requests, want %d", a.name, n, before)
		}
		if !strings.Contains(m.logs.String(), "serving stale metadata") {
			t.Errorf("pages were not served stale:\n%s", m.logs.String())
		}
	})
}
