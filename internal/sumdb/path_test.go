package sumdb

import (
	"errors"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/store"
)

func TestParsePath(t *testing.T) {
	const name = "sum.example.test"
	tests := []struct {
		path       string
		kind       string
		remote     string
		unknown    bool
		badRequest bool
	}{
		{path: "/sumdb/sum.example.test/supported", kind: "supported"},
		{path: "/sumdb/sum.example.test/latest", kind: "latest", remote: "/latest"},
		{path: "/sumdb/sum.example.test/lookup/github.com/!azure/go@v1.0.0", kind: "lookup", remote: "/lookup/github.com/!azure/go@v1.0.0"},
		{path: "/sumdb/sum.example.test/lookup/gopkg.in/yaml.v2@v2.4.0", kind: "lookup", remote: "/lookup/gopkg.in/yaml.v2@v2.4.0"},
		{path: "/sumdb/sum.example.test/lookup/example.com/m@v2.0.0+incompatible", kind: "lookup", remote: "/lookup/example.com/m@v2.0.0+incompatible"},
		{path: "/sumdb/sum.example.test/tile/8/0/x001/234", kind: "tile", remote: "/tile/8/0/x001/234"},
		{path: "/sumdb/sum.example.test/tile/8/1/000.p/7", kind: "tile", remote: "/tile/8/1/000.p/7"},
		{path: "/sumdb/sum.example.test/tile/8/data/003", kind: "tile", remote: "/tile/8/data/003"},
		{path: "/sumdb/other/latest", unknown: true},
		{path: "/sumdb/sum.example.test.evil/latest", unknown: true},
		{path: "/sumdb/sum.example.test/nope", unknown: true},
		{path: "/lookup/x@v1.0.0", unknown: true},
		{path: "/sumdb/sum.example.test/lookup/github.com/Azure/go@v1.0.0", badRequest: true},
		{path: "/sumdb/sum.example.test/lookup/example.com/m@V1.0.0", badRequest: true},
		{path: "/sumdb/sum.example.test/lookup/example.com/m@v1.0.0-", badRequest: true},
		{path: "/sumdb/sum.example.test/lookup/.hidden.com/m@v1.0.0", badRequest: true},
		{path: "/sumdb/sum.example.test/tile/8/0/1", badRequest: true},
		{path: "/sumdb/sum.example.test/tile/8/-2/000", badRequest: true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			req, err := parsePath(name, tt.path)
			switch {
			case tt.unknown:
				if !errors.Is(err, errUnknown) {
					t.Fatalf("got %+v, %v; want errUnknown", req, err)
				}
			case tt.badRequest:
				if !errors.Is(err, errBadPath) {
					t.Fatalf("got %+v, %v; want errBadPath", req, err)
				}
			default:
				if err != nil || req.kind != tt.kind || req.remote != tt.remote {
					t.Fatalf("got %+v, %v; want kind %s remote %s", req, err, tt.kind, tt.remote)
				}
			}
		})
	}
}

func FuzzParsePath(f *testing.F) {
	for _, p := range []string{
		"/sumdb/sum.golang.org/supported",
		"/sumdb/sum.golang.org/latest",
		"/sumdb/sum.golang.org/lookup/golang.org/x/text@v0.3.0",
		"/sumdb/sum.golang.org/lookup/github.com/!burnt!sushi/toml@v1.2.0",
		"/sumdb/sum.golang.org/tile/8/0/x001/234.p/5",
		"/sumdb/sum.golang.org/tile/8/data/000",
		"/sumdb/sum.golang.org/lookup/a@b@c",
		"/sumdb/sum.golang.org/tile/../../../etc/passwd",
	} {
		f.Add("sum.golang.org", p)
	}
	f.Add("example.com/db", "/sumdb/example.com/db/latest")
	f.Fuzz(func(t *testing.T, name, p string) {
		req, err := parsePath(name, p)
		if err != nil {
			if !errors.Is(err, errUnknown) && !errors.Is(err, errBadPath) {
				t.Errorf("got error %v, want errUnknown or errBadPath", err)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("got a multi-line error %q", err)
			}
			return
		}
		if req.remote == "" {
			if req.kind != "supported" {
				t.Errorf("got %+v: no remote path", req)
			}
			return
		}
		if err := store.CheckName("sumdb/" + name + req.remote); err != nil {
			t.Errorf("accepted %q with an invalid store name: %v", p, err)
		}
		if "/sumdb/"+name+req.remote != p {
			t.Errorf("accepted %q as remote %q: not the same file", p, req.remote)
		}
	})
}
