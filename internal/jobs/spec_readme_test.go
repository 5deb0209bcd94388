package jobs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMEExample checks that the sync configuration the README shows
// is valid.
func TestREADMEExample(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "```yaml\nsync:\n")
	if !ok {
		t.Fatal("README has no sync example")
	}
	block, _, _ := strings.Cut(rest, "```")
	file := filepath.Join(t.TempDir(), "gomirror.yaml")
	os.WriteFile(file, []byte("sync:\n"+block), 0o644)
	c, err := LoadFile(file)
	if err != nil {
		t.Fatalf("README's example: %v", err)
	}
	kinds := map[string]bool{}
	for _, j := range c.Jobs {
		kinds[j.Kind] = true
	}
	for _, k := range []string{"go", "golang", "vuln", "oci", "pypi", "npm", "maven", "cargo"} {
		if !kinds[k] {
			t.Errorf("README's example shows kinds %v, without %s", kinds, k)
		}
	}
}
