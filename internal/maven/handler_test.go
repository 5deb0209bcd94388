package maven

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
)

const (
	jarPath = "org/example/demo/1.0/demo-1.0.jar"
	pomPath = "org/example/demo/1.0/demo-1.0.pom"
	mdPath  = "org/example/demo/maven-metadata.xml"
)

var (
	jar = bytes.Repeat([]byte("a jar of the demo artifact\n"), 5000)
	pom = []byte(`<project><groupId>org.example</groupId><artifactId>demo</artifactId><version>1.0</version></project>`)
	md  = []byte(`<?xml version="1.0"?><metadata><groupId>org.example</groupId><artifactId>demo</artifactId><versioning><latest>1.0</latest><versions><version>1.0</version></versions></versioning></metadata>`)
)

func demoFiles() map[string][]byte {
	return map[string][]byte{jarPath: jar, pomPath: pom, mdPath: md}
}

func hexSum(alg string, data []byte) string {
	h := newHash(alg)
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

func TestServeFileAndChecksums(t *testing.T) {
	up := newFakeRepo(t, demoFiles())
	m := newMirror(t, Config{Repositories: []Repository{{URL: up.URL()}}})
	for range 2 {
		code, body, hdr := m.get(t, Prefix+jarPath)
		if code != 200 || body != string(jar) {
			t.Fatalf("GET jar: got %d and %d bytes, want 200 and %d bytes", code, len(body), len(jar))
		}
		if got := hdr.Get("Content-Type"); got != "application/java-archive" {
			t.Errorf("Content-Type: got %q, want application/java-archive", got)
		}
	}
	if n := up.count(jarPath); n != 1 {
		t.Errorf("upstream requests for the jar: got %d, want 1", n)
	}
	s1, s256, s512, m5 := sha1.Sum(jar), sha256.Sum256(jar), sha512.Sum512(jar), md5.Sum(jar)
	for _, tt := range []struct{ ext, want string }{
		{".sha1", hex.EncodeToString(s1[:])},
		{".sha256", hex.EncodeToString(s256[:])},
		{".sha512", hex.EncodeToString(s512[:])},
		{".md5", hex.EncodeToString(m5[:])},
	} {
		t.Run(tt.ext, func(t *testing.T) {
			code, body, _ := m.get(t, Prefix+jarPath+tt.ext)
			if code != 200 || body != tt.want {
				t.Errorf("GET %s: got %d %q, want 200 %q", tt.ext, code, body, tt.want)
			}
		})
	}
	// The checksum files served are the mirror's own: only the sha1 the
	// jar was checked with was asked of upstream, with the sha256 and
	// sha512 that it does not publish.
	for _, ext := range []string{".sha1", ".sha256", ".sha512"} {
		if n := up.count(jarPath + ext); n != 1 {
			t.Errorf("upstream requests for %s: got %d, want 1", ext, n)
		}
	}
	if n := up.count(jarPath + ".md5"); n != 0 {
		t.Errorf("upstream requests for .md5: got %d, want 0", n)
	}
}

func TestChecksumMismatchRefused(t *testing.T) {
	tests := []struct {
		name string
		algs []string
		sums map[string]string
		want string // in the reason
	}{
		{"sha1", nil, map[string]string{jarPath + ".sha1": strings.Repeat("ab", 20)}, "sha1 mismatch"},
		{"sha256 over a right sha1", []string{"sha1"}, map[string]string{jarPath + ".sha256": strings.Repeat("cd", 32) + "  demo-1.0.jar\n"}, "sha256 mismatch"},
		{"sha512 over a right sha256", []string{"sha1", "sha256"}, map[string]string{jarPath + ".sha512": strings.Repeat("EF", 64)}, "sha512 mismatch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newFakeRepo(t, demoFiles())
			up.set(func(f *fakeRepo) { f.algs, f.sums = tt.algs, tt.sums })
			m := newMirror(t, Config{Repositories: []Repository{{URL: up.URL()}}})
			// A range of the whole file is not streamed while it is
			// checked, so the refusal reaches the client whole; a plain
			// GET would see its transfer cut short.
			code, body, hdr := m.get(t, Prefix+jarPath, "Range", "bytes=0-")
			if code != http.StatusBadGateway {
				t.Fatalf("GET tampered jar: got %d %q, want 502", code, body)
			}
			if !strings.Contains(body, tt.want) || !strings.Contains(body, hexSum(strings.Fields(tt.want)[0], jar)) {
				t.Errorf("reason: got %q, want %q and the jar's real digest", body, tt.want)
			}
			if strings.Count(body, "\n") != 1 || hdr.Get("Content-Type") != "text/plain; charset=utf-8" {
				t.Errorf("error answer: got %q (%s), want one line of text", body, hdr.Get("Content-Type"))
			}
			if m.stored(t, jarPath) {
				t.Errorf("the tampered jar was stored")
			}
			if code, _, _ := m.get(t, Prefix+jarPath+".sha1"); code != http.StatusBadGateway {
				t.Errorf("GET .sha1 of the tampered jar: got %d, want 502", code)
			}
		})
	}
}

