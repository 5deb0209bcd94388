package golang

import "testing"

func TestIsImmutable(t *testing.T) {
	for _, tt := range []struct {
		name string
		want bool
	}{
		{filesDir + "go1.22.0.linux-amd64.tar.gz", true},
		{filesDir + "go1.21rc2.windows-386.msi", true},
		{filesDir + "go1.22.0.src.tar.gz", true},
		{indexName, false},
		{filesDir + "index.json", false},
		{"golang.org/x/text/@v/v0.3.0.zip", false},
	} {
		if got := IsImmutable(tt.name); got != tt.want {
			t.Errorf("IsImmutable(%q): got %v, want %v", tt.name, got, tt.want)
		}
	}
}
