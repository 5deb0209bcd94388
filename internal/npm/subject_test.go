package npm

import (
	"net/http"
	"net/url"
	"testing"
)

func TestSubject(t *testing.T) {
	tests := []struct {
		path, want string
		ok         bool
	}{
		{"/npm/left-pad", "left-pad", true},
		{"/npm/left-pad/1.3.0", "left-pad", true},
		{"/npm/left-pad/-/left-pad-1.3.0.tgz", "left-pad", true},
		{"/npm/@corp/secret", "@corp/secret", true},
		{"/npm/@corp%2fsecret", "@corp/secret", true},
		{"/npm/@CORP%2Fsecret/-/secret-1.0.0.tgz", "@CORP/secret", true},
		{"/npm/-/package/@corp/secret/dist-tags", "@corp/secret", true},
		{"/npm/-/npm/v1/keys", "", true},
		{"/npm/-/ping", "", true},
		{"/npm/@corp/../x", "", false},
	}
	for _, tt := range tests {
		u, _ := url.Parse("http://mirror" + tt.path)
		if got, ok := Subject(&http.Request{URL: u}); got != tt.want || ok != tt.ok {
			t.Errorf("Subject(%q): got %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
}

func TestScopeOfFoldsCase(t *testing.T) {
	for _, name := range []string{"@corp/x", "@CORP/x", "@Corp/y"} {
		if got := ScopeOf(name); got != "@corp" {
			t.Errorf("ScopeOf(%q): got %q, want @corp", name, got)
		}
	}
}

// FuzzSubject reads hostile paths: none may panic, and a name is only
// ever one that the handler's own name check accepts.
func FuzzSubject(f *testing.F) {
	for _, s := range []string{"/npm/@corp%2fsecret/-/x.tgz", "/npm/-/package/@a/b/dist-tags", "/npm/%zz", "/npm/@A/b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		u, err := url.Parse("http://mirror" + p)
		if err != nil {
			return
		}
		if n, ok := Subject(&http.Request{URL: u}); ok && n != "" && CheckName(n) != nil {
			t.Errorf("Subject(%q) = %q, which the handler refuses", p, n)
		}
	})
}
