package modglob

import "testing"

func TestMatch(t *testing.T) {
	tests := []struct {
		patterns, path string
		want           bool
	}{
		{"github.com/corp", "github.com/corp/x", true},
		{"github.com/corp", "github.com/Corp/x", true},
		{"github.com/corp", "github.com/!corp/x", true},
		{"github.com/Corp", "github.com/corp/x", true},
		{"*.corp.example", "git.CORP.example/x", true},
		{"github.com/corp", "github.com/corporate/x", false},
		{"github.com/corp", "github.com/other/x", false},
		{"", "github.com/corp/x", false},
	}
	for _, tt := range tests {
		if got := Match(tt.patterns, tt.path); got != tt.want {
			t.Errorf("Match(%q, %q): got %v, want %v", tt.patterns, tt.path, got, tt.want)
		}
	}
}
