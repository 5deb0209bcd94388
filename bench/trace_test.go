package main

import (
	"path/filepath"
	"reflect"
	"testing"
)

func TestTraceRoundTrip(t *testing.T) {
	want := trace{
		{Path: "/golang.org/x/mod/@v/v0.42.0.mod", Status: 200, Size: 3, SHA256: "abc"},
		{Path: "/github.com/%21burnt%21sushi/toml/@v/v1.2.0.zip", Status: 200, Size: 10, SHA256: "def"},
		{Path: "/example.com/missing/@v/v1.0.0.info", Status: 404},
	}
	file := filepath.Join(t.TempDir(), "trace.txt")
	if err := writeTrace(file, want, "a comment\nof two lines"); err != nil {
		t.Fatal(err)
	}
	got, err := readTrace(file)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if n := got.totalBytes(); n != 13 {
		t.Errorf("totalBytes: got %d, want 13", n)
	}
}

func TestLocalPath(t *testing.T) {
	tests := []struct {
		path string
		ok   bool
	}{
		{"/golang.org/x/mod/@v/list", true},
		{"/github.com/!burnt!sushi/toml/@v/v1.2.0.zip", true},
		{"/", false},
		{"/a/../../etc/passwd", false},
		{"/a/./b", false},
		{"/a//b", false},
		{"/a\\b", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			got, ok := localPath("/cache", tt.path)
			if ok != tt.ok {
				t.Fatalf("localPath(%q): got ok %v (%q), want %v", tt.path, ok, got, tt.ok)
			}
		})
	}
}

func TestBodyFileUnescapes(t *testing.T) {
	got, ok := bodyFile("/cache", "/github.com/%21burnt%21sushi/toml/@v/v1.2.0.zip")
	if want := "/cache/github.com/!burnt!sushi/toml/@v/v1.2.0.zip"; !ok || got != want {
		t.Errorf("got %q, %v, want %q, true", got, ok, want)
	}
}

func TestAfterWaitsForTheSameVersion(t *testing.T) {
	tr := trace{
		{Path: "/a/@v/v1.0.0.mod"},  // 0
		{Path: "/b/@v/v1.0.0.info"}, // 1
		{Path: "/b/@v/v1.0.0.mod"},  // 2: after 1
		{Path: "/a/@v/v1.0.0.info"}, // 3: after 0
		{Path: "/a/@v/list"},        // 4: names no version
		{Path: "/a/@v/v1.0.1.info"}, // 5: another version
		{Path: "/b/@v/v1.0.0.zip"},  // 6: after 2
		{Path: "/a/@v/v1.0.0.zip"},  // 7: after 3
	}
	want := []int{-1, -1, 1, 0, -1, -1, 2, 3}
	if got := tr.after(); !reflect.DeepEqual(got, want) {
		t.Errorf("after: got %v, want %v", got, want)
	}
}
