package cargo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The end-to-end test runs the real cargo against the mirror, with a fake
// sparse registry as the upstream, built from crates that Debian ships
// unpacked in /usr/share/cargo/registry (apt packages librust-quote-dev,
// librust-proc-macro2-dev and librust-unicode-ident-dev): quote depends on
// proc-macro2, which depends on unicode-ident. Each is packed again into a
// .crate and given an index line with its dependencies, features and the
// cksum of that .crate.
//
// Sparse registries ("sparse+" URLs) need cargo 1.68 or later. Debian
// bookworm's cargo is 0.66 (Rust 1.65) and cannot read them; rustup's
// cargo can. The test uses the first cargo of 1.68 or later among $CARGO,
// the one on PATH, ~/.cargo/bin/cargo and /usr/bin/cargo, and skips,
// saying so, when there is none. crates.io itself is never contacted.

const debianRegistry = "/usr/share/cargo/registry"

// findCargo returns a cargo that reads sparse registries.
func findCargo(t *testing.T) string {
	t.Helper()
	var candidates []string
	if c := os.Getenv("CARGO"); c != "" {
		candidates = append(candidates, c)
	}
	if c, err := exec.LookPath("cargo"); err == nil {
		candidates = append(candidates, c)
	}
	if home, err := os.UserHomeDir(); err == nil {
		candidates = append(candidates, filepath.Join(home, ".cargo", "bin", "cargo"))
	}
	candidates = append(candidates, "/root/.cargo/bin/cargo", "/usr/bin/cargo")
	var seen []string
	for _, c := range candidates {
		out, err := exec.Command(c, "--version").Output()
		if err != nil {
			continue
		}
		seen = append(seen, c+": "+strings.TrimSpace(string(out)))
		m := regexp.MustCompile(`^cargo (\d+)\.(\d+)`).FindStringSubmatch(string(out))
		if m == nil {
			continue
		}
		major, _ := strconv.Atoi(m[1])
		minor, _ := strconv.Atoi(m[2])
		if major > 1 || major == 1 && minor >= 68 {
			return c
		}
	}
	t.Skipf("no cargo of 1.68 or later (sparse registries) found; found %q", seen)
	return ""
}

// debianCrate is a crate of the graph, as Debian ships it.
type debianCrate struct {
	name     string
	deps     []dep
	features map[string][]string
}

var debianGraph = []debianCrate{
	{name: "quote",
		deps:     []dep{{Name: "proc-macro2", Req: "^1.0.40", Kind: "normal", Features: []string{}}},
		features: map[string][]string{"default": {"proc-macro"}, "proc-macro": {"proc-macro2/proc-macro"}}},
	{name: "proc-macro2",
		deps:     []dep{{Name: "unicode-ident", Req: "^1.0", Kind: "normal", DefaultFeatures: true, Features: []string{}}},
		features: map[string][]string{"default": {"proc-macro"}, "nightly": {}, "proc-macro": {}, "span-locations": {}}},
	{name: "unicode-ident"},
}

