package npm

import "testing"

func TestIsImmutable(t *testing.T) {
	for _, tt := range []struct {
		name string
		want bool
	}{
		{tarballName("lodash", "lodash-4.17.21.tgz"), true},
		{tarballName("@types/node", "node-20.0.0.tgz"), true},
		{"npm/packuments/lodash", false},
		{"npm/keys.json", false},
	} {
		if got := IsImmutable(tt.name); got != tt.want {
			t.Errorf("IsImmutable(%q): got %v, want %v", tt.name, got, tt.want)
		}
	}
}
