package upstream

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"golang.org/x/mod/module"
)

func TestParseName(t *testing.T) {
	tests := []struct {
		name    string
		kind    string
		path    string
		version string
	}{
		{"golang.org/x/text/@v/v0.3.0.zip", kindZip, "golang.org/x/text", "v0.3.0"},
		{"golang.org/x/text/@v/v0.3.0.mod", kindMod, "golang.org/x/text", "v0.3.0"},
		{"golang.org/x/text/@v/v0.3.0.info", kindInfo, "golang.org/x/text", "v0.3.0"},
		{"github.com/!burnt!sushi/toml/@v/list", kindList, "github.com/BurntSushi/toml", ""},
		{"golang.org/x/text/@latest", kindLatest, "golang.org/x/text", ""},
		{"golang.org/x/text/@v/master.info", kindQuery, "golang.org/x/text", "master"},
		{"golang.org/x/text/@v/!master.info", kindQuery, "golang.org/x/text", "Master"},
		{"golang.org/x/text/@v/v1.info", kindQuery, "golang.org/x/text", "v1"},
		{"example.com/m/@v/v2.0.0.info", kindQuery, "example.com/m", "v2.0.0"},
		{"example.com/m/@v/v2.0.0+incompatible.zip", kindZip, "example.com/m", "v2.0.0+incompatible"},
		{"example.com/m/v2/@v/v2.1.0-pre.1.mod", kindMod, "example.com/m/v2", "v2.1.0-pre.1"},
		{"gopkg.in/yaml.v3/@v/v3.0.1.zip", kindZip, "gopkg.in/yaml.v3", "v3.0.1"},
		{"example.com/m/@v/v0.0.0-20240102030405-abcdefabcdef.info", kindInfo, "example.com/m", "v0.0.0-20240102030405-abcdefabcdef"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseName(tt.name)
			if err != nil {
				t.Fatalf("parseName(%q): got error %v, want none", tt.name, err)
			}
			if r.kind != tt.kind || r.path != tt.path || r.version != tt.version {
				t.Errorf("parseName(%q): got kind %q path %q version %q, want %q %q %q",
					tt.name, r.kind, r.path, r.version, tt.kind, tt.path, tt.version)
			}
		})
	}
}

func TestParseNameInvalid(t *testing.T) {
	for _, name := range []string{
		"",
		"golang.org/x/text",
		"golang.org/x/text/@v/",
		"golang.org/x/text/@v/.info",
		"golang.org/x/text/@v/v1.0.0",
		"golang.org/x/text/@v/v1.0.0.tar",
		"golang.org/x/text/@v/master.zip",
		"golang.org/x/text/@v/v1.0.mod",
		"golang.org/x/text/@v/v1.0.0+build.zip",
		"example.com/m/@v/v2.0.0.zip",
		"example.com/m/v2/@v/v1.0.0.mod",
		"github.com/BurntSushi/toml/@v/list",
		"github.com/!burnt!sushi/toml/@v/V1.0.0.info",
		"../etc/passwd/@v/list",
		"/golang.org/x/text/@v/list",
		"golang.org//x/text/@v/list",
		"golang.org/x/text/@v/../../x.info",
		"golang.org/x/text/@v/a/b.info",
		"golang.org/x/text/@v/.hidden.info",
		"-flag/@v/list",
		"golang.org/x/text/@latest/extra",
		"golang.org/x/text/@v/v1.0.0.info\x00",
		"golang.org/x/text/@v/" + strings.Repeat("v", maxNameLen) + ".info",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parseName(name)
			if !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("parseName(%q): got error %v, want one matching fs.ErrInvalid", name, err)
			}
		})
	}
}

func FuzzParseName(f *testing.F) {
	for _, seed := range []string{
		"golang.org/x/text/@v/v0.3.0.zip",
		"golang.org/x/text/@v/v0.3.0.mod",
		"golang.org/x/text/@v/v0.3.0.info",
		"github.com/!burnt!sushi/toml/@v/list",
		"golang.org/x/text/@latest",
		"golang.org/x/text/@v/!master.info",
		"example.com/m/@v/v2.0.0+incompatible.zip",
		"golang.org/x/text/@v/../../x.info",
		"a/@v/@v/list",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		r, err := parseName(name)
		if err != nil {
			if !errors.Is(err, fs.ErrInvalid) {
				t.Fatalf("parseName(%q): got error %v, want one matching fs.ErrInvalid", name, err)
			}
			return
		}
		if err := module.CheckPath(r.path); err != nil {
			t.Fatalf("parseName(%q) accepted path %q: %v", name, r.path, err)
		}
		esc, err := module.EscapePath(r.path)
		if err != nil || esc != r.escPath {
			t.Fatalf("parseName(%q): EscapePath(%q) = %q, %v; want %q", name, r.path, esc, err, r.escPath)
		}
		want := r.escPath + "/@latest"
		switch r.kind {
		case kindLatest:
		case kindList:
			want = r.escPath + "/@v/list"
		case kindInfo, kindMod, kindZip, kindQuery:
			ev, err := module.EscapeVersion(r.version)
			if err != nil || ev != r.escVersion {
				t.Fatalf("parseName(%q): EscapeVersion(%q) = %q, %v; want %q", name, r.version, ev, err, r.escVersion)
			}
			want = r.escPath + "/@v/" + ev + r.ext
			if r.kind != kindQuery {
				if err := module.Check(r.path, r.version); err != nil {
					t.Fatalf("parseName(%q) accepted %s@%s: %v", name, r.path, r.version, err)
				}
			}
		default:
			t.Fatalf("parseName(%q): got kind %q", name, r.kind)
		}
		if want != name {
			t.Fatalf("parseName(%q) does not round-trip: got %q", name, want)
		}
		for _, elem := range strings.Split(name, "/") {
			if elem == "" || elem[0] == '.' {
				t.Fatalf("parseName(%q) accepted a name with element %q", name, elem)
			}
		}
	})
}
