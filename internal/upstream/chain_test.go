package upstream

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNewChain(t *testing.T) {
	tests := []struct {
		proxy   string
		proxies []string
		kinds   []int
		falls   []bool
	}{
		{"https://a.example", []string{"https://a.example"}, []int{entryProxy}, []bool{false}},
		{"https://a.example,https://b.example/p/|direct", []string{"https://a.example", "https://b.example/p"},
			[]int{entryProxy, entryProxy, entryDirect}, []bool{false, true, false}},
		{"proxy.example", []string{"https://proxy.example"}, []int{entryProxy}, []bool{false}},
		{" a.example , ,b.example:8080|off,https://ignored.example", []string{"https://a.example", "https://b.example:8080"},
			[]int{entryProxy, entryProxy, entryOff}, []bool{false, true, false}},
		{"off", nil, []int{entryOff}, []bool{false}},
		{"direct,https://ignored.example", nil, []int{entryDirect}, []bool{false}},
		{"file:///srv/goproxy", []string{"file:///srv/goproxy"}, []int{entryProxy}, []bool{false}},
		{"http://user:secret@a.example", []string{"http://user:secret@a.example"}, []int{entryProxy}, []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.proxy, func(t *testing.T) {
			u, err := New(Config{Proxy: tt.proxy, WorkDir: t.TempDir()})
			if err != nil {
				t.Fatalf("New(Proxy: %q): got error %v, want none", tt.proxy, err)
			}
			if got := u.Proxies(); !slices.Equal(got, tt.proxies) {
				t.Errorf("Proxies(): got %q, want %q", got, tt.proxies)
			}
			var kinds []int
			var falls []bool
			for _, e := range u.chain {
				kinds = append(kinds, e.kind)
				falls = append(falls, e.fallBackOnError)
			}
			if !slices.Equal(kinds, tt.kinds) || !slices.Equal(falls, tt.falls) {
				t.Errorf("chain: got kinds %v fallbacks %v, want %v %v", kinds, falls, tt.kinds, tt.falls)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	insideModule := t.TempDir()
	if err := os.WriteFile(filepath.Join(insideModule, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error
	}{
		{"empty", Config{}, "GOPROXY list is empty"},
		{"only separators", Config{Proxy: " , | "}, "GOPROXY list is empty"},
		{"single word", Config{Proxy: "https://a.example,bogus"}, `"bogus": invalid proxy URL missing scheme`},
		{"bad scheme", Config{Proxy: "ftp://a.example"}, `"ftp://a.example": invalid proxy URL scheme`},
		{"file with host", Config{Proxy: "file://host/dir"}, `"file://host/dir": invalid file:// proxy URL`},
		{"missing host", Config{Proxy: "https:///x"}, `"https:///x": invalid proxy URL missing host`},
		{"password redacted", Config{Proxy: "ftp://u:hunter2@a.example"}, `"ftp://u:xxxxx@a.example"`},
		{"direct without WorkDir", Config{Proxy: "https://a.example,direct"}, "WorkDir is required"},
		{"private without WorkDir", Config{Proxy: "https://a.example", Private: "example.com/private"}, "WorkDir is required"},
		{"WorkDir inside a module", Config{Proxy: "direct", WorkDir: filepath.Join(insideModule, "work")}, "inside the Go module"},
		{"missing go command", Config{Proxy: "direct", WorkDir: t.TempDir(), GoCommand: filepath.Join(t.TempDir(), "no-such-go")}, "GoCommand"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New(%+v): got error %v, want one containing %q", tt.cfg, err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Errorf("New: error %q shows a password", err)
			}
		})
	}
}
