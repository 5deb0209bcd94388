package access

import (
	"errors"
	"io/fs"
	"net/url"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/proxypath"

	"github.com/gomirror/gomirror/internal/pypi"
)

func TestGoModule(t *testing.T) {
	tests := []struct {
		path, want string
		ok         bool
	}{
		{"/golang.org/x/text/@v/v0.3.0.zip", "golang.org/x/text", true},
		{"/golang.org/x/text/@v/list", "golang.org/x/text", true},
		{"/golang.org/x/text/@latest", "golang.org/x/text", true},
		{"/example.com/!corp/@v/list", "example.com/Corp", true},
		{"/example.com/%21corp/@v/list", "example.com/Corp", true},
		{"/!example.com/corp/@v/list", "", false}, // the host must be lower case
		{"/example.com/Corp/@v/list", "", false},
		{"/example.com/corp/@v/v2.0.0.zip", "example.com/corp", true}, // not found, yet still the module's
		{"/example.com/x/../corp/@v/list", "", false},
		{"/example.com/%2e%2e/corp/@v/list", "", false},
		{"/example.com%2fcorp/@v/list", "", false},
		{"/example.com/corp%00/@v/list", "", false},
		{"/example.com/corp%252f/@v/list", "", false},
		{"/example.com\\corp/@v/list", "", false},
		{"/example.com/corp/@v/%zz", "", false},
		{"/example.com/corp", "", false},
		{"example.com/corp/@v/list", "", false},
	}
	for _, tt := range tests {
		got, ok := GoModule(tt.path)
		if got != tt.want || ok != tt.ok {
			t.Errorf("GoModule(%q): got %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzGoModule checks that every path the GOPROXY handler would serve
// yields the module the handler serves, so that no spelling of a path
// reaches a module under another name.
func FuzzGoModule(f *testing.F) {
	for _, s := range []string{"/golang.org/x/text/@v/v0.3.0.zip", "/!example.com/corp/@latest", "/%21a.com/b/@v/list",
		"/a.com/b/@v/master.info", "/a.com/%2e%2e/b/@v/list", "/a.com/b/@v/v1.0.0.mod/@v/list"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok := GoModule(raw)
		// The handler's normalisation (goproxy.parseRequest).
		decoded := raw
		if strings.Contains(raw, "%") {
			lower := strings.ToLower(raw)
			for _, esc := range []string{"%2f", "%2e", "%5c", "%00", "%25"} {
				if strings.Contains(lower, esc) {
					return
				}
			}
			dec, err := url.PathUnescape(raw)
			if err != nil {
				return
			}
			decoded = dec
		}
		p, found := strings.CutPrefix(decoded, "/")
		if !found || strings.ContainsAny(p, "\\\x00") {
			return
		}
		n, err := proxypath.Parse(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return
		}
		if err == nil && (!ok || got != n.Path) {
			t.Errorf("GoModule(%q) = %q, %v; the handler serves module %q", raw, got, ok, n.Path)
		}
	})
}

func TestOCIRepository(t *testing.T) {
	tests := []struct {
		url, want string
		probe     bool
	}{
		{"/v2/", "", true},
		{"/v2", "", true},
		{"/v2/alpine/manifests/latest", "docker.io/library/alpine", false},
		{"/v2/library/alpine/blobs/sha256:abc", "docker.io/library/alpine", false},
		{"/v2/ghcr.io/corp/app/manifests/v1", "ghcr.io/corp/app", false},
		{"/v2/GHCR.io/corp/app/manifests/v1", "ghcr.io/corp/app", false},
		{"/v2/index.docker.io/nginx/tags/list", "docker.io/library/nginx", false},
		{"/v2/corp/app/manifests/v1?ns=ghcr.io", "ghcr.io/corp/app", false},
		{"/v2/corp/app/referrers/sha256:abc?ns=registry-1.docker.io", "docker.io/corp/app", false},
		{"/v2/localhost/app/manifests/v1", "localhost/app", false},
		{"/v2/_catalog", "", false},
		{"/v2/corp%2fapp/manifests/v1", "", false},
		{"/v2/app/other/v1", "", false},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.url)
		got, probe := OCIRepository(u, "docker.io")
		if got != tt.want || probe != tt.probe {
			t.Errorf("OCIRepository(%q): got %q, %v; want %q, %v", tt.url, got, probe, tt.want, tt.probe)
		}
	}
}

func TestPyPIProject(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/pypi/simple/", ""},
		{"/pypi/simple/Requests/", "requests"},
		{"/pypi/simple/zope.interface/", "zope-interface"},
		{"/pypi/simple/Corp__Secret", "corp-secret"},
		{"/pypi/simple/corp%5Fsecret/", "corp-secret"},
		{"/pypi/files/corp-secret/" + strings.Repeat("a", 64) + "/corp_secret-1.0.tar.gz", "corp-secret"},
		{"/pypi/other", ""},
	}
	for _, tt := range tests {
		if got := PyPIProject(tt.path); got != tt.want {
			t.Errorf("PyPIProject(%q): got %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestNPMPackage(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/npm/left-pad", "left-pad"},
		{"/npm/left-pad/1.3.0", "left-pad"},
		{"/npm/left-pad/-/left-pad-1.3.0.tgz", "left-pad"},
		{"/npm/@corp/secret", "@corp/secret"},
		{"/npm/@corp%2fsecret", "@corp/secret"},
		{"/npm/@corp%2Fsecret/-/secret-1.0.0.tgz", "@corp/secret"},
		{"/npm/-/package/@corp/secret/dist-tags", "@corp/secret"},
		{"/npm/-/npm/v1/keys", ""},
		{"/npm/-/ping", ""},
	}
	for _, tt := range tests {
		if got := NPMPackage(tt.path); got != tt.want {
			t.Errorf("NPMPackage(%q): got %q, want %q", tt.path, got, tt.want)
		}
	}
}

// FuzzSubjects reads hostile paths with every subject parser: none may
// panic, and each name is in the form the rules compare.
func FuzzSubjects(f *testing.F) {
	for _, s := range []string{"/v2/ghcr.io/corp/app/manifests/v1?ns=x", "/pypi/simple/Corp.Secret/", "/pypi/files/a/b/c",
		"/npm/@corp%2fsecret/-/x.tgz", "/npm/-/package/@a/b/dist-tags", "/npm/%zz", "/v2/%2e%2e/blobs/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if u, err := url.Parse("http://mirror" + p); err == nil {
			name, _ := OCIRepository(u, "docker.io")
			if name != strings.ToLower(name) {
				t.Errorf("OCIRepository(%q) = %q, not lower case", p, name)
			}
		}
		if n := PyPIProject(p); pypi.Normalize(n) != n {
			t.Errorf("PyPIProject(%q) = %q, not normalised", p, n)
		}
		NPMPackage(p)
	})
}
