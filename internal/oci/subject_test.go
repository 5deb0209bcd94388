package oci

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestSubject(t *testing.T) {
	tests := []struct {
		url, want string
		ok        bool
	}{
		{"/v2/", "", true},
		{"/v2", "", true},
		{"/v2/alpine/manifests/latest", "docker.io/library/alpine", true},
		{"/v2/library/alpine/blobs/sha256:" + strings.Repeat("a", 64), "docker.io/library/alpine", true},
		{"/v2/ghcr.io/corp/app/manifests/v1", "ghcr.io/corp/app", true},
		{"/v2/GHCR.io/corp/app/manifests/v1", "ghcr.io/corp/app", true},
		{"/v2/index.docker.io/nginx/tags/list", "docker.io/library/nginx", true},
		{"/v2/corp/app/manifests/v1?ns=ghcr.io", "ghcr.io/corp/app", true},
		{"/v2/corp/app/referrers/sha256:" + strings.Repeat("a", 64) + "?ns=registry-1.docker.io", "docker.io/corp/app", true},
		{"/v2/localhost/app/manifests/v1", "localhost/app", true},
		{"/v2/_catalog", "", true},
		{"/v2/Corp/App/manifests/v1", "", false},
		{"/v2/corp%2fapp/manifests/v1", "", false},
		{"/v2/app/other/v1", "", true},
	}
	for _, tt := range tests {
		u, _ := url.Parse(tt.url)
		got, ok := Subject(&http.Request{URL: u}, "")
		if got != tt.want || ok != tt.ok {
			t.Errorf("Subject(%q): got %q, %v; want %q, %v", tt.url, got, ok, tt.want, tt.ok)
		}
	}
}

// FuzzSubject reads hostile paths: none may panic, every name is in the
// form the rules compare, and a path the handler accepts names the
// repository the handler serves.
func FuzzSubject(f *testing.F) {
	for _, s := range []string{"/v2/ghcr.io/corp/app/manifests/v1?ns=x", "/v2/%2e%2e/blobs/x", "/v2/a/b/tags/list", "/v2/A/manifests/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		u, err := url.Parse("http://mirror" + p)
		if err != nil {
			return
		}
		name, ok := Subject(&http.Request{URL: u}, "")
		if name != strings.ToLower(name) {
			t.Errorf("Subject(%q) = %q, not lower case", p, name)
		}
		if req, perr := parseRequest(u, DockerHub); perr == nil && req.kind != kindBase && (!ok || name != req.name()) {
			t.Errorf("Subject(%q) = %q, %v; the handler serves %q", p, name, ok, req.name())
		}
	})
}
