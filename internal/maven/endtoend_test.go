package maven

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// debianRepo is the Maven repository that Debian's Java packages install.
const debianRepo = "/usr/share/maven-repo"

// The end-to-end tests run Debian's mvn dependency:resolve on a project
// with two dependencies: the maven-dependency-plugin, its pom's parents
// and its whole graph of dependencies, and the project's dependencies,
// all come through the mirror. Debian's repository has no
// maven-metadata.xml, so the project names the plugin with its version,
// and mvn finds the prefix "dependency" among the project's plugins.
//
// The project's dependencies are a small jar, javax.inject (3 KB), and a
// large one, commons-lang3 (580 KB). A fill holds back its last 64 KiB
// until the file has passed its checks, so a tampered small jar is
// answered with the 502 naming both digests, while a tampered large one is
// cut short when it is already streaming (or answered with the 502 when
// its check ends before its first bytes may be sent).
const (
	pluginVersion = "3.5.0"
	pluginJar     = "org/apache/maven/plugins/maven-dependency-plugin/3.5.0/maven-dependency-plugin-3.5.0.jar"
	smallJar      = "javax/inject/javax.inject/1/javax.inject-1.jar"
	largeJar      = "org/apache/commons/commons-lang3/3.12.0/commons-lang3-3.12.0.jar"
	junitJar      = "junit/junit/4.x/junit-4.x.jar"
)

// debianUpstream serves Debian's Maven repository as a remote repository:
// its files (following Debian's symlinks to /usr/share/java), with .sha1
// and .sha256 files computed on the fly, since Debian ships none. When
// tamper is set, that file is served with one byte changed, and its
// checksums still of the real file.
type debianUpstream struct {
	tamper string
}

func (d *debianUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, "/")
	if p != path.Clean(p) || strings.HasPrefix(p, ".") || strings.Contains(p, "..") {
		http.Error(w, "bad path", http.StatusBadRequest)
		return
	}
	base, alg := p, ""
	for _, ext := range []string{".sha1", ".sha256"} {
		if b, ok := strings.CutSuffix(p, ext); ok {
			base, alg = b, ext[1:]
		}
	}
	data, err := os.ReadFile(filepath.Join(debianRepo, filepath.FromSlash(base)))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	switch alg {
	case "sha1":
		s := sha1.Sum(data)
		w.Write([]byte(hex.EncodeToString(s[:]) + "  " + path.Base(base) + "\n"))
		return
	case "sha256":
		s := sha256.Sum256(data)
		w.Write([]byte(strings.ToUpper(hex.EncodeToString(s[:]))))
		return
	}
	if p == d.tamper {
		data = bytes.Clone(data)
		data[len(data)/2] ^= 0xff
	}
	w.Write(data)
}

// needMaven skips the test when Debian's mvn, or the files of its
// repository that the test resolves, are absent.
func needMaven(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test with mvn: skipped in -short mode")
	}
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		t.Skip("mvn is not installed (scripts/test.sh installs Debian's maven)")
	}
	for _, f := range []struct{ path, pkg string }{
		{pluginJar, "libmaven-dependency-plugin-java"},
		// plexus-container-default, in the plugin's graph, depends on
		// junit at compile scope, which its package does not pull in.
		{junitJar, "junit4"},
		{smallJar, "libatinject-jsr330-api-java"},
		{largeJar, "libcommons-lang3-java"},
	} {
		if _, err := os.Stat(filepath.Join(debianRepo, f.path)); err != nil {
			t.Skipf("Debian's Maven repository has no %s (scripts/test.sh installs %s): %v", f.path, f.pkg, err)
		}
	}
	return mvn
}

// runMaven runs mvn dependency:resolve on a project with two dependencies,
// through mirrorURL as the mirror of every repository, with a fresh local
// repository, and returns its output and whether it succeeded.
func runMaven(t *testing.T, mvn, mirrorURL string) (string, bool) {
	t.Helper()
	dir := t.TempDir()
	settings := `<settings><mirrors><mirror><id>gomirror</id><mirrorOf>*</mirrorOf><url>` + mirrorURL + `/maven2/</url></mirror></mirrors></settings>`
	pom := `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>test.gomirror</groupId><artifactId>resolve</artifactId><version>1</version><packaging>jar</packaging>
<dependencies>
<dependency><groupId>javax.inject</groupId><artifactId>javax.inject</artifactId><version>1</version></dependency>
<dependency><groupId>org.apache.commons</groupId><artifactId>commons-lang3</artifactId><version>3.12.0</version></dependency>
</dependencies>
<build><plugins><plugin><groupId>org.apache.maven.plugins</groupId><artifactId>maven-dependency-plugin</artifactId><version>` + pluginVersion + `</version></plugin></plugins></build>
</project>`
	for name, data := range map[string]string{"settings.xml": settings, "pom.xml": pom} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	// --strict-checksums: mvn checks every file against the .sha1 the
	// mirror serves, and fails on a mismatch or a missing one.
	cmd := exec.CommandContext(ctx, mvn, "-B", "--strict-checksums", "-s", filepath.Join(dir, "settings.xml"),
		"-Dmaven.repo.local="+filepath.Join(dir, "repo"), "dependency:resolve")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("mvn dependency:resolve: %v", time.Since(start).Round(time.Second))
	return string(out), err == nil
}

