package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// publicProxy returns the first proxy of the machine's go env GOPROXY,
// or skips the test, saying so, when that proxy cannot be reached.
func publicProxy(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOPROXY").Output()
	if err != nil {
		t.Fatalf("go env GOPROXY: %v", err)
	}
	proxy, _, _ := strings.Cut(strings.TrimSpace(string(out)), ",")
	proxy, _, _ = strings.Cut(proxy, "|")
	if !strings.HasPrefix(proxy, "https://") && !strings.HasPrefix(proxy, "http://") {
		proxy = "https://proxy.golang.org"
	}
	ctx, cancel := context.WithTimeout(t.Context(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, proxy+"/golang.org/x/text/@v/v0.3.0.info", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Skipf("end-to-end test skipped: the public Go module proxy %s cannot be reached: %v", proxy, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Skipf("end-to-end test skipped: the public Go module proxy %s answered %s", proxy, resp.Status)
	}
	return proxy
}

// TestEndToEndPublicProxy is an end-to-end test: it downloads and builds a
// real module graph through gomirror from the public Go module proxy, with
// GOSUMDB left at its default. The go command can reach only gomirror; the
// checksum database comes through gomirror's /sumdb/, which gomirror in turn
// finds through the upstream proxy.
func TestEndToEndPublicProxy(t *testing.T) {
	proxy := publicProxy(t)
	m := startMirror(t, t.TempDir(), nil, "--upstream", proxy)

	g := newGoClient(t, m.URL, "sum.golang.org", guardEnv(t)...)
	os.WriteFile(filepath.Join(g.dir, "main.go"), []byte(`package main

import (
	"fmt"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"golang.org/x/mod/semver"
)

func main() {
	cmd := &cobra.Command{Use: "hello"}
	fmt.Println(cmd.Name(), semver.Major("v1.2.3"), uuid.NameSpaceDNS)
}
`), 0o644)
	g.must("get", "github.com/spf13/cobra@v1.10.2", "golang.org/x/mod@v0.20.0", "github.com/google/uuid@v1.6.0")
	g.must("mod", "tidy")
	g.must("mod", "download", "all")
	g.must("mod", "verify")
	if out := g.must("run", "."); !strings.Contains(out, "hello v1 6ba7b810") {
		t.Errorf("go run: got %q", out)
	}
	sum, err := os.ReadFile(filepath.Join(g.dir, "go.sum"))
	if err != nil || !strings.Contains(string(sum), "github.com/spf13/cobra v1.10.2 h1:") {
		t.Errorf("go.sum lacks cobra's hash: %v\n%s", err, sum)
	}
	for _, f := range []string{
		"github.com/spf13/cobra/@v/v1.10.2.zip",
		"github.com/spf13/cobra/@v/v1.10.2.mod",
		"sumdb/sum.golang.org/lookup/github.com/spf13/cobra@v1.10.2",
	} {
		if !fileExists(filepath.Join(m.Data, f)) {
			t.Errorf("%s not stored", f)
		}
	}

	// A second client, on the now warm mirror, with the data verified again
	// by the go command against the database through gomirror.
	g2 := newGoClient(t, m.URL, "sum.golang.org", guardEnv(t)...)
	g2.must("mod", "download", "-json", "github.com/spf13/cobra@v1.10.2")
}
