package sdk_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/client/sdk"
	"github.com/gomirror/gomirror/internal/client/sdk/sdktest"
	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
)

const (
	testVersion = "go1.99.0"
	testOS      = "linux"
	testArch    = "amd64"
)

// fixture is a fake mirror with release go1.99.0 as a linux/amd64 archive,
// its golang.org/toolchain module, and a checksum database that knows the
// module, proxied by the mirror.
type fixture struct {
	mirror *sdktest.Mirror
	db     *sumdbtest.DB
	mod    *sumdbtest.Module
	root   string // the sdk directory
	state  string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	m := sdktest.NewMirror(t)
	m.AddRelease(t, testVersion, true, testOS, testArch, false)
	m.AddRelease(t, "go1.98.1", true, testOS, testArch, false)
	m.AddRelease(t, "go1.99rc1", false, testOS, testArch, false)
	mod := sdktest.ToolchainModule(t, testVersion, testOS, testArch, sdktest.Tree(testVersion, testOS, testArch))
	m.AddModule(mod)
	db := sumdbtest.NewDB(t, "sum.example.test", mod)
	m.ProxySumDB(db)
	return &fixture{mirror: m, db: db, mod: mod, root: filepath.Join(t.TempDir(), "sdk"), state: t.TempDir()}
}

func (f *fixture) installer(t *testing.T) *sdk.Installer {
	return &sdk.Installer{
		Mirror:   f.mirror.URL,
		HTTP:     sumdbtest.LocalClient(t),
		GOSUMDB:  f.db.Key,
		StateDir: f.state,
		CacheDir: filepath.Join(f.state, "cache"),
		GOOS:     testOS,
		GOARCH:   testArch,
	}
}

func (f *fixture) install(t *testing.T, ctx context.Context, force bool) (*sdk.Result, error) {
	t.Helper()
	return f.installer(t).Install(ctx, sdk.Options{Version: testVersion, Root: f.root, Force: force})
}

// checkInstalled checks that go1.99.0 is completely installed and runs.
func checkInstalled(t *testing.T, root string) {
	t.Helper()
	dir := filepath.Join(root, testVersion)
	if !sdk.Installed(root, testVersion) {
		t.Fatalf("%s has no %s marker", dir, sdk.Marker)
	}
	for _, exe := range []string{"bin/go", "bin/gofmt", "pkg/tool/linux_amd64/compile", "lib/wasm/go_js_wasm_exec"} {
		fi, err := os.Stat(filepath.Join(dir, exe))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&0o111 != 0o111 {
			t.Errorf("%s: mode %v, want executable by all", exe, fi.Mode())
		}
	}
	for _, plain := range []string{"lib/time/README", "src/fmt/print.go"} {
		fi, err := os.Stat(filepath.Join(dir, plain))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&0o111 != 0 {
			t.Errorf("%s: mode %v, want not executable", plain, fi.Mode())
		}
	}
	for name, want := range map[string]string{"src/go.mod": "module std\n", "src/cmd/go.mod": "module cmd\n"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !strings.HasPrefix(string(data), want) {
			t.Errorf("%s: got %q, %v; want it to begin %q", name, data, err, want)
		}
	}
	if runtime.GOOS != "windows" {
		out, err := exec.Command(filepath.Join(dir, "bin", "go"), "version").CombinedOutput()
		if err != nil || string(out) != "go version go1.99.0 linux/amd64\n" {
			t.Errorf("bin/go version: got %q, %v; want %q", out, err, "go version go1.99.0 linux/amd64\n")
		}
	}
}

// checkOnly fails unless root holds exactly names: no staging directory,
// no temporary file, nothing half-unpacked.
func checkOnly(t *testing.T, root string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, " ") != strings.Join(names, " ") {
		t.Errorf("%s holds %q, want %q", root, got, names)
	}
}

