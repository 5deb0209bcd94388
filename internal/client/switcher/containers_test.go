package switcher

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/client/mirrors"
)

func testSwitcher(t *testing.T, env map[string]string) (*Switcher, *bytes.Buffer) {
	t.Helper()
	out := &bytes.Buffer{}
	return &Switcher{Getenv: func(k string) string { return env[k] }, Out: out}, out
}

func TestUseRestoreContainerd(t *testing.T) {
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs.d")
	s, out := testSwitcher(t, map[string]string{"HOME": filepath.Join(dir, "home"), "GOMIRROR_CONTAINERD_CERTS_D": certs})
	ctx := t.Context()
	for _, reg := range []string{"", "ghcr.io"} {
		if err := s.Use(ctx, UseOptions{Target: Containerd, Mirror: "https://mirror.example", Registry: reg}); err != nil {
			t.Fatal(err)
		}
	}
	hub, err := os.ReadFile(filepath.Join(certs, "docker.io", "hosts.toml"))
	if err != nil {
		t.Fatal(err)
	}
	want := "server = \"https://registry-1.docker.io\"\n\n[host.\"https://mirror.example\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
	if string(hub) != want {
		t.Errorf("docker.io hosts.toml: got\n%s\nwant\n%s", hub, want)
	}
	gh, err := os.ReadFile(filepath.Join(certs, "ghcr.io", "hosts.toml"))
	if err != nil || !strings.Contains(string(gh), `server = "https://ghcr.io"`) {
		t.Errorf("ghcr.io hosts.toml: got %s, %v", gh, err)
	}
	if !strings.Contains(out.String(), "config_path") {
		t.Errorf("no note on containerd's config_path in %q", out)
	}
	// Again: nothing to change.
	out.Reset()
	if err := s.Use(ctx, UseOptions{Target: Containerd, Mirror: "https://mirror.example"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "nothing to change") {
		t.Errorf("second use: got %q", out)
	}
	if err := s.Restore(ctx, Containerd, "", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(certs); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after restore, %s: %v; want it removed, gomirror created it", certs, err)
	}
	if err := s.Use(ctx, UseOptions{Target: mirrors.Npm, Mirror: "https://m.example", Registry: "ghcr.io"}); err == nil {
		t.Errorf("--registry for npm: got no error")
	}
}

func TestUseRestorePodman(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "registries.conf")
	orig := "# site settings\r\nunqualified-search-registries = [\"docker.io\"]\r\n\r\n[[registry]]\r\nprefix = \"docker.io\"\r\nlocation = \"docker.io\"\r\n"
	if err := os.WriteFile(conf, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	s, _ := testSwitcher(t, map[string]string{"HOME": filepath.Join(dir, "home"), "CONTAINERS_REGISTRIES_CONF": conf})
	ctx := t.Context()
	if err := s.Use(ctx, UseOptions{Target: Podman, Mirror: "http://10.1.2.3:8080"}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(conf)
	want := orig + "\r\n[[registry.mirror]]\r\nlocation = \"10.1.2.3:8080/docker.io\"\r\ninsecure = true\r\n"
	if string(got) != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	if fi, _ := os.Stat(conf); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode changed to %v", fi.Mode().Perm())
	}
	if err := s.Restore(ctx, Podman, "", false); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(conf); string(got) != orig {
		t.Errorf("after restore: got %q, want the original %q", got, orig)
	}
}

func TestDefaultFilePodman(t *testing.T) {
	env := map[string]string{"HOME": "/h", "XDG_CONFIG_HOME": "/x"}
	got, err := DefaultFile(Podman, func(k string) string { return env[k] })
	want := "/x/containers/registries.conf"
	if os.Geteuid() == 0 {
		want = "/etc/containers/registries.conf"
	}
	if err != nil || got != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
}
