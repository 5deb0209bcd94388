package pull

import (
	"crypto/tls"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestBaseURL(t *testing.T) {
	tests := []struct {
		name    string
		host    string
		tls     bool
		proto   string
		public  string
		want    string
		wantErr bool
	}{
		{"host", "mirror.example:8080", false, "", "", "http://mirror.example:8080", false},
		{"tls", "mirror.example", true, "", "", "https://mirror.example", false},
		{"forwarded", "mirror.example", false, "https", "", "https://mirror.example", false},
		{"forwarded junk", "mirror.example", false, "gopher", "", "http://mirror.example", false},
		{"public", "ignored", false, "", "https://m.example/", "https://m.example", false},
		{"ipv6", "[::1]:80", false, "", "", "http://[::1]:80", false},
		{"no host", "", false, "", "", "", true},
		{"bad host", "evil.example/x?", false, "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Host = tt.host
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tt.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			got, err := BaseURL(r, tt.public)
			if tt.wantErr {
				if !errors.Is(err, ErrBadRequest) {
					t.Fatalf("got %q, %v; want an error matching ErrBadRequest", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestCheckRootURL(t *testing.T) {
	tests := []struct{ name, url, wantErr string }{
		{"https", "https://registry.example/", ""},
		{"http with path", "http://127.0.0.1:8080/maven2", ""},
		{"scheme", "ftp://registry.example/", "want http(s)://host/"},
		{"no host", "https:///x", "want http(s)://host/"},
		{"query", "https://registry.example/?token=s3cret", "no query, fragment or user info"},
		{"fragment", "https://registry.example/#x", "no query, fragment or user info"},
		{"user info", "https://u:s3cret@registry.example/", "credentials come from the environment"},
		{"unparsable", "https://u:s3cret@[::1/x", "invalid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckRootURL(tt.url)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("got %v, want no error", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error saying %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "s3cret") {
				t.Errorf("got %v, want the credential redacted", err)
			}
		})
	}
}

func TestRootURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://index.crates.io":      "https://index.crates.io/",
		"https://registry.npmjs.org/":  "https://registry.npmjs.org/",
		"https://repo.example/maven2":  "https://repo.example/maven2/",
		"https://repo.example/maven2/": "https://repo.example/maven2/",
	} {
		if got := RootURL(in); got != want {
			t.Errorf("RootURL(%q) = %q, want %q", in, got, want)
		}
	}
}