func TestInstallFromArchive(t *testing.T) {
	for _, tc := range []struct {
		name   string
		zipped bool
		strip  func(f *sdktest.File) // changes the index entry
	}{
		{name: "tar.gz"},
		{name: "zip", zipped: true},
		{name: "index without sha256 and size", strip: func(f *sdktest.File) { f.SHA256, f.Size = "", 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := sdktest.NewMirror(t)
			tree := sdktest.Tree(testVersion, testOS, testArch)
			name := testVersion + ".linux-amd64.tar.gz"
			data := sdktest.TarGz(t, tree)
			if tc.zipped {
				name = testVersion + ".linux-amd64.zip"
				data = sdktest.Zip(t, tree, true)
			}
			f := sdktest.File{Filename: name, OS: testOS, Arch: testArch, Version: testVersion, SHA256: sdktest.SHA256(data), Size: int64(len(data)), Kind: "archive"}
			m.AddFile(testVersion, true, sdktest.File{Filename: testVersion + ".src.tar.gz", Version: testVersion, Kind: "source", SHA256: sdktest.SHA256([]byte("src")), Size: 3}, []byte("src"))
			m.AddFile(testVersion, true, sdktest.File{Filename: testVersion + ".windows-amd64.msi", OS: "windows", Arch: testArch, Version: testVersion, Kind: "installer", SHA256: sdktest.SHA256([]byte("msi")), Size: 3}, []byte("msi"))
			sum := f.SHA256
			if tc.strip != nil {
				tc.strip(&f)
			}
			m.AddFile(testVersion, true, f, data)
			m.Set("golang/"+name+".sha256", []byte(sum+"  "+name+"\n"))

			root := filepath.Join(t.TempDir(), "sdk")
			var progress bytes.Buffer
			in := &sdk.Installer{Mirror: m.URL + "/", HTTP: sumdbtest.LocalClient(t), StateDir: t.TempDir(), GOOS: testOS, GOARCH: testArch, Progress: &progress}
			res, err := in.Install(t.Context(), sdk.Options{Version: testVersion, Root: root})
			if err != nil {
				t.Fatal(err)
			}
			if res.Source != sdk.Archive || res.URL != m.URL+"/golang/"+name || res.Fallback != "" || res.Replaced {
				t.Errorf("got %+v, want the archive %s", res, name)
			}
			if !strings.Contains(res.Checked, "sha256 against "+name+".sha256") {
				t.Errorf("Checked = %q, want it to name the .sha256 file", res.Checked)
			}
			checkInstalled(t, root)
			checkOnly(t, root, testVersion)
			if !strings.Contains(progress.String(), "downloaded "+name) {
				t.Errorf("progress: got %q, want a line saying %s was downloaded", progress.String(), name)
			}
			if n := m.Count("golang.org/toolchain/@v/v0.0.1-go1.99.0.linux-amd64.zip"); n != 0 {
				t.Errorf("the toolchain module was fetched %d times; want 0 when the archive is there", n)
			}
		})
	}
}

func TestBadArchiveRefusedWithNothingLeft(t *testing.T) {
	name := testVersion + ".linux-amd64.tar.gz"
	for _, tc := range []struct {
		name   string
		break_ func(f *fixture)
		want   string
	}{
		{"wrong .sha256", func(f *fixture) { f.mirror.Set("golang/"+name+".sha256", []byte(sdktest.SHA256([]byte("other")))) }, "index says sha256"},
		{"archive replaced, other size", func(f *fixture) {
			data := sdktest.TarGz(t, map[string]string{"bin/go": "#!/bin/sh\necho evil\n"})
			f.mirror.Set("golang/"+name, data)
		}, "the index says 5"},
		{"archive replaced, same size", func(f *fixture) {
			orig := sdktest.TarGz(t, sdktest.Tree(testVersion, testOS, testArch))
			evil := bytes.Clone(orig)
			evil[len(evil)/2] ^= 0xff
			f.mirror.Set("golang/"+name, evil)
		}, "checksum mismatch"},
		{"not a .sha256 file", func(f *fixture) { f.mirror.Set("golang/"+name+".sha256", []byte("<html>hello</html>")) }, "not a hex SHA-256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.break_(f)
			_, err := f.install(t, t.Context(), false)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one saying %q", err, tc.want)
			}
			if _, err := os.Stat(f.root); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("the sdk directory, which the install created, is still there: %v", err)
			}
			if n := f.mirror.Count("golang.org/toolchain/@v/v0.0.1-go1.99.0.linux-amd64.zip"); n != 0 {
				t.Errorf("the toolchain module was fetched %d times after a failed check; want 0", n)
			}
		})
	}
}

