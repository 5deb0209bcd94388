// Package vulndbtest provides what tests of the vulnerability database
// need: sample OSV entries and module zips of golang.org/x/vulndb made from
// them, the real database downloaded from a public Go module proxy, and the
// real govulncheck with a small module it finds vulnerable.
package vulndbtest

import (
	"archive/zip"
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/semver"

	"github.com/gomirror/gomirror/internal/vulndb"
)

//go:embed testdata/osv/*.json
var osvFS embed.FS

// SampleVersion is the version of golang.org/x/vulndb that [SampleZip]
// makes.
const SampleVersion = "v0.0.0-20240102030405-abcdefabcdef"

// SampleTime returns the .info time of SampleVersion,
// 2024-01-02T03:04:05Z.
func SampleTime() time.Time { return time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC) }

// OSVFiles returns the sample OSV entries, by their name in the module:
// "data/osv/GO-2021-0113.json". They are GO-2021-0113 and GO-2022-1059
// (golang.org/x/text below v0.3.7 and v0.3.8), GO-2022-0969 (stdlib and
// golang.org/x/net), the withdrawn GO-2022-0617 (k8s.io/kubernetes), all
// from the real database, and the made-up GO-2099-0001: example.com/multi
// affected in [v1.0.0, v1.2.0), [v1.5.0, v1.5.3) and from v2.0.0-pre on,
// and every version of example.com/all.
func OSVFiles() map[string][]byte {
	files := make(map[string][]byte)
	names, _ := fs.Glob(osvFS, "testdata/osv/*.json")
	for _, name := range names {
		data, err := osvFS.ReadFile(name)
		if err != nil {
			panic(err) // embedded: cannot happen
		}
		files["data/osv/"+path.Base(name)] = data
	}
	return files
}

