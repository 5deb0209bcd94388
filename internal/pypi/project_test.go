package pypi

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestParseJSONPageCredentials(t *testing.T) {
	base, _ := url.Parse("https://user:secret@private.example/simple/demo/")
	sha := strings.Repeat("a", 64)
	page := `{"meta":{"api-version":"1.3"},"name":"demo","files":[{"filename":"demo-1.0.tar.gz","url":"../../files/demo-1.0.tar.gz","hashes":{"sha256":"` + sha + `"},"provenance":"../../integrity/demo-1.0.tar.gz"}]}`
	p, dropped, err := parseJSONPage([]byte(page), "demo", base)
	if err != nil || len(dropped) > 0 || len(p.Files) != 1 {
		t.Fatalf("got %v, %v, %v", p, dropped, err)
	}
	f := p.Files[0]
	if f.URL != "https://user:secret@private.example/files/demo-1.0.tar.gz" {
		t.Errorf("file URL: got %q, want the index's credentials kept for fetching", f.URL)
	}
	if f.Provenance != "https://private.example/integrity/demo-1.0.tar.gz" {
		t.Errorf("provenance: got %q, want it without credentials", f.Provenance)
	}
	if strings.Contains(string(renderProject(p, formatJSON)), "secret") || strings.Contains(string(renderProject(p, formatHTML)), "secret") {
		t.Errorf("rendered page shows the index's credentials")
	}
}

func TestVersionOf(t *testing.T) {
	tests := []struct{ project, file, want string }{
		{"demo", "demo-1.0-py3-none-any.whl", "1.0"},
		{"demo", "demo-1.0-1-py3-none-any.whl", "1.0"},
		{"foo-bar", "foo-bar-2.0.tar.gz", "2.0"},
		{"foo-bar", "foo_bar-2.0.zip", "2.0"},
		{"demo", "demo-0.9-py2.7.egg", "0.9"},
		{"demo", "other-1.0.tar.gz", ""},
		{"demo", "demo.whl", ""},
	}
	for _, tt := range tests {
		got, _ := versionOf(tt.project, tt.file)
		if got != tt.want {
			t.Errorf("versionOf(%q, %q): got %q, want %q", tt.project, tt.file, got, tt.want)
		}
	}
}

func TestRenderedCache(t *testing.T) {
	r := newRendered(800)
	now := time.Now()
	k1 := keyOf("a", now, 10, formatJSON)
	r.put(k1, make([]byte, 90))
	if _, ok := r.get(k1); !ok {
		t.Fatal("page not kept")
	}
	if _, ok := r.get(keyOf("a", now, 10, formatHTML)); ok {
		t.Error("HTML found under the JSON's key")
	}
	if _, ok := r.get(keyOf("a", now.Add(time.Second), 10, formatJSON)); ok {
		t.Error("a newer stored copy found the older rendering")
	}
	r.put(keyOf("big", now, 10, formatJSON), make([]byte, 101))
	if _, ok := r.get(keyOf("big", now, 10, formatJSON)); ok {
		t.Error("a page over an eighth of the cache was kept")
	}
	for i := range 20 {
		r.put(keyOf(string(rune('b'+i)), now, 10, formatJSON), make([]byte, 90))
	}
	if r.bytes > r.max {
		t.Errorf("cache holds %d bytes, over its %d", r.bytes, r.max)
	}
}