func TestMavenEndToEnd(t *testing.T) {
	mvn := needMaven(t)
	upstream := httptest.NewServer(&debianUpstream{})
	m := newMirror(t, Config{Repositories: []Repository{{URL: upstream.URL + "/"}}})

	out, ok := runMaven(t, mvn, m.srv.URL)
	if !ok {
		t.Fatalf("mvn dependency:resolve through the mirror failed:\n%s", out)
	}
	checkResolved(t, out)
	for _, p := range []string{
		pluginJar,
		"org/apache/maven/plugins/maven-plugins/debian/maven-plugins-debian.pom",
		"org/apache/maven/shared/maven-dependency-tree/debian/maven-dependency-tree-debian.jar",
		"org/codehaus/plexus/plexus-archiver/debian/plexus-archiver-debian.jar",
		smallJar,
		largeJar,
	} {
		if !m.stored(t, p) {
			t.Errorf("%s: not stored after mvn resolved it", p)
		}
	}

	t.Run("upstream stopped", func(t *testing.T) {
		upstream.Close()
		out, ok := runMaven(t, mvn, m.srv.URL)
		if !ok {
			t.Fatalf("mvn dependency:resolve with the upstream stopped, from a fresh local repository, failed:\n%s", out)
		}
		checkResolved(t, out)
	})

	for _, tc := range []struct {
		name, jar string
		// refused: the mirror answers 502 naming both digests; otherwise
		// the transfer may also be cut short, and never ends whole.
		refused bool
	}{
		{"tampered small jar", smallJar, true},
		{"tampered large jar", largeJar, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tampered := httptest.NewServer(&debianUpstream{tamper: tc.jar})
			defer tampered.Close()
			m := newMirror(t, Config{Repositories: []Repository{{URL: tampered.URL + "/"}}})
			out, ok := runMaven(t, mvn, m.srv.URL)
			if ok {
				t.Fatalf("mvn dependency:resolve succeeded with %s tampered upstream:\n%s", tc.jar, out)
			}
			if !strings.Contains(out, path.Base(tc.jar)) {
				t.Errorf("mvn output does not name %s:\n%s", path.Base(tc.jar), out)
			}
			if tc.refused && !strings.Contains(out, "502") {
				t.Errorf("mvn output does not show the mirror's 502:\n%s", out)
			}
			real, err := os.ReadFile(filepath.Join(debianRepo, tc.jar))
			if err != nil {
				t.Fatal(err)
			}
			bad := bytes.Clone(real)
			bad[len(bad)/2] ^= 0xff
			code, body, err := getRaw(t, m.srv.URL+Prefix+tc.jar)
			switch {
			case tc.refused:
				for _, want := range []string{"sha256 mismatch", hexSum("sha256", real), hexSum("sha256", bad)} {
					if err != nil || code != http.StatusBadGateway || !strings.Contains(body, want) {
						t.Errorf("GET %s: got %d %q (%v), want 502 naming %s", tc.jar, code, body, err, want)
					}
				}
			case err == nil && code == http.StatusOK:
				t.Errorf("GET %s: got the whole %d bytes with 200, want the transfer cut short", tc.jar, len(body))
			case len(body) >= len(bad):
				t.Errorf("GET %s: got %d bytes of %d, want the last bytes held back", tc.jar, len(body), len(bad))
			}
			if m.stored(t, tc.jar) {
				t.Errorf("%s: the tampered jar was stored", tc.jar)
			}
		})
	}
}

// checkResolved checks that mvn dependency:resolve's output lists the
// project's dependencies as resolved.
func checkResolved(t *testing.T, out string) {
	t.Helper()
	for _, want := range []string{"javax.inject:javax.inject:jar:1:compile", "org.apache.commons:commons-lang3:jar:3.12.0:compile"} {
		if !strings.Contains(out, want) {
			t.Errorf("mvn dependency:resolve does not list %s as resolved:\n%s", want, out)
		}
	}
}

// getRaw fetches url, returning its status, the body as far as it came,
// and the error that cut it short.
func getRaw(t *testing.T, url string) (int, string, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// TestMavenCentral fetches a real jar and its metadata from Maven Central
// through the mirror, where Maven Central can be reached.
func TestMavenCentral(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with Maven Central: skipped in -short mode")
	}
	const jar = "junit/junit/4.13.2/junit-4.13.2.jar"
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodHead, DefaultRepository+jar+".sha1", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Skipf("Maven Central: cannot reach %s: %v", DefaultRepository, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Skipf("Maven Central: cannot reach %s: status %s", DefaultRepository, resp.Status)
	}
	m := newMirror(t, Config{})
	code, body, _ := m.get(t, Prefix+jar)
	if code != 200 || len(body) < 100_000 {
		t.Fatalf("GET %s: got %d, %d bytes", jar, code, len(body))
	}
	if code, sum, _ := m.get(t, Prefix+jar+".sha1"); code != 200 || sum != hexSum("sha1", []byte(body)) {
		t.Errorf("GET .sha1: got %d %q, want the jar's sha1", code, sum)
	}
	if code, meta, _ := m.get(t, Prefix+"junit/junit/maven-metadata.xml"); code != 200 || !strings.Contains(meta, "<version>4.13.2</version>") {
		t.Errorf("GET maven-metadata.xml: got %d, without 4.13.2", code)
	}
}