// ModuleZip returns a module zip of golang.org/x/vulndb at version holding
// files (names relative to the module root) and a go.mod.
func ModuleZip(t testing.TB, version string, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	prefix := "golang.org/x/vulndb@" + version + "/"
	all := map[string][]byte{"go.mod": []byte("module golang.org/x/vulndb\n\ngo 1.23\n")}
	for name, data := range files {
		all[name] = data
	}
	for name, data := range all {
		f, err := w.Create(prefix + name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// SampleZip returns the module zip of golang.org/x/vulndb@SampleVersion
// holding OSVFiles.
func SampleZip(t testing.TB) []byte {
	t.Helper()
	return ModuleZip(t, SampleVersion, OSVFiles())
}

// SampleDB builds the database of SampleZip.
func SampleDB(t testing.TB) *vulndb.DB {
	t.Helper()
	z := SampleZip(t)
	db, err := vulndb.Build(t.Context(), bytes.NewReader(z), int64(len(z)), SampleTime())
	if err != nil {
		t.Fatalf("building the sample database: %v", err)
	}
	return db
}

// WriteDir writes every file of db into dir, as a static file server or
// govulncheck -db file://DIR reads them.
func WriteDir(t testing.TB, db *vulndb.DB, dir string) {
	t.Helper()
	for _, name := range db.Names() {
		data, _ := db.File(name)
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o666); err != nil {
			t.Fatal(err)
		}
	}
}

// PublicProxy returns the first proxy of the machine's go env GOPROXY, or
// skips the test, saying so, when that proxy cannot be reached.
func PublicProxy(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOPROXY").Output()
	if err != nil {
		t.Fatalf("go env GOPROXY: %v", err)
	}
	proxy, _, _ := strings.Cut(strings.TrimSpace(string(out)), ",")
	proxy, _, _ = strings.Cut(proxy, "|")
	if !strings.HasPrefix(proxy, "https://") && !strings.HasPrefix(proxy, "http://") {
		proxy = "https://proxy.golang.org"
	}
	resp, err := get(t, proxy+"/golang.org/x/text/@v/v0.3.5.info")
	if err != nil {
		t.Skipf("end-to-end test skipped: cannot reach the Go module proxy %s: %v", proxy, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Skipf("end-to-end test skipped: cannot reach the Go module proxy %s: it answered %s", proxy, resp.Status)
	}
	return proxy
}

func get(t testing.TB, url string) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return http.DefaultClient.Do(req)
}

// KnownVersion is a version of golang.org/x/vulndb known to be served,
// used when the proxy answers neither @latest nor @v/list.
const KnownVersion = "v0.0.0-20261105234957-e22db6528018"

// LatestVersion returns the latest version of golang.org/x/vulndb that
// proxy serves: its @latest, or the highest of its @v/list (the proxy may
// answer only one of them), or KnownVersion.
func LatestVersion(t testing.TB, proxy string) string {
	t.Helper()
	if resp, err := get(t, proxy+"/golang.org/x/vulndb/@latest"); err == nil {
		defer resp.Body.Close()
		var info struct{ Version string }
		if resp.StatusCode == http.StatusOK && json.NewDecoder(resp.Body).Decode(&info) == nil && semver.IsValid(info.Version) {
			return info.Version
		}
	}
	latest := ""
	if resp, err := get(t, proxy+"/golang.org/x/vulndb/@v/list"); err == nil {
		defer resp.Body.Close()
		var buf bytes.Buffer
		if _, err := buf.ReadFrom(resp.Body); err == nil && resp.StatusCode == http.StatusOK {
			for _, v := range strings.Fields(buf.String()) {
				if semver.IsValid(v) && semver.Compare(v, latest) > 0 {
					latest = v
				}
			}
		}
	}
	if latest == "" {
		latest = KnownVersion
	}
	return latest
}

// Download fetches golang.org/x/vulndb@version through the go command
// (go mod download, which checks it against the checksum database and keeps
// it in the module cache) and returns its zip's content and its .info time.
func Download(t testing.TB, version string) (zipData []byte, modified time.Time) {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", "golang.org/x/vulndb@"+version).Output()
	if err != nil {
		t.Fatalf("go mod download golang.org/x/vulndb@%s: %v\n%s", version, err, stderr(err))
	}
	var dl struct{ Zip, Info string }
	if err := json.Unmarshal(out, &dl); err != nil {
		t.Fatalf("go mod download: %v\n%s", err, out)
	}
	info, err := os.ReadFile(dl.Info)
	if err != nil {
		t.Fatal(err)
	}
	var i struct{ Time time.Time }
	if err := json.Unmarshal(info, &i); err != nil {
		t.Fatalf("%s: %v", dl.Info, err)
	}
	zipData, err = os.ReadFile(dl.Zip)
	if err != nil {
		t.Fatal(err)
	}
	return zipData, i.Time
}

func stderr(err error) []byte {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.Stderr
	}
	return nil
}

// GovulncheckVersion is the version of golang.org/x/vuln whose govulncheck
// the tests run.
const GovulncheckVersion = "v1.9.0"

// BuildGovulncheck builds golang.org/x/vuln/cmd/govulncheck at
// GovulncheckVersion, with go build in a temporary module that requires
// it, and returns the path of the binary. It needs the module proxy.
func BuildGovulncheck(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module govulncheckbuild\n\ngo 1.26\n")
	goCmd(t, dir, nil, "get", "golang.org/x/vuln/cmd/govulncheck@"+GovulncheckVersion)
	bin := filepath.Join(dir, "govulncheck")
	goCmd(t, dir, nil, "build", "-o", bin, "golang.org/x/vuln/cmd/govulncheck")
	return bin
}

// VulnerableID is the entry govulncheck must report for VulnerableModule.
const VulnerableID = "GO-2021-0113"

// VulnerableModule writes a small module that imports
// golang.org/x/text/language at v0.3.5 and calls language.Parse, which
// GO-2021-0113 affects, and resolves its go.sum with the go command run
// with env added to the test's environment (such as GOPROXY=...). It
// returns the module's directory. With a GOMODCACHE of its own in env, add
// GOFLAGS=-modcacherw, so that t.TempDir can remove it.
func VulnerableModule(t testing.TB, env []string) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "go.mod"), "module example.com/vulnerable\n\ngo 1.21\n\nrequire golang.org/x/text v0.3.5\n")
	writeFile(t, filepath.Join(dir, "main.go"), `package main

import (
	"fmt"
	"os"

	"golang.org/x/text/language"
)

func main() {
	tag, err := language.Parse(os.Args[1])
	fmt.Println(tag, err)
}
`)
	goCmd(t, dir, env, "mod", "tidy")
	return dir
}

// RunGovulncheck runs the govulncheck at bin with -db db on the packages
// of dir, with env added to the test's environment, and returns what it
// printed. It fails the test unless govulncheck exits with 0 (nothing
// found) or 3 (vulnerabilities found).
func RunGovulncheck(t testing.TB, bin, db, dir string, env []string) string {
	t.Helper()
	cmd := exec.Command(bin, "-db", db, "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) {
		t.Fatalf("govulncheck -db %s: %v\n%s", db, err, out)
	}
	return string(out)
}

func goCmd(t testing.TB, dir string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func writeFile(t testing.TB, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o666); err != nil {
		t.Fatal(err)
	}
}