func TestNoChecksumUpstream(t *testing.T) {
	tests := []struct {
		name           string
		algs           []string
		allowUnchecked bool
		want           int
	}{
		{"none", []string{}, false, http.StatusBadGateway},
		{"md5 only", []string{"md5"}, false, http.StatusBadGateway},
		{"none, unchecked allowed", []string{}, true, http.StatusOK},
		{"sha256 only", []string{"sha256"}, false, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newFakeRepo(t, demoFiles())
			up.set(func(f *fakeRepo) { f.algs = tt.algs })
			m := newMirror(t, Config{Repositories: []Repository{{URL: up.URL()}}, AllowUnchecked: tt.allowUnchecked})
			code, body, _ := m.get(t, Prefix+jarPath)
			if code != tt.want {
				t.Fatalf("GET jar: got %d %q, want %d", code, body, tt.want)
			}
			if stored := m.stored(t, jarPath); stored != (tt.want == 200) {
				t.Errorf("stored: got %v, want %v", stored, tt.want == 200)
			}
			if tt.want != 200 && !strings.Contains(body, "publishes no sha512, sha256 or sha1 checksum") {
				t.Errorf("reason: got %q, want it to say no checksum is published", body)
			}
		})
	}
}

func TestChecksumFetchFailsTheFill(t *testing.T) {
	up := newFakeRepo(t, demoFiles())
	// A failing sha512 must not fall back to the sha1.
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".sha512") {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		up.ServeHTTP(w, r)
	}))
	defer failing.Close()
	m := newMirror(t, Config{Repositories: []Repository{{URL: failing.URL + "/repo/"}}})
	code, body, _ := m.get(t, Prefix+jarPath)
	if code != http.StatusBadGateway || m.stored(t, jarPath) {
		t.Errorf("GET jar with a failing .sha512: got %d %q (stored %v), want 502 and nothing stored", code, body, m.stored(t, jarPath))
	}
}

func TestRepositoriesInOrder(t *testing.T) {
	first := newFakeRepo(t, map[string][]byte{pomPath: pom})
	second := newFakeRepo(t, demoFiles())
	m := newMirror(t, Config{Repositories: []Repository{{URL: first.URL()}, {URL: second.URL()}}})
	if code, body, _ := m.get(t, Prefix+jarPath); code != 200 || body != string(jar) {
		t.Fatalf("GET jar from the second repository: got %d", code)
	}
	if code, body, _ := m.get(t, Prefix+pomPath); code != 200 || body != string(pom) {
		t.Fatalf("GET pom: got %d", code)
	}
	if n := second.count(pomPath); n != 0 {
		t.Errorf("the second repository was asked for the pom the first has: %d times", n)
	}
	code, body, _ := m.get(t, Prefix+"org/example/demo/2.0/demo-2.0.jar")
	if code != http.StatusNotFound || !strings.Contains(body, "none of the 2 repositories") {
		t.Errorf("GET a missing jar: got %d %q, want 404 naming both repositories", code, body)
	}
}

