package pypi

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestSubject(t *testing.T) {
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
		u, _ := url.Parse("http://mirror" + tt.path)
		if got, ok := Subject(&http.Request{URL: u}); got != tt.want || !ok {
			t.Errorf("Subject(%q): got %q, %v; want %q, true", tt.path, got, ok, tt.want)
		}
	}
}

// FuzzSubject reads hostile paths: none may panic, and each name is in
// normal form, as the rules compare it.
func FuzzSubject(f *testing.F) {
	for _, s := range []string{"/pypi/simple/Corp.Secret/", "/pypi/files/a/b/c", "/pypi/simple/%zz/", "/pypi/simple/a%2fb/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		u, err := url.Parse("http://mirror" + p)
		if err != nil {
			return
		}
		if n, _ := Subject(&http.Request{URL: u}); Normalize(n) != n {
			t.Errorf("Subject(%q) = %q, not normalised", p, n)
		}
	})
}
