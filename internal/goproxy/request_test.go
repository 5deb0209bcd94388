package goproxy

import (
	"github.com/gomirror/gomirror/internal/pull"

	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/store"
)

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name    string
		path    string
		want    request
		wantErr error
	}{
		{"list", "/golang.org/x/text/@v/list", request{kind: kindList, path: "golang.org/x/text", name: "golang.org/x/text/@v/list"}, nil},
		{"latest", "/golang.org/x/text/@latest", request{kind: kindLatest, path: "golang.org/x/text", name: "golang.org/x/text/@latest"}, nil},
		{"info", "/golang.org/x/text/@v/v0.3.0.info", request{kind: kindInfo, path: "golang.org/x/text", version: "v0.3.0", name: "golang.org/x/text/@v/v0.3.0.info"}, nil},
		{"mod", "/golang.org/x/text/@v/v0.3.0.mod", request{kind: kindMod, path: "golang.org/x/text", version: "v0.3.0", name: "golang.org/x/text/@v/v0.3.0.mod"}, nil},
		{"zip", "/golang.org/x/text/@v/v0.3.0.zip", request{kind: kindZip, path: "golang.org/x/text", version: "v0.3.0", name: "golang.org/x/text/@v/v0.3.0.zip"}, nil},
		{"case-encoded", "/github.com/!burnt!sushi/toml/@v/v1.2.0.zip", request{kind: kindZip, path: "github.com/BurntSushi/toml", version: "v1.2.0", name: "github.com/!burnt!sushi/toml/@v/v1.2.0.zip"}, nil},
		{"incompatible", "/github.com/x/y/@v/v2.0.0+incompatible.mod", request{kind: kindMod, path: "github.com/x/y", version: "v2.0.0+incompatible", name: "github.com/x/y/@v/v2.0.0+incompatible.mod"}, nil},
		{"escaped bang", "/github.com/%21burnt%21sushi/toml/@v/v1.2.0.zip", request{kind: kindZip, path: "github.com/BurntSushi/toml", version: "v1.2.0", name: "github.com/!burnt!sushi/toml/@v/v1.2.0.zip"}, nil},
		{"pseudo", "/example.com/m/@v/v0.0.0-20240102030405-abcdefabcdef.zip", request{kind: kindZip, path: "example.com/m", version: "v0.0.0-20240102030405-abcdefabcdef", name: "example.com/m/@v/v0.0.0-20240102030405-abcdefabcdef.zip"}, nil},
		{"branch query", "/example.com/m/@v/master.info", request{kind: kindQuery, path: "example.com/m", version: "master", name: "example.com/m/@v/master.info"}, nil},
		{"other major query", "/example.com/m/@v/v2.0.0.info", request{kind: kindQuery, path: "example.com/m", version: "v2.0.0", name: "example.com/m/@v/v2.0.0.info"}, nil},
		{"prefix query", "/example.com/m/@v/v1.2.info", request{kind: kindQuery, path: "example.com/m", version: "v1.2", name: "example.com/m/@v/v1.2.info"}, nil},
		{"v2 path", "/example.com/m/v2/@v/v2.1.0.zip", request{kind: kindZip, path: "example.com/m/v2", version: "v2.1.0", name: "example.com/m/v2/@v/v2.1.0.zip"}, nil},
		{"wrong major", "/example.com/m/@v/v2.0.0.zip", request{}, fs.ErrNotExist},
		{"non-canonical zip", "/example.com/m/@v/v1.2.zip", request{}, fs.ErrNotExist},
		{"upper case", "/github.com/BurntSushi/toml/@v/list", request{}, pull.ErrBadRequest},
		{"dot dot", "/golang.org/x/../x/text/@v/list", request{}, pull.ErrBadRequest},
		{"dot dot version", "/golang.org/x/text/@v/...info", request{}, pull.ErrBadRequest},
		{"encoded dot dot", "/golang.org/x/%2e%2e/text/@v/list", request{}, pull.ErrBadRequest},
		{"encoded slash", "/golang.org%2fx/text/@v/list", request{}, pull.ErrBadRequest},
		{"double-encoded dot dot", "/golang.org/x/%252e%252e/text/@v/list", request{}, pull.ErrBadRequest},
		{"encoded backslash", "/golang.org/x%5c..%5ctext/@v/list", request{}, pull.ErrBadRequest},
		{"bad escape", "/golang.org/x/%zz/@v/list", request{}, pull.ErrBadRequest},
		{"backslash", "/golang.org/x\\..\\text/@v/list", request{}, pull.ErrBadRequest},
		{"nul", "/golang.org/x/te\x00xt/@v/list", request{}, pull.ErrBadRequest},
		{"no leading slash", "golang.org/x/text/@v/list", request{}, pull.ErrBadRequest},
		{"no @v", "/golang.org/x/text", request{}, pull.ErrBadRequest},
		{"unknown file", "/golang.org/x/text/@v/v0.3.0.tar", request{}, pull.ErrBadRequest},
		{"empty version", "/golang.org/x/text/@v/.zip", request{}, pull.ErrBadRequest},
		{"no dot in first element", "/localhost/x/@v/list", request{}, pull.ErrBadRequest},
		{"empty path", "/@v/list", request{}, pull.ErrBadRequest},
		{"double slash", "/golang.org//x/@v/list", request{}, pull.ErrBadRequest},
		{"overlong", "/example.com/" + strings.Repeat("a", store.MaxNameLen) + "/@v/list", request{}, pull.ErrBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseRequest(tt.path)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("parseRequest(%q): got error %v, want %v", tt.path, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseRequest(%q): %v", tt.path, err)
			}
			tt.want.raw = tt.path
			if got != tt.want {
				t.Errorf("parseRequest(%q):\ngot  %+v\nwant %+v", tt.path, got, tt.want)
			}
		})
	}
}

// FuzzParseRequest checks that any path either parses into a request whose
// store name is valid, or fails with a 4xx error.
func FuzzParseRequest(f *testing.F) {
	for _, seed := range []string{
		"/golang.org/x/text/@v/list", "/golang.org/x/text/@latest", "/golang.org/x/text/@v/v0.3.0.zip",
		"/github.com/!burnt!sushi/toml/@v/v1.2.0.info", "/example.com/m/@v/master.info",
		"/a/../b/@v/list", "/%2e%2e/@v/list", "/x\\y/@v/list", "/example.com/m/@v/v2.0.0+incompatible.mod",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, path string) {
		req, err := parseRequest(path)
		if err != nil {
			if code := pull.Status(err); code != 400 && code != 404 {
				t.Fatalf("parseRequest(%q): error %v maps to %d, want 400 or 404", path, err, code)
			}
			return
		}
		if err := store.CheckName(req.name); err != nil {
			t.Fatalf("parseRequest(%q) = name %q: %v", path, req.name, err)
		}
		if strings.Contains(req.name, "..") {
			t.Fatalf("parseRequest(%q) = name %q with ..", path, req.name)
		}
	})
}
