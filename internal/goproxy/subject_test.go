package goproxy

import (
	"errors"
	"io/fs"
	"net/http"
	"net/url"
	"testing"
)

func subjectOf(t testing.TB, escaped string) (string, bool, bool) {
	u, err := url.Parse("http://mirror" + escaped)
	if err != nil || u.EscapedPath() != escaped {
		return "", false, false
	}
	name, ok := Subject(&http.Request{URL: u})
	return name, ok, true
}

func TestSubject(t *testing.T) {
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
		{"/example.com%5ccorp/@v/list", "", false},
		{"/example.com/corp", "", false},
	}
	for _, tt := range tests {
		got, ok, parsed := subjectOf(t, tt.path)
		if !parsed {
			t.Fatalf("%q does not parse as a URL path", tt.path)
		}
		if got != tt.want || ok != tt.ok {
			t.Errorf("Subject(%q): got %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzSubject checks that every path the handler serves yields the
// module the handler serves, so that no spelling of a path reaches a
// module under another name than access control sees.
func FuzzSubject(f *testing.F) {
	for _, s := range []string{"/golang.org/x/text/@v/v0.3.0.zip", "/!example.com/corp/@latest", "/%21a.com/b/@v/list",
		"/a.com/b/@v/master.info", "/a.com/%2e%2e/b/@v/list", "/a.com/b/@v/v1.0.0.mod/@v/list"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, ok, parsed := subjectOf(t, raw)
		if !parsed {
			return
		}
		req, err := parseRequest(raw)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return
		}
		if err == nil && (!ok || got != req.path) {
			t.Errorf("Subject(%q) = %q, %v; the handler serves module %q", raw, got, ok, req.path)
		}
	})
}