func TestExistingInstall(t *testing.T) {
	f := newFixture(t)
	if _, err := f.install(t, t.Context(), false); err != nil {
		t.Fatal(err)
	}
	mine := filepath.Join(f.root, testVersion, "mine")
	os.WriteFile(mine, []byte("a file of the user's"), 0o644)

	_, err := f.install(t, t.Context(), false)
	var ee *sdk.ExistsError
	if !errors.Is(err, sdk.ErrExists) || !errors.As(err, &ee) || !ee.Complete {
		t.Fatalf("second install: got %v, want an ExistsError for a complete install", err)
	}
	if !strings.Contains(err.Error(), "--force") {
		t.Errorf("error %q does not mention --force", err)
	}
	if _, err := os.Stat(mine); err != nil {
		t.Errorf("a refused install touched the existing one: %v", err)
	}

	res, err := f.install(t, t.Context(), true)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Replaced {
		t.Errorf("Replaced = false, want true")
	}
	if _, err := os.Stat(mine); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the old install's file survived --force: %v", err)
	}
	checkInstalled(t, f.root)
	checkOnly(t, f.root, testVersion)

	// A directory without the marker is no install, and is not replaced
	// without --force either.
	os.RemoveAll(filepath.Join(f.root, testVersion))
	os.MkdirAll(filepath.Join(f.root, testVersion, "bin"), 0o755)
	_, err = f.install(t, t.Context(), false)
	if !errors.As(err, &ee) || ee.Complete {
		t.Fatalf("install over a partial directory: got %v, want an ExistsError for an incomplete install", err)
	}
}

func TestInterruptedDownloadCleanedUp(t *testing.T) {
	for _, tc := range []struct {
		name   string
		file   string
		setup  func(f *fixture)
		exists bool // an older install is there, with --force
	}{
		{name: "archive", file: "golang/" + testVersion + ".linux-amd64.tar.gz"},
		{name: "archive over an install", file: "golang/" + testVersion + ".linux-amd64.tar.gz", exists: true},
		{name: "toolchain module", file: "golang.org/toolchain/@v/v0.0.1-go1.99.0.linux-amd64.zip", setup: func(f *fixture) { f.mirror.SetNoArchives(http.StatusNotFound) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.setup != nil {
				tc.setup(f)
			}
			if tc.exists {
				if _, err := f.install(t, t.Context(), false); err != nil {
					t.Fatal(err)
				}
			}
			halfway := f.mirror.Hang(tc.file)
			ctx, cancel := context.WithCancel(t.Context())
			go func() {
				<-halfway
				cancel() // as SIGINT does to gomirror's context
			}()
			_, err := f.install(t, ctx, tc.exists)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("got %v, want context.Canceled", err)
			}
			if tc.exists {
				checkInstalled(t, f.root)
				checkOnly(t, f.root, testVersion)
			} else {
				checkOnly(t, f.root)
			}
		})
	}
}

