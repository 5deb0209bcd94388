package goproxy

import "testing"

func TestIsImmutable(t *testing.T) {
	for _, tt := range []struct {
		path string
		want bool
	}{
		{"/golang.org/x/text/@v/v0.3.0.info", true},
		{"/golang.org/x/text/@v/v0.3.0.mod", true},
		{"/golang.org/x/text/@v/v0.3.0.zip", true},
		{"/github.com/!burnt!sushi/toml/@v/v1.3.2.zip", true},
		{"/example.com/m/@v/v2.0.0+incompatible.mod", true},
		{"/example.com/m/@v/v0.0.0-20240101000000-abcdefabcdef.info", true},
		{"/golang.org/x/text/@v/list", false},
		{"/golang.org/x/text/@latest", false},
		{"/golang.org/x/text/@v/master.info", false},
		{"/golang.org/x/text/@v/v0.3.info", false},
	} {
		req, err := parseRequest(tt.path)
		if err != nil {
			t.Fatalf("parseRequest(%q): %v", tt.path, err)
		}
		if got := IsImmutable(req.name); got != tt.want {
			t.Errorf("IsImmutable(%q): got %v, want %v", req.name, got, tt.want)
		}
	}
	for _, name := range []string{"sumdb/sum.golang.org/tile/8/0/001", "npm/tarballs/a/-/a-1.0.0.tgz", "vuln/index/db.json", "golang/dl/go1.22.0.src.tar.gz"} {
		if IsImmutable(name) {
			t.Errorf("IsImmutable(%q): got true, want false: not a module file", name)
		}
	}
}
