package maven

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/store"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		path      string
		kind      kind
		file      string // req.path
		algorithm string
		subject   string
	}{
		{"/maven2/org/slf4j/slf4j-api/2.0.9/slf4j-api-2.0.9.jar", kindFile, "org/slf4j/slf4j-api/2.0.9/slf4j-api-2.0.9.jar", "", "org.slf4j/slf4j-api"},
		{"/maven2/org/slf4j/slf4j-api/2.0.9/slf4j-api-2.0.9-sources.jar.sha1", kindChecksum, "org/slf4j/slf4j-api/2.0.9/slf4j-api-2.0.9-sources.jar", "sha1", "org.slf4j/slf4j-api"},
		{"/maven2/junit/junit/4.13.2/junit-4.13.2.pom.sha512", kindChecksum, "junit/junit/4.13.2/junit-4.13.2.pom", "sha512", "junit/junit"},
		{"/maven2/junit/junit/4.13.2/junit-4.13.2.jar.asc", kindFile, "junit/junit/4.13.2/junit-4.13.2.jar.asc", "", "junit/junit"},
		{"/maven2/org/slf4j/slf4j-api/maven-metadata.xml", kindMetadata, "org/slf4j/slf4j-api/maven-metadata.xml", "", "org.slf4j/slf4j-api"},
		{"/maven2/org/slf4j/slf4j-api/maven-metadata.xml.md5", kindChecksum, "org/slf4j/slf4j-api/maven-metadata.xml", "md5", "org.slf4j/slf4j-api"},
		{"/maven2/com/corp/app/1.0-SNAPSHOT/maven-metadata.xml", kindMetadata, "com/corp/app/1.0-SNAPSHOT/maven-metadata.xml", "", "com.corp/app"},
		{"/maven2/com/corp/app/1.0-SNAPSHOT/app-1.0-20240102.030405-7.jar", kindFile, "com/corp/app/1.0-SNAPSHOT/app-1.0-20240102.030405-7.jar", "", "com.corp/app"},
		{"/maven2/com/corp/app/1.0-SNAPSHOT/app-1.0-SNAPSHOT.pom", kindFile, "com/corp/app/1.0-SNAPSHOT/app-1.0-SNAPSHOT.pom", "", "com.corp/app"},
		{"/maven2/org/apache/maven/plugins/maven-metadata.xml", kindMetadata, "org/apache/maven/plugins/maven-metadata.xml", "", "org.apache.maven/plugins"},
		{"/maven2/org/apache/commons/commons-lang3/debian/commons-lang3-debian.jar", kindFile, "org/apache/commons/commons-lang3/debian/commons-lang3-debian.jar", "", "org.apache.commons/commons-lang3"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			req, err := parsePath(tt.path)
			if err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			if req.kind != tt.kind || req.path != tt.file || req.algorithm != tt.algorithm {
				t.Errorf("got kind %d path %q algorithm %q, want %d %q %q", req.kind, req.path, req.algorithm, tt.kind, tt.file, tt.algorithm)
			}
			if s, ok := subjectOf(tt.path); !ok || s != tt.subject {
				t.Errorf("Subject: got %q %v, want %q", s, ok, tt.subject)
			}
		})
	}
}

