package cargo

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/store"
)

func TestParsePath(t *testing.T) {
	tests := []struct {
		path    string
		want    request
		wantErr error
	}{
		{"/cargo/index/config.json", request{kind: kindConfig}, nil},
		{"/cargo/index/1/a", request{kind: kindIndex, name: "a"}, nil},
		{"/cargo/index/2/ab", request{kind: kindIndex, name: "ab"}, nil},
		{"/cargo/index/3/a/abc", request{kind: kindIndex, name: "abc"}, nil},
		{"/cargo/index/se/rd/serde", request{kind: kindIndex, name: "serde"}, nil},
		{"/cargo/index/se/rd/Serde", request{kind: kindIndex, name: "serde"}, nil},
		{"/cargo/index/Se/Rd/SERDE_json", request{kind: kindIndex, name: "serde_json"}, nil},
		{"/cargo/index/un/ic/unicode-ident", request{kind: kindIndex, name: "unicode-ident"}, nil},
		{"/cargo/api/v1/crates/serde/1.0.0/download", request{kind: kindDownload, name: "serde", version: "1.0.0"}, nil},
		{"/cargo/api/v1/crates/Inflector/0.11.4/download", request{kind: kindDownload, name: "Inflector", version: "0.11.4"}, nil},
		{"/cargo/api/v1/crates/x/1.0.0-rc.1%2Bbuild.5/download", request{kind: kindDownload, name: "x", version: "1.0.0-rc.1+build.5"}, nil},
		{"/cargo/api/v1/crates", request{kind: kindAPI}, nil},
		{"/cargo/api/v1/crates/serde/owners", request{kind: kindAPI}, nil},
		{"/cargo/index/se/re/serde", request{}, pull.ErrBadRequest},
		{"/cargo/index/1/ab", request{}, pull.ErrBadRequest},
		{"/cargo/index/3/b/abc", request{}, pull.ErrBadRequest},
		{"/cargo/index/ab/abcd", request{}, pull.ErrBadRequest},
		{"/cargo/index/se/rd/", request{}, pull.ErrBadRequest},
		{"/cargo/index/", request{}, pull.ErrBadRequest},
		{"/cargo/index/1/_", request{}, pull.ErrBadRequest},
		{"/cargo/index/1/1", request{}, pull.ErrBadRequest},
		{"/cargo/index/..%2F../2/ab", request{}, pull.ErrBadRequest},
		{"/cargo/index/se/rd/se%zzrd", request{}, pull.ErrBadRequest},
		{"/cargo/index/3/a/a.c", request{}, pull.ErrBadRequest},
		{"/cargo/index/" + IndexPath(strings.Repeat("a", 65)), request{}, pull.ErrBadRequest},
		{"/cargo/api/v1/crates/serde/../download", request{}, pull.ErrBadRequest},
		{"/cargo/api/v1/crates/serde/v1/download", request{}, pull.ErrBadRequest},
		{"/cargo/api/v1/crates/ser%2Fde/1.0.0/download", request{}, pull.ErrBadRequest},
		{"/cargo/api/v1/crates/-x/1.0.0/download", request{}, pull.ErrBadRequest},
		{"/cargo/", request{}, fs.ErrNotExist},
		{"/cargo/crates/serde", request{}, fs.ErrNotExist},
		{"/npm/serde", request{}, pull.ErrBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, err := parsePath(tt.path)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("parsePath(%q): got %+v, %v; want error %v", tt.path, got, err, tt.wantErr)
				}
				if s := pull.Status(err); s >= 500 {
					t.Errorf("parsePath(%q): status %d, want a 4xx", tt.path, s)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parsePath(%q): got %+v, %v; want %+v", tt.path, got, err, tt.want)
			}
		})
	}
}

func TestIndexPath(t *testing.T) {
	for _, tt := range []struct{ name, want string }{
		{"a", "1/a"}, {"AB", "2/ab"}, {"Abc", "3/a/abc"}, {"cargo", "ca/rg/cargo"}, {"Serde_JSON", "se/rd/serde_json"},
	} {
		if got := IndexPath(tt.name); got != tt.want {
			t.Errorf("IndexPath(%q): got %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestSubject(t *testing.T) {
	for _, tt := range []struct{ path, want string }{
		{"/cargo/index/se/rd/Serde", "serde"},
		{"/cargo/api/v1/crates/Inflector/0.11.4/download", "inflector"},
		{"/cargo/index/config.json", ""},
		{"/cargo/api/v1/crates", ""},
		{"/cargo/index/se/re/serde", ""},
		{"/cargo/api/v1/crates/x%2F..%2Fy/1.0.0/download", ""},
	} {
		if got := subjectPath(tt.path); got != tt.want {
			t.Errorf("subjectPath(%q): got %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestIsImmutable(t *testing.T) {
	for _, tt := range []struct {
		name string
		want bool
	}{
		{crateName("serde", "1.0.0"), true},
		{indexName("serde"), false},
		{configName, false},
	} {
		if got := IsImmutable(tt.name); got != tt.want {
			t.Errorf("IsImmutable(%q): got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// FuzzParsePath checks that the parser never panics, that what it accepts
// makes valid store names that the index layout agrees with, and that
// Subject reads the same name as the handler.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"/cargo/index/config.json", "/cargo/index/1/a", "/cargo/index/3/a/abc", "/cargo/index/se/rd/Serde",
		"/cargo/api/v1/crates/serde/1.0.0/download", "/cargo/api/v1/crates/x/1.0.0%2Bb/download",
		"/cargo/index/..%2f/x", "/cargo/api/v1/crates/%2e%2e/1/download", "/cargo/", "/cargo/index//",
		"/cargo/api/v1/crates/a/1.0.0/download/extra", "/cargo/index/ab/cd/abcd%00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		req, err := parsePath(p)
		if err != nil {
			if s := pull.Status(err); s != 400 && s != 404 {
				t.Fatalf("parsePath(%q): status %d for %v, want 400 or 404", p, s, err)
			}
			if subjectPath(p) != "" {
				t.Fatalf("subjectPath(%q) = %q for a refused path", p, subjectPath(p))
			}
			return
		}
		switch req.kind {
		case kindIndex:
			if req.name != strings.ToLower(req.name) || CheckName(req.name) != nil {
				t.Fatalf("parsePath(%q): index name %q", p, req.name)
			}
			if err := store.CheckName(indexName(req.name)); err != nil {
				t.Fatalf("parsePath(%q): store name: %v", p, err)
			}
		case kindDownload:
			if CheckName(req.name) != nil || checkVersion(req.version) != nil {
				t.Fatalf("parsePath(%q): %+v", p, req)
			}
			if err := store.CheckName(crateName(strings.ToLower(req.name), req.version)); err != nil {
				t.Fatalf("parsePath(%q): store name: %v", p, err)
			}
		}
		if got := subjectPath(p); got != strings.ToLower(req.name) {
			t.Fatalf("subjectPath(%q) = %q, want %q", p, got, strings.ToLower(req.name))
		}
	})
}

// subjectPath is [Subject] of an escaped path, "" for a refused one.
func subjectPath(escaped string) string {
	name, _ := subjectOf(escaped)
	return name
}
