package oci

import (
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
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gomirror/gomirror/internal/client/registriesconf"
	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/store/disk"
)

// requireTool returns the path of a command the end-to-end tests drive. It
// skips the test when the command is absent, except in CI (CI=true), where
// scripts/test.sh installs it and its absence is a failure.
func requireTool(tb testing.TB, name string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is not installed, but CI=true (scripts/test.sh installs it): %v", name, err)
		}
		tb.Skipf("%s is not installed (scripts/test.sh installs it): %v", name, err)
	}
	return p
}

// freeAddr returns a loopback address with a port free at the time.
func freeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// distRegistry is Debian's docker-registry (distribution) serving from a
// temporary directory on a loopback port.
type distRegistry struct {
	addr string
	cmd  *exec.Cmd
	done chan struct{}
	log  *bytes.Buffer
}

func startDistRegistry(tb testing.TB) *distRegistry {
	tb.Helper()
	bin := requireTool(tb, "docker-registry")
	dir := tb.TempDir()
	r := &distRegistry{addr: freeAddr(tb), done: make(chan struct{}), log: &bytes.Buffer{}}
	conf := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
http:
  addr: %s
`, filepath.Join(dir, "data"), r.addr)
	confFile := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		tb.Fatal(err)
	}
	r.cmd = exec.Command(bin, "serve", confFile)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		tb.Fatalf("start docker-registry: %v", err)
	}
	go func() { r.cmd.Wait(); close(r.done) }()
	tb.Cleanup(r.stop)
	for deadline := time.Now().Add(30 * time.Second); ; {
		resp, err := http.Get("http://" + r.addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		select {
		case <-r.done:
			tb.Fatalf("docker-registry exited: %s", r.log)
		default:
		}
		if time.Now().After(deadline) {
			tb.Fatalf("docker-registry did not answer on %s: %v\n%s", r.addr, err, r.log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop kills the registry and waits for it to exit.
func (r *distRegistry) stop() {
	select {
	case <-r.done:
		return
	default:
	}
	r.cmd.Process.Kill()
	<-r.done
}

// mirror is gomirror's OCI handler over a disk store, serving one
// upstream registry under the name "registry.test" (the default
// registry too).
type mirror struct {
	srv      *httptest.Server
	mu       sync.Mutex
	requests []string
}

func startMirror(tb testing.TB, upstreamURL string, ttl time.Duration) *mirror {
	tb.Helper()
	dir := tb.TempDir()
	st, err := disk.New(dir, nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	cache, err := pull.New(pull.Config{Store: st, TempDir: filepath.Join(dir, disk.TempDir), StaleGrace: time.Minute})
	if err != nil {
		tb.Fatal(err)
	}
	h, err := New(Config{
		Cache:           cache,
		Registries:      []Registry{{Host: "registry.test", URL: upstreamURL}},
		DefaultRegistry: "registry.test",
		ManifestTTL:     ttl,
	})
	if err != nil {
		tb.Fatal(err)
	}
	m := &mirror{}
	m.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.requests = append(m.requests, r.Method+" "+r.URL.RequestURI())
		m.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	tb.Cleanup(m.srv.Close)
	return m
}

func (m *mirror) host() string { return strings.TrimPrefix(m.srv.URL, "http://") }

// saw reports whether the mirror was asked for a path that contains s.
func (m *mirror) saw(s string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.requests {
		if strings.Contains(r, s) {
			return true
		}
	}
	return false
}

// platformImage is a random image for one platform, with the platform in
// its config as container engines expect.
func platformImage(t *testing.T, p v1.Platform) v1.Image {
	t.Helper()
	img, err := random.Image(2048, 2)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = p.OS, p.Architecture
	cf.Config.Cmd = []string{"/bin/true"}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// multiArchLayout writes an OCI image index for linux/amd64 and
// linux/arm64 as an OCI layout, tagged tag, and returns the layout's
// directory.
func multiArchLayout(t *testing.T, tag string) string {
	t.Helper()
	var adds []mutate.IndexAddendum
	for _, arch := range []string{"amd64", "arm64"} {
		p := v1.Platform{OS: "linux", Architecture: arch}
		img := mutate.MediaType(platformImage(t, p), types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	dir := filepath.Join(t.TempDir(), "layout")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": tag})); err != nil {
		t.Fatal(err)
	}
	return dir
}

// run runs a command, failing the test with its output when it fails.
func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// layoutIndexDigest returns the digest of the index tagged tag in the OCI
// layout at dir.
func layoutIndexDigest(t *testing.T, dir, tag string) v1.Hash {
	t.Helper()
	ii, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := ii.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		if d.Annotations["org.opencontainers.image.ref.name"] == tag {
			return d.Digest
		}
	}
	t.Fatalf("layout %s has no %s", dir, tag)
	return v1.Hash{}
}

// registryDigest returns the digest of ref's manifest as the registry at
// addr serves it, and the manifest.
func registryDigest(t *testing.T, skopeo, addr, ref string) (v1.Hash, string) {
	t.Helper()
	raw := run(t, nil, skopeo, "inspect", "--raw", "--tls-verify=false", "docker://"+addr+"/"+ref)
	h, _, err := v1.SHA256(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return h, raw
}

// TestSkopeoThroughMirror pushes a multi-arch image to Debian's
// docker-registry with skopeo, copies it back through gomirror with
// skopeo, and again once the registry is gone.
func TestSkopeoThroughMirror(t *testing.T) {
	skopeo := requireTool(t, "skopeo")
	reg := startDistRegistry(t)
	src := multiArchLayout(t, "v1")
	run(t, nil, skopeo, "copy", "--all", "--dest-tls-verify=false", "oci:"+src+":v1", "docker://"+reg.addr+"/test/multi:v1")
	want, raw := registryDigest(t, skopeo, reg.addr, "test/multi:v1")
	idx, err := v1.ParseIndexManifest(strings.NewReader(raw))
	if err != nil || len(idx.Manifests) != 2 {
		t.Fatalf("the registry's index: %v, %s", err, raw)
	}

	// A tiny TTL makes every pull refresh the tag, so that the second pull
	// is served stale once the registry is down.
	m := startMirror(t, "http://"+reg.addr, time.Nanosecond)
	pullTo := func(t *testing.T, ref string) v1.Hash {
		t.Helper()
		dst := filepath.Join(t.TempDir(), "out")
		run(t, nil, skopeo, "copy", "--all", "--src-tls-verify=false", "docker://"+m.host()+"/"+ref, "oci:"+dst+":v1")
		return layoutIndexDigest(t, dst, "v1")
	}
	for _, ref := range []string{"test/multi:v1", "registry.test/test/multi:v1"} {
		if got := pullTo(t, ref); got != want {
			t.Errorf("%s: pulled index %s, want %s", ref, got, want)
		}
	}
	if !m.saw("/v2/registry.test/test/multi/manifests/v1") {
		t.Errorf("no path-prefix request reached the mirror")
	}
	// Each platform's image, by digest.
	for _, d := range idx.Manifests {
		out := run(t, nil, skopeo, "inspect", "--raw", "--tls-verify=false", "docker://"+m.host()+"/test/multi@"+d.Digest.String())
		if h, _, err := v1.SHA256(strings.NewReader(out)); err != nil || h != d.Digest {
			t.Errorf("%s: got manifest with digest %s", d.Digest, h)
		}
	}

	reg.stop()
	if got := pullTo(t, "test/multi:v1"); got != want {
		t.Errorf("with the registry down: pulled %s, want %s", got, want)
	}
}

// TestPodmanThroughMirror pulls with podman, whose registries.conf names
// gomirror as the mirror of a registry, and again once the registry is
// gone. It runs where podman can pull as root.
func TestPodmanThroughMirror(t *testing.T) {
	podman := requireTool(t, "podman")
	skopeo := requireTool(t, "skopeo")
	if os.Geteuid() != 0 {
		t.Skip("podman pulls are tested as root only (rootless podman needs user namespaces set up)")
	}
	reg := startDistRegistry(t)
	src := multiArchLayout(t, "v1")
	run(t, nil, skopeo, "copy", "--all", "--dest-tls-verify=false", "oci:"+src+":v1", "docker://"+reg.addr+"/test/multi:v1")
	want, _ := registryDigest(t, skopeo, reg.addr, "test/multi:v1")
	m := startMirror(t, "http://"+reg.addr, time.Nanosecond)

	dir := t.TempDir()
	conf := filepath.Join(dir, "registries.conf")
	// gomirror's podman client writes the mirror: its location names the
	// registry as a path prefix, and podman asks
	// http://<mirror>/v2/registry.test/<repository>/...
	rc, err := registriesconf.Parse([]byte("unqualified-search-registries = []\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.UseMirror("registry.test", m.srv.URL); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, rc.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"CONTAINERS_REGISTRIES_CONF=" + conf}
	base := []string{"--root", filepath.Join(dir, "root"), "--runroot", filepath.Join(dir, "run"), "--storage-driver", "vfs", "--events-backend", "file", "--cgroup-manager", "cgroupfs"}
	pull := func(t *testing.T) string {
		t.Helper()
		run(t, env, podman, append(base, "pull", "--platform", "linux/amd64", "registry.test/test/multi:v1")...)
		out := run(t, env, podman, append(base, "image", "inspect", "--format", "{{.Digest}}", "registry.test/test/multi:v1")...)
		run(t, env, podman, append(base, "rmi", "-f", "registry.test/test/multi:v1")...)
		return strings.TrimSpace(out)
	}
	if got := pull(t); got != want.String() {
		t.Errorf("podman pull: got digest %s, want the index's %s", got, want)
	}
	if !m.saw("/v2/registry.test/test/multi/manifests/v1") {
		t.Errorf("podman did not ask the mirror with the registry as a path prefix")
	}
	reg.stop()
	if got := pull(t); got != want.String() {
		t.Errorf("podman pull with the registry down: got %s, want %s", got, want)
	}
}
