package proxychain

import (
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string // "kind url anyError" or "ERR" for malformed
	}{
		{"default", "", []string{"proxy https://proxy.golang.org ,", "direct  ,"}},
		{"bare host", "goproxy.cn,direct", []string{"proxy https://goproxy.cn ,", "direct  ,"}},
		{"pipe", "https://a.example/|https://b.example,off", []string{"proxy https://a.example |", "proxy https://b.example ,", "off  ,"}},
		{"empty entries skipped", ",,https://a.example,,", []string{"proxy https://a.example ,"}},
		{"bad scheme", "ftp://x.example", []string{"ERR"}},
		{"no host", "https://", []string{"ERR"}},
		{"file", "file:///srv/mirror", []string{"proxy file:///srv/mirror ,"}},
		{"spaces trimmed", " https://a.example , direct ", []string{"proxy https://a.example ,", "direct  ,"}},
		{"bad port", "http://127.0.0.1:99999", []string{"ERR"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Parse(tt.in)
			if len(got) != len(tt.want) {
				t.Fatalf("Parse(%q) = %d entries %v, want %d", tt.in, len(got), got, len(tt.want))
			}
			for i, e := range got {
				var s string
				if e.Err != nil {
					s = "ERR"
				} else {
					sep := ","
					if e.AnyError {
						sep = "|"
					}
					s = [...]string{"proxy", "direct", "off"}[e.Kind] + " " + e.URL + " " + sep
				}
				if s != tt.want[i] {
					t.Errorf("Parse(%q)[%d] = %q, want %q", tt.in, i, s, tt.want[i])
				}
			}
		})
	}
}

func TestIsLocalHost(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"127.0.0.1:8080", true},
		{"localhost", true},
		{"[::1]:3000", true},
		{"goproxy.cn", false},
		{"10.0.0.1", false},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			if got := IsLocalHost(tt.host); got != tt.want {
				t.Errorf("IsLocalHost(%q) = %v, want %v", tt.host, got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "https://goproxy.cn,direct", "a|b,off", "http://[::1", "file:///x", ",|,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, e := range Parse(s) {
			if e.Raw == "" {
				t.Fatalf("Parse(%q) returned an empty entry", s)
			}
			if e.Kind == Proxy && e.Err == nil && e.URL == "" {
				t.Fatalf("Parse(%q): valid proxy entry %q has no URL", s, e.Raw)
			}
		}
	})
}
