package pypi

import (
	"bytes"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/store"
)

// pep503 is the normalisation of PEP 503, as the PEP writes it.
var pep503 = regexp.MustCompile(`[-_.]+`)

// validName is the name pattern of PEP 508.
var validName = regexp.MustCompile(`(?i)^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$`)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Django", "django"},
		{"zope.interface", "zope-interface"},
		{"Foo__Bar", "foo-bar"},
		{"a-_.b", "a-b"},
		{"ruamel.yaml.clib", "ruamel-yaml-clib"},
		{"A", "a"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"Django", "zope.interface", "a", "-a-", "a..b", "a_-_b", "", "ÄÖ", "x\x00y", strings.Repeat("a", 201)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := Normalize(s)
		if want := strings.ToLower(pep503.ReplaceAllString(s, "-")); n != want && isASCII(s) {
			t.Fatalf("Normalize(%q) = %q, want %q", s, n, want)
		}
		if Normalize(n) != n {
			t.Fatalf("Normalize is not idempotent on %q: %q then %q", s, n, Normalize(n))
		}
		valid := CheckName(s) == nil
		if valid != (validName.MatchString(s) && len(s) <= maxNameLen) {
			t.Fatalf("CheckName(%q) = %v, want %v", s, valid, !valid)
		}
		if valid {
			if CheckName(n) != nil {
				t.Fatalf("normal form %q of valid %q is invalid", n, s)
			}
			if err := store.CheckName("pypi/simple/" + n + ".json"); err != nil {
				t.Fatalf("store name of %q: %v", s, err)
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func FuzzParseHTMLPage(f *testing.F) {
	f.Add(`<a href="/files/demo-1.0.tar.gz#sha256=` + strings.Repeat("a", 64) + `" data-yanked="x" data-requires-python="&gt;=3">demo-1.0.tar.gz</a>`)
	f.Add(`<html><head><base href="https://other.example/x/"><meta name="pypi:repository-version" content="1.1"></head><a href="f.whl#sha256=` + strings.Repeat("0", 64) + `" data-core-metadata="sha256=` + strings.Repeat("1", 64) + `">f.whl</a>`)
	f.Add(`<a href="javascript:alert(1)#sha256=` + strings.Repeat("a", 64) + `">../../etc/passwd</a><a href=x>`)
	f.Add(`<meta name="pypi:repository-version" content="2.0">`)
	f.Add(`<a href="%zz">.x</a><a/><a href="http://[::1">y</a>`)
	f.Fuzz(func(t *testing.T, page string) {
		base, _ := url.Parse("https://index.example/simple/demo/")
		p, _, err := parseHTMLPage(strings.NewReader(page), "demo", base)
		if err != nil {
			return
		}
		checkProject(t, p)
		checkRoundTrip(t, p)
	})
}

// checkRoundTrip checks that what the mirror renders from p parses back
// to the same files, as HTML and as JSON.
func checkRoundTrip(t *testing.T, p *Project) {
	t.Helper()
	{
		// What the mirror renders from it parses back to the same files.
		mbase, _ := url.Parse("https://mirror.example/pypi/simple/demo/")
		back, dropped, err := parseHTMLPage(bytes.NewReader(renderProject(p, formatHTML)), "demo", mbase)
		if err != nil || len(dropped) > 0 || len(back.Files) != len(p.Files) {
			t.Fatalf("re-parsing the rendered page: %v, dropped %v, %d files, want %d", err, dropped, len(back.Files), len(p.Files))
		}
		for i, f := range back.Files {
			o := p.Files[i]
			if f.Filename != o.Filename || f.sha256() != o.sha256() || f.RequiresPython != o.RequiresPython || f.Yanked != o.Yanked || f.YankedReason != o.YankedReason {
				t.Fatalf("round trip changed %+v into %+v", o, f)
			}
		}
		jback, dropped, err := parseJSONPage(renderProject(p, formatJSON), "demo", mbase)
		if err != nil || len(dropped) > 0 || len(jback.Files) != len(p.Files) {
			t.Fatalf("re-parsing the rendered JSON: %v, dropped %v", err, dropped)
		}
		for i, f := range jback.Files {
			o := p.Files[i]
			if f.Filename != o.Filename || f.sha256() != o.sha256() || f.Size != o.Size || f.Provenance != o.Provenance || f.UploadTime != o.UploadTime || f.YankedReason != o.YankedReason {
				t.Fatalf("JSON round trip changed %+v into %+v", o, f)
			}
		}
	}
}

func FuzzParseJSONPage(f *testing.F) {
	f.Add(`{"meta":{"api-version":"1.1"},"name":"demo","files":[{"filename":"demo-1.0.whl","url":"x","hashes":{"sha256":"` + strings.Repeat("a", 64) + `"},"yanked":"r","core-metadata":true,"size":3}]}`)
	f.Add(`{"files":[{"filename":"a","url":"https://x/a","hashes":{"sha256":"` + strings.Repeat("b", 64) + `"},"dist-info-metadata":{"sha256":"` + strings.Repeat("c", 64) + `"},"yanked":false,"size":-5,"upload-time":"bad"}],"versions":["1",""]}`)
	f.Add(`{"meta":{"api-version":"2.0"}}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, page string) {
		base, _ := url.Parse("https://index.example/simple/demo/")
		p, _, err := parseJSONPage([]byte(page), "demo", base)
		if err != nil {
			return
		}
		checkProject(t, p)
		checkRoundTrip(t, p)
	})
}

// checkProject checks what a parsed page promises: every file can be
// named in a URL and in the store, with an http(s) URL and a sha256.
func checkProject(t *testing.T, p *Project) {
	t.Helper()
	for _, f := range p.Files {
		if err := checkFilename(f.Filename); err != nil {
			t.Fatalf("kept bad file name: %v", err)
		}
		if err := store.CheckName("pypi/files/demo/" + f.sha256() + "/" + f.Filename + ".metadata"); err != nil {
			t.Fatalf("file %q makes a bad store name: %v", f.Filename, err)
		}
		u, err := url.Parse(f.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Fragment != "" {
			t.Fatalf("kept bad URL %q", f.URL)
		}
		if len(f.sha256()) != 64 {
			t.Fatalf("kept a file without sha256: %+v", f)
		}
		ref, err := parseFileRef(strings.TrimPrefix(fileURL("demo", &f), "../../files/"))
		if err != nil || ref.filename != f.Filename || ref.sha256 != f.sha256() {
			t.Fatalf("the mirror's URL for %q does not parse back: %+v, %v", f.Filename, ref, err)
		}
	}
}

func FuzzParseFileRef(f *testing.F) {
	sha := strings.Repeat("ab", 32)
	for _, s := range []string{
		"demo/" + sha + "/demo-1.0.tar.gz",
		"demo/" + sha + "/demo-1.0-py3-none-any.whl.metadata",
		"demo/" + sha + "/..%2F..%2Fetc",
		"demo/" + sha + "/a%2Fb",
		"Demo/" + sha + "/x",
		"demo/" + sha[:10] + "/x",
		"demo//x",
		"demo/" + sha + "/.x",
		"demo/" + sha + "/x/y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ref, err := parseFileRef(s)
		if err != nil {
			return
		}
		name := "pypi/files/" + ref.project + "/" + ref.sha256 + "/" + ref.filename
		if err := store.CheckName(name); err != nil {
			t.Fatalf("parseFileRef(%q) accepted a bad store name: %v", s, err)
		}
		if strings.Count(name, "/") != 4 {
			t.Fatalf("parseFileRef(%q) gives %q, not 5 elements", s, name)
		}
	})
}
