package mirrors

import (
	"strings"
	"testing"
)

func TestResolveCargo(t *testing.T) {
	got, err := Resolve(Cargo, "http://mirror.example:8080")
	if err != nil || got != "http://mirror.example:8080" {
		t.Errorf("Resolve(cargo, URL): got %q, %v", got, err)
	}
	_, err = Resolve(Cargo, "aliyun")
	if err == nil || !strings.Contains(err.Error(), "no preset serves cargo") {
		t.Errorf("Resolve(cargo, aliyun): got %v, want an error saying no preset serves cargo", err)
	}
	if tgt, err := ParseTarget("Cargo"); err != nil || tgt != Cargo {
		t.Errorf("ParseTarget(Cargo): got %q, %v", tgt, err)
	}
}
