package pull

import (
	"crypto/tls"
	"errors"
	"net/http/httptest"
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