func TestPrivateGroups(t *testing.T) {
	const corpJar = "com/corp/billing/core/3.1/core-3.1.jar"
	private := newFakeRepo(t, map[string][]byte{corpJar: []byte("private jar")})
	private.set(func(f *fakeRepo) { f.user, f.pass = "ci", "s3cret" })
	public := newFakeRepo(t, map[string][]byte{corpJar: []byte("a public impostor"), jarPath: jar})
	m := newMirror(t, Config{
		Repositories:  []Repository{{URL: private.URL(), Username: "ci", Password: "s3cret"}, {URL: public.URL()}},
		PrivateGroups: []string{"com.corp"},
	})
	if code, body, _ := m.get(t, Prefix+corpJar); code != 200 || body != "private jar" {
		t.Fatalf("GET private jar: got %d %q, want 200 \"private jar\"", code, body)
	}
	if code, _, _ := m.get(t, Prefix+jarPath); code != 200 {
		t.Fatalf("GET public jar: got %d, want 200", code)
	}
	for _, p := range []string{corpJar, corpJar + ".sha1"} {
		if n := public.count(p); n != 0 {
			t.Errorf("the public repository was asked for %s %d times, want never", p, n)
		}
	}
	if n := private.count(jarPath); n != 0 {
		t.Errorf("the private repository was asked for a public jar %d times, want never", n)
	}
	if a := private.auths[corpJar]; !strings.HasPrefix(a, "Basic ") {
		t.Errorf("Authorization to the private repository: got %q, want basic", a)
	}
	for _, tt := range []struct {
		path string
		want bool
	}{
		{Prefix + corpJar, true},
		{Prefix + "com/corp/billing/core/maven-metadata.xml", true},
		{Prefix + "com/corp/maven-metadata.xml", true},
		{Prefix + "com/corporate/x/1/x-1.jar", false},
		{Prefix + jarPath, false},
		{Prefix + "../x", false},
	} {
		name, ok := subjectOf(tt.path)
		if got := ok && m.h.PrivateSubject(name); got != tt.want {
			t.Errorf("PrivateSubject of %q (%q): got %v, want %v", tt.path, name, got, tt.want)
		}
	}
}

func TestRedirectToAnotherHostRefused(t *testing.T) {
	other := newFakeRepo(t, demoFiles())
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Another host name: the core's guard trusts the configured
		// hosts on any port.
		http.Redirect(w, r, strings.Replace(other.srv.URL, "127.0.0.1", "localhost", 1)+r.URL.Path, http.StatusFound)
	}))
	defer redirecting.Close()
	m := newMirror(t, Config{Repositories: []Repository{{URL: redirecting.URL + "/repo/", Username: "u", Password: "p"}}, PrivateGroups: []string{"*"}})
	code, body, _ := m.get(t, Prefix+jarPath)
	if code != http.StatusBadGateway || !strings.Contains(body, "redirect refused") {
		t.Errorf("GET through a redirect to another host: got %d %q, want 502 naming it", code, body)
	}
	other.mu.Lock()
	defer other.mu.Unlock()
	if len(other.hits) != 0 {
		t.Errorf("the other host was asked %v", other.hits)
	}
}

func TestMetadata(t *testing.T) {
	up := newFakeRepo(t, demoFiles())
	m := newMirror(t, Config{Repositories: []Repository{{URL: up.URL()}}, MetadataTTL: time.Hour})
	code, body, hdr := m.get(t, Prefix+mdPath)
	if code != 200 || body != string(md) {
		t.Fatalf("GET metadata: got %d %q", code, body)
	}
	if cc := hdr.Get("Cache-Control"); cc != "public, max-age=3600" {
		t.Errorf("Cache-Control: got %q, want public, max-age=3600", cc)
	}
	if code, body, _ := m.get(t, Prefix+mdPath+".sha1"); code != 200 || body != hexSum("sha1", md) {
		t.Errorf("GET metadata .sha1: got %d %q, want %s", code, body, hexSum("sha1", md))
	}
	if IsImmutable(storePrefix + mdPath) {
		t.Errorf("maven-metadata.xml is immutable to the budget")
	}

	// Wrong metadata is refused.
	bad := newFakeRepo(t, map[string][]byte{mdPath: []byte("<html>not metadata</html>")})
	m2 := newMirror(t, Config{Repositories: []Repository{{URL: bad.URL()}}})
	if code, body, _ := m2.get(t, Prefix+mdPath); code != http.StatusBadGateway {
		t.Errorf("GET HTML as metadata: got %d %q, want 502", code, body)
	}
}

func TestMetadataStaleWhenUpstreamDown(t *testing.T) {
	up := newFakeRepo(t, demoFiles())
	m := newMirror(t, Config{Repositories: []Repository{{URL: up.URL()}}, MetadataTTL: time.Nanosecond})
	if code, _, _ := m.get(t, Prefix+mdPath); code != 200 {
		t.Fatalf("GET metadata: got %d", code)
	}
	up.set(func(f *fakeRepo) { f.down = true })
	code, body, hdr := m.get(t, Prefix+mdPath)
	if code != 200 || body != string(md) || hdr.Get(pull.StaleHeader) != "true" {
		t.Errorf("GET metadata with the upstream down: got %d, stale %q; want 200 marked stale", code, hdr.Get(pull.StaleHeader))
	}
}