func TestFallbackToToolchainModule(t *testing.T) {
	for _, tc := range []struct {
		name   string
		setup  func(f *fixture)
		reason string
	}{
		{"no /golang/", func(f *fixture) { f.mirror.SetNoArchives(http.StatusNotFound) }, "the mirror serves no /golang/"},
		{"/golang/ is a bad module path", func(f *fixture) { f.mirror.SetNoArchives(http.StatusBadRequest) }, "the mirror serves no /golang/"},
		{"/golang/ failing", func(f *fixture) { f.mirror.SetNoArchives(http.StatusBadGateway) }, "the /golang/ index is unavailable: "},
		{"index not JSON", func(f *fixture) { f.mirror.SetIndex([]byte("<html>Index of /golang/</html>")) }, "the /golang/ index is unavailable: "},
		{"archive 404", func(f *fixture) { f.mirror.Set("golang/"+testVersion+".linux-amd64.tar.gz", nil) }, "404 Not Found"},
		{".sha256 404", func(f *fixture) { f.mirror.Set("golang/"+testVersion+".linux-amd64.tar.gz.sha256", nil) }, "404 Not Found"},
		{"not in the index", func(f *fixture) {
			f.mirror = sdktest.NewMirror(t)
			f.mirror.AddRelease(t, "go1.98.1", true, testOS, testArch, false)
			f.mirror.AddModule(f.mod)
			f.mirror.ProxySumDB(f.db)
		}, "the /golang/ index does not list go1.99.0"},
		{"no archive for this platform", func(f *fixture) {
			f.mirror = sdktest.NewMirror(t)
			f.mirror.AddRelease(t, testVersion, true, "darwin", "arm64", false)
			f.mirror.AddModule(f.mod)
			f.mirror.ProxySumDB(f.db)
		}, "/golang/ has no go1.99.0 archive for linux/amd64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			tc.setup(f)
			res, err := f.install(t, t.Context(), false)
			if err != nil {
				t.Fatal(err)
			}
			if res.Source != sdk.ToolchainModule || !strings.Contains(res.Fallback, tc.reason) {
				t.Errorf("got source %v, fallback %q; want the toolchain module because %q", res.Source, res.Fallback, tc.reason)
			}
			if want := f.mirror.URL + "/golang.org/toolchain/@v/v0.0.1-go1.99.0.linux-amd64.zip"; res.URL != want {
				t.Errorf("URL = %q, want %q", res.URL, want)
			}
			if want := "checksum database sum.example.test via " + f.mirror.URL + "/sumdb/sum.example.test"; !strings.Contains(res.Checked, want) {
				t.Errorf("Checked = %q, want it to say %q", res.Checked, want)
			}
			checkInstalled(t, f.root)
			checkOnly(t, f.root, testVersion)
			for _, name := range []string{"_go.mod", "go.mod"} {
				if _, err := os.Stat(filepath.Join(f.root, testVersion, "src", name)); err != nil {
					t.Errorf("src/%s: %v", name, err)
				}
			}
			if data, err := os.ReadFile(filepath.Join(f.state, "sum.example.test", "latest")); err != nil || !bytes.HasPrefix(data, []byte("go.sum database tree\n")) {
				t.Errorf("the verified tree head was not kept: %q, %v", data, err)
			}
			if f.db.LookupRequests() != 1 {
				t.Errorf("the checksum database had %d lookups, want 1", f.db.LookupRequests())
			}
		})
	}
}

func TestToolchainModuleRefused(t *testing.T) {
	for _, tc := range []struct {
		name     string
		setup    func(f *fixture, in *sdk.Installer)
		want     string
		notFound bool
	}{
		{"checksum mismatch", func(f *fixture, in *sdk.Installer) {
			f.db.AddLines(f.mod.Version, strings.Replace(f.mod.GoSum(), f.mod.ZipHash, "h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 1))
		}, "checksum mismatch", false},
		{"unknown to the database", func(f *fixture, in *sdk.Installer) {
			other := sumdbtest.NewDB(t, "sum.example.test")
			f.mirror.ProxySumDB(other)
			in.GOSUMDB = other.Key
		}, "verifying golang.org/toolchain@v0.0.1-go1.99.0.linux-amd64", false},
		{"GOSUMDB=off", func(f *fixture, in *sdk.Installer) { in.GOSUMDB = "off" }, "GOSUMDB=off", false},
		{"database down", func(f *fixture, in *sdk.Installer) { f.db.SetDown(true) }, "503", false},
		{"no such toolchain", func(f *fixture, in *sdk.Installer) {
			f.mirror.Set("golang.org/toolchain/@v/v0.0.1-go1.99.0.linux-amd64.zip", nil)
		}, "not available: the mirror serves no /golang/", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.mirror.SetNoArchives(http.StatusNotFound)
			in := f.installer(t)
			tc.setup(f, in)
			_, err := in.Install(t.Context(), sdk.Options{Version: testVersion, Root: f.root})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error saying %q", err, tc.want)
			}
			if got := errors.Is(err, fs.ErrNotExist); got != tc.notFound {
				t.Errorf("errors.Is(err, fs.ErrNotExist) = %v, want %v", got, tc.notFound)
			}
			checkOnly(t, f.root)
		})
	}
}