func TestParsePathRefuses(t *testing.T) {
	for _, p := range []string{
		"/maven2/",
		"/maven2/org/",
		"/npm/x",
		"/maven2/maven-metadata.xml",
		"/maven2/org/x/maven-metadata-central.xml",
		"/maven2/a/b/1/b-1.jar/",
		"/maven2/a/b/1/../1/b-1.jar",
		"/maven2/a/./b/1/b-1.jar",
		"/maven2/a//b/1/b-1.jar",
		"/maven2/a/b/1/c-1.jar",
		"/maven2/a/b/1/b-2.jar",
		"/maven2/a/b/1/b-1",
		"/maven2/a/b/1/b-1.jar.sha1.sha1",
		"/maven2/a/b/1/b-1.jar.md5.sha256",
		"/maven2/a/b/1/b-1%2ejar",
		"/maven2/a/b/1/b-1.jar%00",
		"/maven2/a/b/1/b 1.jar",
		"/maven2/a/b/1/b-1.jar;x",
		"/maven2/a\\b/b/1/b-1.jar",
		"/maven2/a/b/1-SNAPSHOT/b-1-x.jar",
		"/maven2/b/1/b-1.jar",
		"/maven2/" + strings.Repeat("a/", 70) + "b/1/b-1.jar",
		"/maven2/a/" + strings.Repeat("b", 300) + "/1/x.jar",
	} {
		t.Run(p, func(t *testing.T) {
			if req, err := parsePath(p); err == nil {
				t.Errorf("got %+v, want an error", req)
			} else if !errors.Is(err, pull.ErrBadRequest) {
				t.Errorf("got %v, want a bad request", err)
			}
			if s, ok := subjectOf(p); ok {
				t.Errorf("Subject: got %q, want none", s)
			}
		})
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"/maven2/org/slf4j/slf4j-api/2.0.9/slf4j-api-2.0.9.jar",
		"/maven2/org/slf4j/slf4j-api/2.0.9/slf4j-api-2.0.9.jar.sha256",
		"/maven2/org/slf4j/slf4j-api/maven-metadata.xml.sha1",
		"/maven2/com/corp/app/1.0-SNAPSHOT/app-1.0-20240102.030405-7.jar",
		"/maven2/a/b/1/../1/b-1.jar",
		"/maven2/a/b/1/b-1.jar%00",
		"/maven2//",
		"/maven2/a/b/1-SNAPSHOT/b-1-.jar",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		req, err := parsePath(p)
		if err != nil {
			if !errors.Is(err, pull.ErrBadRequest) {
				t.Fatalf("parsePath(%q): got %v, want a bad request", p, err)
			}
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("parsePath(%q): reason %q is not one line", p, err)
			}
			return
		}
		for _, name := range []string{storePrefix + req.path, storePrefix + req.path + ".sha512"} {
			if err := store.CheckName(name); err != nil {
				t.Fatalf("parsePath(%q): store name: %v", p, err)
			}
		}
		if !strings.HasPrefix(p, Prefix+req.path) {
			t.Fatalf("parsePath(%q): path %q is not what was asked", p, req.path)
		}
		if s, ok := subjectOf(p); !ok || s == "" || strings.HasPrefix(s, "/") {
			t.Fatalf("Subject(%q) = %q, %v", p, s, ok)
		}
		if req.kind == kindChecksum && digestLen[req.algorithm] == 0 {
			t.Fatalf("parsePath(%q): algorithm %q", p, req.algorithm)
		}
	})
}

func TestParseChecksum(t *testing.T) {
	sum := strings.Repeat("0123456789abcdef", 2) + "01234567"
	for _, tt := range []struct {
		name, alg, in string
		ok            bool
	}{
		{"hex", "sha1", sum, true},
		{"newline", "sha1", sum + "\n", true},
		{"uppercase", "sha1", strings.ToUpper(sum), true},
		{"sha1sum", "sha1", sum + "  demo-1.0.jar\n", true},
		{"binary mode", "sha1", sum + " *demo-1.0.jar", true},
		{"BSD", "sha1", "SHA1 (demo-1.0.jar) = " + sum, true},
		{"name first", "sha1", "demo-1.0.jar: " + sum + "\r\n", true},
		{"spaces around", "sha1", "  \t" + sum + "\t \n\n", true},
		{"same twice", "sha1", sum + "\n" + sum + "\n", true},
		{"empty", "sha1", "", false},
		{"short", "sha1", sum[:39], false},
		{"long", "sha1", sum + "0", false},
		{"not hex", "sha1", strings.Repeat("g", 40), false},
		{"wrong algorithm", "sha256", sum, false},
		{"two different", "sha1", sum + "\n" + strings.Repeat("f", 40), false},
		{"html", "sha1", "<html><body>Not Found</body></html>", false},
		{"huge", "sha1", sum + strings.Repeat(" ", 5000), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseChecksum(tt.alg, []byte(tt.in))
			switch {
			case tt.ok && err != nil:
				t.Errorf("got %v, want %s", err, sum)
			case tt.ok && hex.EncodeToString(got) != sum:
				t.Errorf("got %x, want %s", got, sum)
			case !tt.ok && err == nil:
				t.Errorf("got %x, want an error", got)
			}
		})
	}
}

func FuzzParseChecksum(f *testing.F) {
	sum := strings.Repeat("ab", 20)
	for _, s := range []string{sum, sum + "  a.jar\n", strings.ToUpper(sum), "SHA1 (a.jar) = " + sum, "a.jar: " + sum, "", "zz", sum + "\n" + sum} {
		f.Add("sha1", s)
	}
	f.Add("sha256", strings.Repeat("0", 64))
	f.Add("md5", strings.Repeat("9", 32)+" x")
	f.Fuzz(func(t *testing.T, alg, in string) {
		got, err := parseChecksum(alg, []byte(in))
		if err != nil {
			if strings.ContainsAny(err.Error(), "\n\r") {
				t.Fatalf("reason %q is not one line", err)
			}
			return
		}
		if len(got) != digestLen[alg] {
			t.Fatalf("parseChecksum(%q, %q): %d bytes, want %d", alg, in, len(got), digestLen[alg])
		}
		if !strings.Contains(strings.ToLower(in), hex.EncodeToString(got)) {
			t.Fatalf("parseChecksum(%q, %q) = %x, not in the input", alg, in, got)
		}
	})
}
