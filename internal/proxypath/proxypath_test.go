package proxypath

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"golang.org/x/mod/module"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		kind    Kind
		path    string
		version string
	}{
		{"golang.org/x/text/@v/v0.3.0.zip", Zip, "golang.org/x/text", "v0.3.0"},
		{"golang.org/x/text/@v/v0.3.0.mod", Mod, "golang.org/x/text", "v0.3.0"},
		{"golang.org/x/text/@v/v0.3.0.info", Info, "golang.org/x/text", "v0.3.0"},
		{"github.com/!burnt!sushi/toml/@v/list", List, "github.com/BurntSushi/toml", ""},
		{"golang.org/x/text/@latest", Latest, "golang.org/x/text", ""},
		{"golang.org/x/text/@v/master.info", Query, "golang.org/x/text", "master"},
		{"golang.org/x/text/@v/!master.info", Query, "golang.org/x/text", "Master"},
		{"golang.org/x/text/@v/v1.info", Query, "golang.org/x/text", "v1"},
		{"example.com/m/@v/v2.0.0.info", Query, "example.com/m", "v2.0.0"},
		{"example.com/m/@v/v2.0.0+incompatible.zip", Zip, "example.com/m", "v2.0.0+incompatible"},
		{"example.com/m/v2/@v/v2.1.0-pre.1.mod", Mod, "example.com/m/v2", "v2.1.0-pre.1"},
		{"gopkg.in/yaml.v3/@v/v3.0.1.zip", Zip, "gopkg.in/yaml.v3", "v3.0.1"},
		{"example.com/m/@v/v0.0.0-20240102030405-abcdefabcdef.info", Info, "example.com/m", "v0.0.0-20240102030405-abcdefabcdef"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(tt.name)
			if err != nil {
				t.Fatalf("Parse(%q): got error %v, want none", tt.name, err)
			}
			if r.Kind != tt.kind || r.Path != tt.path || r.Version != tt.version {
				t.Errorf("Parse(%q): got kind %q path %q version %q, want %q %q %q",
					tt.name, r.Kind, r.Path, r.Version, tt.kind, tt.path, tt.version)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	for _, name := range []string{
		"",
		"golang.org/x/text",
		"golang.org/x/text/@v/",
		"golang.org/x/text/@v/.info",
		"golang.org/x/text/@v/v1.0.0",
		"golang.org/x/text/@v/v1.0.0.tar",
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
		"golang.org/x/text/@v/" + strings.Repeat("v", MaxLen) + ".info",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(name)
			if !errors.Is(err, fs.ErrInvalid) {
				t.Errorf("Parse(%q): got error %v, want one matching fs.ErrInvalid", name, err)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
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
		r, err := Parse(name)
		if err != nil {
			if !errors.Is(err, fs.ErrInvalid) && !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Parse(%q): got error %v, want one matching fs.ErrInvalid or fs.ErrNotExist", name, err)
			}
			return
		}
		if err := module.CheckPath(r.Path); err != nil {
			t.Fatalf("Parse(%q) accepted path %q: %v", name, r.Path, err)
		}
		esc, err := module.EscapePath(r.Path)
		if err != nil || esc != r.EscPath {
			t.Fatalf("Parse(%q): EscapePath(%q) = %q, %v; want %q", name, r.Path, esc, err, r.EscPath)
		}
		want := r.EscPath + "/@latest"
		switch r.Kind {
		case Latest:
		case List:
			want = r.EscPath + "/@v/list"
		case Info, Mod, Zip, Query:
			ev, err := module.EscapeVersion(r.Version)
			if err != nil || ev != r.EscVersion {
				t.Fatalf("Parse(%q): EscapeVersion(%q) = %q, %v; want %q", name, r.Version, ev, err, r.EscVersion)
			}
			want = r.EscPath + "/@v/" + ev + r.Ext
			if r.Kind != Query {
				if err := module.Check(r.Path, r.Version); err != nil {
					t.Fatalf("Parse(%q) accepted %s@%s: %v", name, r.Path, r.Version, err)
				}
			}
		default:
			t.Fatalf("Parse(%q): got kind %q", name, r.Kind)
		}
		if want != name {
			t.Fatalf("Parse(%q) does not round-trip: got %q", name, want)
		}
		for _, elem := range strings.Split(name, "/") {
			if elem == "" || elem[0] == '.' {
				t.Fatalf("Parse(%q) accepted a name with element %q", name, elem)
			}
		}
	})
}

func TestParseVersionThatCannotExist(t *testing.T) {
	for _, name := range []string{
		"golang.org/x/text/@v/master.zip",
		"golang.org/x/text/@v/v1.0.mod",
		"golang.org/x/text/@v/v1.0.0+build.zip",
		"example.com/m/@v/v2.0.0.zip",
		"example.com/m/v2/@v/v1.0.0.mod",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse(name)
			if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
				t.Errorf("Parse(%q): got error %v, want one matching fs.ErrNotExist only", name, err)
			}
		})
	}
}
