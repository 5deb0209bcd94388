package maven

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
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

// The end-to-end tests resolve the graph of a build extension, Debian's
// wagon-file, with Debian's mvn: the extension's pom and its parents,
// its dependencies' poms and jars. Debian's repository has no plugins,
// so the project is a pom with no build plugin, whose `validate` needs
// only the extension, resolved with its dependencies as plugins are.
const (
	extensionGroup    = "org.apache.maven.wagon"
	extensionArtifact = "wagon-file"
	extensionJar      = "org/apache/maven/wagon/wagon-file/debian/wagon-file-debian.jar"
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

// needMaven skips the test when Debian's mvn or its repository is absent.
func needMaven(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test with mvn: skipped in -short mode")
	}
	mvn, err := exec.LookPath("mvn")
	if err != nil {
		t.Skip("mvn is not installed (scripts/test.sh installs Debian's maven)")
	}
	if _, err := os.Stat(filepath.Join(debianRepo, extensionJar)); err != nil {
		t.Skipf("Debian's Maven repository has no %s: %v", extensionJar, err)
	}
	return mvn
}

// runMaven runs mvn validate on a project that uses the extension,
// through mirrorURL, with a fresh local repository, and returns its
// output and whether it succeeded.
func runMaven(t *testing.T, mvn, mirrorURL string) (string, bool) {
	t.Helper()
	dir := t.TempDir()
	settings := `<settings><mirrors><mirror><id>gomirror</id><mirrorOf>*</mirrorOf><url>` + mirrorURL + `/maven2/</url></mirror></mirrors></settings>`
	pom := `<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>
<groupId>test.gomirror</groupId><artifactId>resolve</artifactId><version>1</version><packaging>pom</packaging>
<build><extensions><extension><groupId>` + extensionGroup + `</groupId><artifactId>` + extensionArtifact + `</artifactId><version>debian</version></extension></extensions></build>
</project>`
	for name, data := range map[string]string{"settings.xml": settings, "pom.xml": pom} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	// --strict-checksums: mvn checks every file against the .sha1 the
	// mirror serves, and fails on a mismatch or a missing one.
	cmd := exec.CommandContext(ctx, mvn, "-B", "--strict-checksums", "-s", filepath.Join(dir, "settings.xml"),
		"-Dmaven.repo.local="+filepath.Join(dir, "repo"), "validate")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

func TestMavenEndToEnd(t *testing.T) {
	mvn := needMaven(t)
	upstream := httptest.NewServer(&debianUpstream{})
	m := newMirror(t, Config{Repositories: []Repository{{URL: upstream.URL + "/"}}})

	out, ok := runMaven(t, mvn, m.srv.URL)
	if !ok {
		t.Fatalf("mvn validate through the mirror failed:\n%s", out)
	}
	for _, p := range []string{
		extensionJar,
		"org/apache/maven/wagon/wagon-provider-api/debian/wagon-provider-api-debian.jar",
		"org/apache/maven/wagon/wagon/debian/wagon-debian.pom",
		"org/codehaus/plexus/plexus-utils/2.x/plexus-utils-2.x.jar",
	} {
		if !m.stored(t, p) {
			t.Errorf("%s: not stored after mvn resolved it", p)
		}
	}

	t.Run("upstream stopped", func(t *testing.T) {
		upstream.Close()
		out, ok := runMaven(t, mvn, m.srv.URL)
		if !ok {
			t.Fatalf("mvn validate with the upstream stopped, from a fresh local repository, failed:\n%s", out)
		}
	})

	t.Run("tampered jar", func(t *testing.T) {
		tampered := httptest.NewServer(&debianUpstream{tamper: extensionJar})
		defer tampered.Close()
		m := newMirror(t, Config{Repositories: []Repository{{URL: tampered.URL + "/"}}})
		out, ok := runMaven(t, mvn, m.srv.URL)
		if ok {
			t.Fatalf("mvn validate succeeded with a tampered jar upstream:\n%s", out)
		}
		if !strings.Contains(out, "502") {
			t.Errorf("mvn output does not show the mirror's 502:\n%s", out)
		}
		if m.stored(t, extensionJar) {
			t.Errorf("the tampered jar was stored")
		}
		real, err := os.ReadFile(filepath.Join(debianRepo, extensionJar))
		if err != nil {
			t.Fatal(err)
		}
		bad := bytes.Clone(real)
		bad[len(bad)/2] ^= 0xff
		code, body, _ := m.get(t, Prefix+extensionJar)
		for _, want := range []string{"sha256 mismatch", hexSum("sha256", real), hexSum("sha256", bad)} {
			if code != http.StatusBadGateway || !strings.Contains(body, want) {
				t.Errorf("GET the tampered jar: got %d %q, want 502 naming %s", code, body, want)
			}
		}
	})
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