func TestReleases(t *testing.T) {
	f := newFixture(t)
	f.mirror.AddRelease(t, "go1.100.0", true, testOS, testArch, false)
	f.mirror.AddRelease(t, "go1.9", true, testOS, testArch, false)
	rels, err := f.installer(t).Releases(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rels {
		got = append(got, r.Version)
	}
	if want := "go1.100.0 go1.99.0 go1.99rc1 go1.98.1 go1.9"; strings.Join(got, " ") != want {
		t.Errorf("got %q, want %q", strings.Join(got, " "), want)
	}
	if rels[2].Stable || !rels[1].Stable {
		t.Errorf("stable flags lost: %+v", rels)
	}

	f.mirror.SetNoArchives(http.StatusNotFound)
	if _, err := f.installer(t).Releases(t.Context()); !errors.Is(err, sdk.ErrNoArchives) {
		t.Errorf("without /golang/: got %v, want ErrNoArchives", err)
	}
	f.mirror.SetNoArchives(http.StatusInternalServerError)
	if _, err := f.installer(t).Releases(t.Context()); err == nil || errors.Is(err, sdk.ErrNoArchives) {
		t.Errorf("with /golang/ failing: got %v, want an error that is not ErrNoArchives", err)
	}
}

func TestCheckVersion(t *testing.T) {
	for v, ok := range map[string]bool{
		"go1.22.0": true, "go1.21rc2": true, "go1.20": true, "go1.9.2beta1": false, "go1.22beta1": true,
		"1.22.0": false, "go1.22.0/../x": false, "go1.22.0-custom": false, "go": false, "": false, "go1.22.0 ": false, "..": false,
	} {
		if err := sdk.CheckVersion(v); (err == nil) != ok {
			t.Errorf("CheckVersion(%q) = %v, want ok=%v", v, err, ok)
		}
	}
}

func TestProgress(t *testing.T) {
	for _, terminal := range []bool{false, true} {
		f := newFixture(t)
		var out bytes.Buffer
		in := f.installer(t)
		in.Progress, in.Terminal = &out, terminal
		if _, err := in.Install(t.Context(), sdk.Options{Version: testVersion, Root: f.root}); err != nil {
			t.Fatal(err)
		}
		name := testVersion + ".linux-amd64.tar.gz"
		if terminal {
			if !strings.Contains(out.String(), "\r\033[K"+name+" [") || !strings.Contains(out.String(), "100%") {
				t.Errorf("terminal progress: got %q, want a bar redrawn in place up to 100%%", out.String())
			}
		} else {
			if strings.Contains(out.String(), "\r") || !strings.HasPrefix(out.String(), "downloading "+name+" (") {
				t.Errorf("plain progress: got %q, want plain lines", out.String())
			}
		}
	}
}

// TestToolchainModuleGOSUMDBURL checks that a GOSUMDB naming a URL is used
// as is, bypassing the mirror's /sumdb/, as the go command does.
func TestToolchainModuleGOSUMDBURL(t *testing.T) {
	f := newFixture(t)
	f.mirror.SetNoArchives(http.StatusNotFound)
	in := f.installer(t)
	in.GOSUMDB = f.db.Key + " " + f.db.URL
	res, err := in.Install(t.Context(), sdk.Options{Version: testVersion, Root: f.root})
	if err != nil {
		t.Fatal(err)
	}
	if want := "via " + f.db.URL; !strings.HasSuffix(res.Checked, want) {
		t.Errorf("Checked = %q, want it to end %q", res.Checked, want)
	}
	if n := f.mirror.Count("sumdb/sum.example.test/supported"); n != 0 {
		t.Errorf("the mirror's /sumdb/ was asked %d times; want 0", n)
	}
	checkInstalled(t, f.root)
}