func TestBadRequests(t *testing.T) {
	up := newFakeRepo(t, demoFiles())
	m := newMirror(t, Config{Repositories: []Repository{{URL: up.URL()}}})
	for _, p := range []string{
		Prefix,
		Prefix + "org/example/",
		Prefix + "org/example/demo/1.0/../1.0/demo-1.0.jar",
		Prefix + "org//demo/1.0/demo-1.0.jar",
		Prefix + "org/example/demo/1.0/other-1.0.jar",
		Prefix + "org/example/demo/1.0/demo-1.0.jar%00",
		Prefix + "org/example/demo/1.0/demo-1.0.jar.sha1.md5",
		Prefix + "org/example/demo/1.0/.hidden",
		Prefix + "demo-1.0.jar",
	} {
		code, body, _ := m.get(t, p)
		if code != http.StatusBadRequest || strings.Count(body, "\n") != 1 {
			t.Errorf("GET %s: got %d %q, want 400 with one line", p, code, body)
		}
	}
	req, _ := http.NewRequest(http.MethodPut, m.srv.URL+Prefix+jarPath, strings.NewReader("x"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PUT: got %d, want 405", resp.StatusCode)
	}
	if len(up.hits) != 0 {
		t.Errorf("bad requests reached upstream: %v", up.hits)
	}
}

func TestIsImmutable(t *testing.T) {
	for _, tt := range []struct {
		name string
		want bool
	}{
		{storePrefix + jarPath, true},
		{storePrefix + jarPath + ".sha1", true},
		{storePrefix + mdPath, false},
		{storePrefix + "org/example/demo/1.0-SNAPSHOT/maven-metadata.xml", false},
		{"npm/tarballs/x/x-1.tgz", false},
	} {
		if got := IsImmutable(tt.name); got != tt.want {
			t.Errorf("IsImmutable(%q): got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cache := newMirror(t, Config{}).cache
	for _, tt := range []struct {
		name string
		cfg  Config
		want string // "" for valid
	}{
		{"default", Config{Cache: cache}, ""},
		{"no cache", Config{}, "Cache is required"},
		{"bad URL", Config{Cache: cache, Repositories: []Repository{{URL: "ftp://x/"}}}, "repository 1"},
		{"user info", Config{Cache: cache, Repositories: []Repository{{URL: "https://u:p@x/"}}}, "credentials come from the environment"},
		{"credentials without groups", Config{Cache: cache, Repositories: []Repository{{URL: "https://x/", Username: "u"}}}, "no private groups"},
		{"groups without credentials", Config{Cache: cache, PrivateGroups: []string{"com.corp"}}, "no repository has credentials"},
		{"bad group", Config{Cache: cache, Repositories: []Repository{{URL: "https://x/", Username: "u"}}, PrivateGroups: []string{"com..corp"}}, "not a groupId"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}

func TestParseRepositories(t *testing.T) {
	env := map[string]string{
		"GOMIRROR_MAVEN_REPO_1_USERNAME": "ci",
		"GOMIRROR_MAVEN_REPO_1_PASSWORD": "pw",
	}
	repos, err := ParseRepositories(" https://nexus.corp.example/repository/private/ , https://repo.maven.apache.org/maven2/", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(repos) != 2 || repos[0].Username != "ci" || repos[0].Password != "pw" || repos[1].Private() {
		t.Errorf("got %+v, want the first with credentials and the second without", repos)
	}
	if repos, _ := ParseRepositories("", func(string) string { return "" }); len(repos) != 1 || repos[0].URL != DefaultRepository {
		t.Errorf("empty: got %+v, want Maven Central", repos)
	}
	if _, err := ParseRepositories("https://x/", func(k string) string {
		if k == "GOMIRROR_MAVEN_REPO_1_PASSWORD" {
			return "pw"
		}
		return ""
	}); err == nil || strings.Contains(err.Error(), "pw") {
		t.Errorf("a password without a username: got %v, want an error that does not show it", err)
	}
}
