package pypi

import (
	"strings"
	"testing"
)

func TestIsImmutable(t *testing.T) {
	sum := strings.Repeat("0f", 32)
	for _, tt := range []struct {
		name string
		want bool
	}{
		{filesDir + "requests/" + sum + "/requests-2.32.3-py3-none-any.whl", true},
		{filesDir + "requests/" + sum + "/requests-2.32.3-py3-none-any.whl.metadata", true},
		{"pypi/index.json", false},
		{"pypi/simple/requests.json", false},
	} {
		if got := IsImmutable(tt.name); got != tt.want {
			t.Errorf("IsImmutable(%q): got %v, want %v", tt.name, got, tt.want)
		}
	}
}