// packCrate packs Debian's unpacked crate in dir as cargo package would:
// a gzipped tar of name-version/..., without Debian's
// .cargo-checksum.json, in a fixed order and with fixed times, so that
// its cksum is the same on every run.
func packCrate(t *testing.T, dir, base string) []byte {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && d.Name() != ".cargo-checksum.json" {
			rel, _ := filepath.Rel(dir, p)
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
		if err != nil {
			t.Fatal(err)
		}
		hdr := &tar.Header{Name: base + "/" + f, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(1, 0), Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	return buf.Bytes()
}

// publishDebian publishes the graph on up and returns each crate's
// version and .crate.
func publishDebian(t *testing.T, up *fakeRegistry) map[string]struct {
	vers string
	data []byte
} {
	t.Helper()
	out := map[string]struct {
		vers string
		data []byte
	}{}
	for _, c := range debianGraph {
		dirs, _ := filepath.Glob(filepath.Join(debianRegistry, c.name+"-[0-9]*"))
		if len(dirs) == 0 {
			t.Skipf("%s is not in %s: install librust-%s-dev", c.name, debianRegistry, c.name)
		}
		base := filepath.Base(dirs[len(dirs)-1])
		vers := strings.TrimPrefix(base, c.name+"-")
		data := packCrate(t, dirs[len(dirs)-1], base)
		up.publish(c.name, vers, data, c.deps, c.features)
		out[c.name] = struct {
			vers string
			data []byte
		}{vers, data}
	}
	return out
}

// project writes a crate that depends on quote, and a CARGO_HOME whose
// config.toml sends crates.io to the mirror, as gomirror use cargo does.
func project(t *testing.T, mirrorURL string) (dir, home string) {
	t.Helper()
	dir, home = t.TempDir(), t.TempDir()
	write := func(p, s string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dir, "Cargo.toml"), "[package]\nname = \"e2e\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\nquote = \"1\"\n")
	write(filepath.Join(dir, "src", "lib.rs"), "")
	write(filepath.Join(home, "config.toml"), "[source.crates-io]\nreplace-with = \"gomirror\"\n\n[source.gomirror]\nregistry = \"sparse+"+mirrorURL+"/cargo/index/\"\n\n[net]\nretry = 0\n")
	return dir, home
}

// runCargo runs cargo with args in dir, with home as CARGO_HOME.
func runCargo(t *testing.T, cargoBin, dir, home string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), cargoBin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CARGO_HOME="+home, "CARGO_TERM_COLOR=never", "CARGO_HTTP_TIMEOUT=30", "CARGO_NET_OFFLINE=false")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestEndToEndCargo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs cargo")
	}
	cargoBin := findCargo(t)
	up := newFakeRegistry(t)
	crates := publishDebian(t, up)
	// Index files expire at once, so that the second run, with the
	// upstream gone, is answered from stale copies.
	m := newMirror(t, Config{Index: up.URL(), TTL: time.Nanosecond})

	dir, home := project(t, m.srv.URL)
	for _, args := range [][]string{{"generate-lockfile"}, {"fetch"}} {
		out, err := runCargo(t, cargoBin, dir, home, args...)
		if err != nil {
			t.Fatalf("cargo %s: %v\n%s", args[0], err, out)
		}
		t.Logf("cargo %s:\n%s", args[0], out)
	}
	lock, err := os.ReadFile(filepath.Join(dir, "Cargo.lock"))
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range crates {
		if !strings.Contains(string(lock), "name = \""+name+"\"\nversion = \""+c.vers+"\"") {
			t.Errorf("Cargo.lock lacks %s %s:\n%s", name, c.vers, lock)
		}
		if !m.stored(t, crateName(name, c.vers)) {
			t.Errorf("the mirror did not store %s %s", name, c.vers)
		}
		if n := up.hitCount("/dl/" + name + "/" + c.vers + "/download"); n != 1 {
			t.Errorf("upstream downloads of %s: got %d, want 1", name, n)
		}
	}

	t.Run("tampered crate", func(t *testing.T) {
		up2 := newFakeRegistry(t)
		crates2 := publishDebian(t, up2)
		q := crates2["quote"]
		bad := bytes.Clone(q.data)
		bad[len(bad)/2] ^= 0xff
		up2.tamper("quote", q.vers, bad)
		m2 := newMirror(t, Config{Index: up2.URL()})
		dir, home := project(t, m2.srv.URL)
		out, err := runCargo(t, cargoBin, dir, home, "fetch")
		if err == nil {
			t.Fatalf("cargo fetch of a tampered crate succeeded:\n%s", out)
		}
		good, got := sha256.Sum256(q.data), sha256.Sum256(bad)
		t.Logf("cargo fetch of a tampered crate:\n%s", out)
		if !strings.Contains(out, "502") || !strings.Contains(out, hex.EncodeToString(good[:])) || !strings.Contains(out, hex.EncodeToString(got[:])) {
			t.Errorf("cargo's output does not show the 502 naming both digests:\n%s", out)
		}
		resp, body := m2.get(t, "/cargo/api/v1/crates/quote/"+q.vers+"/download")
		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("direct download: got %s, want 502", resp.Status)
		}
		for _, h := range []string{hex.EncodeToString(good[:]), hex.EncodeToString(got[:])} {
			if !strings.Contains(string(body), h) {
				t.Errorf("the 502 does not name %s: %s", h, body)
			}
		}
		if m2.stored(t, crateName("quote", q.vers)) {
			t.Errorf("the tampered crate was stored")
		}
	})

	t.Run("upstream stopped", func(t *testing.T) {
		up.srv.Close()
		// A fresh CARGO_HOME has no cache of its own: everything comes
		// from the mirror.
		dir, home := project(t, m.srv.URL)
		for _, args := range [][]string{{"generate-lockfile"}, {"fetch"}} {
			if out, err := runCargo(t, cargoBin, dir, home, args...); err != nil {
				t.Fatalf("cargo %s with the upstream stopped: %v\n%s", args[0], err, out)
			}
		}
		resp, _ := m.get(t, "/cargo/index/qu/ot/quote")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Gomirror-Stale") != "true" {
			t.Errorf("index with the upstream stopped: got %s, stale %q; want 200, stale", resp.Status, resp.Header.Get("X-Gomirror-Stale"))
		}
	})
}
