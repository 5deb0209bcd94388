package npm

import (
	"errors"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/store"
)

func TestCheckName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{
		{"express", true}, {"JSONStream", true}, {"@types/node", true}, {"lodash.merge", true},
		{"a-b_c.d~e!f*g'h(i)", true}, {strings.Repeat("a", 214), true},
		{"", false}, {".bin", false}, {"_x", false}, {"@x/.y", false}, {"@x/_y", false}, {"@.x/y", false},
		{"a b", false}, {" a", false}, {"a/b", false}, {"@x", false}, {"@/y", false}, {"@x/", false},
		{"@x/y/z", false}, {"node_modules", false}, {"favicon.ico", false}, {strings.Repeat("a", 215), false},
		{"a%2fb", false}, {"é", false}, {"a:b", false},
	} {
		err := CheckName(tt.name)
		if (err == nil) != tt.ok {
			t.Errorf("CheckName(%q) = %v, want ok %v", tt.name, err, tt.ok)
		}
		if err != nil && !errors.Is(err, pull.ErrBadRequest) {
			t.Errorf("CheckName(%q) = %v, not a bad request", tt.name, err)
		}
	}
}

func TestParsePath(t *testing.T) {
	for _, tt := range []struct {
		path string
		want request
		err  error
	}{
		{"/npm/express", request{kind: kindPackument, name: "express"}, nil},
		{"/npm/@types%2fnode", request{kind: kindPackument, name: "@types/node"}, nil},
		{"/npm/@types%2Fnode", request{kind: kindPackument, name: "@types/node"}, nil},
		{"/npm/@types/node", request{kind: kindPackument, name: "@types/node"}, nil},
		{"/npm/express/4.21.2", request{kind: kindVersion, name: "express", spec: "4.21.2"}, nil},
		{"/npm/@types/node/latest", request{kind: kindVersion, name: "@types/node", spec: "latest"}, nil},
		{"/npm/express/-/express-4.21.2.tgz", request{kind: kindTarball, name: "express", file: "express-4.21.2.tgz"}, nil},
		{"/npm/@types/node/-/node-1.0.0.tgz", request{kind: kindTarball, name: "@types/node", file: "node-1.0.0.tgz"}, nil},
		{"/npm/-/package/@a%2fb/dist-tags", request{kind: kindDistTags, name: "@a/b"}, nil},
		{"/npm/-/npm/v1/keys", request{kind: kindKeys}, nil},
		{"/npm/-/npm/v1/security/advisories/bulk", request{kind: kindAudit, upstreamPath: "-/npm/v1/security/advisories/bulk"}, nil},
		{"/npm/-/ping", request{kind: kindPing}, nil},
		{"/npm/%zz", request{}, pull.ErrBadRequest},
		{"/npm/a/../b", request{}, pull.ErrBadRequest},
		{"/npm/express/-/x.zip", request{}, pull.ErrBadRequest},
		{"/npm/-/whoami", request{}, errNoRoute},
		{"/other/x", request{}, errNoRoute},
	} {
		got, err := parsePath(tt.path)
		if tt.err != nil {
			if !errors.Is(err, tt.err) {
				t.Errorf("parsePath(%q) error = %v, want %v", tt.path, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parsePath(%q) = %+v, %v; want %+v", tt.path, got, err, tt.want)
		}
	}
}

// FuzzParsePath checks that any path parses into store names that pass
// store.CheckName, or fails as a bad request or an unknown route.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"/npm/express", "/npm/@types%2fnode", "/npm/@a/b/-/b-1.0.0.tgz", "/npm/x/1.0.0", "/npm/-/package/x/dist-tags",
		"/npm/..%2f..%2fetc", "/npm/%2e%2e/-/x.tgz", "/npm/@x%2f..%2f..", "/npm/a%00", "/npm/-/npm/v1/keys", "/npm/%zz",
		"/npm/@%2f/-/.tgz", "/npm/a/-/.tgz", "/npm/-/package/@a/b/c/dist-tags",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		req, err := parsePath(p)
		if err != nil {
			if !errors.Is(err, pull.ErrBadRequest) && !errors.Is(err, errNoRoute) {
				t.Fatalf("parsePath(%q): unexpected error class: %v", p, err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("parsePath(%q): multi-line error %q", p, err)
			}
			return
		}
		if req.name != "" {
			if err := CheckName(req.name); err != nil {
				t.Fatalf("parsePath(%q) gave invalid name %q", p, req.name)
			}
			if err := store.CheckName("npm/packuments/" + req.name); err != nil {
				t.Fatalf("parsePath(%q): packument store name: %v", p, err)
			}
		}
		if req.kind == kindTarball {
			if err := store.CheckName(tarballName(req.name, req.file)); err != nil {
				t.Fatalf("parsePath(%q): tarball store name: %v", p, err)
			}
		}
	})
}
