package oci

import (
	"strings"
	"testing"
)

func TestIsImmutable(t *testing.T) {
	d, perr := parseDigest("sha256:" + strings.Repeat("ab", 32))
	if perr != nil {
		t.Fatal(perr)
	}
	req := &request{registry: "docker.io", repo: "library/alpine", tag: "3.20", digest: d}
	for _, tt := range []struct {
		name string
		want bool
	}{
		{blobName(req.registry, d), true},
		{manifestName(req.registry, d), true},
		{tagName(req), false},
		{tagsListName(req), false},
		{referrersName(req), false},
	} {
		if got := IsImmutable(tt.name); got != tt.want {
			t.Errorf("IsImmutable(%q): got %v, want %v", tt.name, got, tt.want)
		}
	}
}
