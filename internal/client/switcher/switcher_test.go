package switcher

import (
	"bytes"
	"testing"
)

func TestSumDBName(t *testing.T) {
	tests := []struct{ in, name, first string }{
		{"", "sum.golang.org", "sum.golang.org"},
		{"off", "sum.golang.org", "sum.golang.org"},
		{"sum.golang.google.cn", "sum.golang.org", "sum.golang.org"},
		{"sum.golang.org https://goproxy.cn/sumdb/sum.golang.org", "sum.golang.org", "sum.golang.org"},
		{"sum.example.com+abcd1234+AAAA https://m.example/sumdb/sum.example.com", "sum.example.com", "sum.example.com+abcd1234+AAAA"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			name, first := SumDBName(tt.in)
			if name != tt.name || first != tt.first {
				t.Errorf("got %q, %q; want %q, %q", name, first, tt.name, tt.first)
			}
		})
	}
}

func TestConfigDir(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"xdg", map[string]string{"XDG_CONFIG_HOME": "/x", "HOME": "/h"}, "/x/gomirror"},
		{"relative xdg ignored", map[string]string{"XDG_CONFIG_HOME": "x", "HOME": "/h"}, "/h/.config/gomirror"},
		{"home", map[string]string{"HOME": "/h"}, "/h/.config/gomirror"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ConfigDir(env(tt.env))
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := ConfigDir(env(nil)); err == nil {
		t.Errorf("got no error without HOME, want one")
	}
}

func TestWriteDiff(t *testing.T) {
	var b bytes.Buffer
	writeDiff(&b, []byte("a\nb\nc\n"), []byte("a\nB\nc\nd\n"))
	want := "  - b\n  + B\n  + d\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}
