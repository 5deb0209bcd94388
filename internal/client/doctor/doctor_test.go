package doctor

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestResolvers(t *testing.T) {
	conf := "# generated\nsearch corp.example\nnameserver 223.5.5.5\nnameserver  2400:3200::1 \noptions edns0\nnameserver\n"
	got := Resolvers([]byte(conf))
	want := []string{"223.5.5.5", "2400:3200::1"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestCheckContainerClients(t *testing.T) {
	dir := t.TempDir()
	certs := filepath.Join(dir, "certs.d")
	write := func(name, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(certs, "docker.io", "hosts.toml"), "server = \"https://registry-1.docker.io\"\n[host.\"http://10.0.0.1:8080\"]\n  capabilities = [\"pull\", \"resolve\"]\n")
	write(filepath.Join(certs, "ghcr.io", "hosts.toml"), "[host.\"https://m.example\"]\n  capabilities = [\"pull\"]\n")
	write(filepath.Join(certs, "quay.io", "hosts.toml"), "[host.bad]\n")
	conf := filepath.Join(dir, "registries.conf")
	write(conf, "[[registry]]\nprefix = \"docker.io\"\nlocation = \"docker.io\"\n[[registry.mirror]]\nlocation = \"10.0.0.1:8080/docker.io\"\ninsecure = true\n[[registry]]\nlocation = \"ghcr.io\"\n[[registry.mirror]]\nlocation = \"https://m.example/ghcr.io\"\n")

	d := &doctor{opts: Options{ContainerdHostsDir: certs, PodmanConfig: conf}}
	d.checkContainerd()
	d.checkPodman()
	want := []struct {
		section, name string
		status        Status
	}{
		{"containerd", "docker.io", OK},
		{"containerd", "ghcr.io", Warn},
		{"containerd", "quay.io", Fail},
		{"podman", "docker.io", OK},
		{"podman", "ghcr.io", Fail},
	}
	if len(d.checks) != len(want) {
		t.Fatalf("got %d checks %+v, want %d", len(d.checks), d.checks, len(want))
	}
	for i, w := range want {
		c := d.checks[i]
		if c.Section != w.section || c.Name != w.name || c.Status != w.status {
			t.Errorf("check %d: got %s/%s %s (%s), want %s/%s %s", i, c.Section, c.Name, c.Status, c.Detail, w.section, w.name, w.status)
		}
		if c.Status != OK && c.Fix == "" {
			t.Errorf("check %d: %s without a fix", i, c.Status)
		}
	}
	// Nothing there: nothing to say.
	d = &doctor{opts: Options{ContainerdHostsDir: filepath.Join(dir, "none"), PodmanConfig: filepath.Join(dir, "none.conf")}}
	d.checkContainerd()
	d.checkPodman()
	if len(d.checks) != 0 {
		t.Errorf("got %+v for missing files, want no checks", d.checks)
	}
}
