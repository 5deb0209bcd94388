package sumdb_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/store/memstore"
	"github.com/gomirror/gomirror/internal/sumdb"
	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
)

// TestGoCommand has the real go command download modules through a proxy
// that serves the module files and, under /sumdb/, a SumDB proxying a fake
// checksum database: the go command finds the database through the proxy,
// as it does through gomirror, accepts a good module and refuses a tampered
// one.
func TestGoCommand(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not installed (not in PATH)")
	}
	good := sumdbtest.NewModule(t, "example.com/good", "v1.0.0", map[string]string{"good.go": "package good\n"})
	published := sumdbtest.NewModule(t, "example.com/bad", "v1.0.0", map[string]string{"bad.go": "package bad\n"})
	tampered := sumdbtest.NewModule(t, "example.com/bad", "v1.0.0", map[string]string{"bad.go": "package bad // with a backdoor\n"})

	db := sumdbtest.NewDB(t, dbName, good, published)
	s, err := sumdb.New(sumdb.Config{
		GOSUMDB:  db.Key + " " + db.URL,
		Store:    memstore.New(),
		StateDir: t.TempDir(),
		Client:   sumdbtest.LocalClient(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	proxy := sumdbtest.NewProxy(t, s, good, tampered)

	goEnv := func() []string {
		home := t.TempDir()
		// Telemetry off: otherwise a child of the go command may still be
		// writing its counters under HOME when the test removes it.
		telemetry := filepath.Join(home, ".config", "go", "telemetry")
		if err := os.MkdirAll(telemetry, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(telemetry, "mode"), []byte("off"), 0o666); err != nil {
			t.Fatal(err)
		}
		return []string{
			"PATH=" + os.Getenv("PATH"),
			"HOME=" + home,
			"GOENV=off",
			"GOPATH=" + filepath.Join(home, "gopath"),
			"GOMODCACHE=" + filepath.Join(home, "modcache"),
			"GOCACHE=" + filepath.Join(home, "gocache"),
			"GOPROXY=" + proxy.URL,
			"GOSUMDB=" + db.Key, // no URL: found through the proxy
			"GONOSUMDB=",
			"GOPRIVATE=",
			"GONOPROXY=",
			"GOINSECURE=",
			"GOFLAGS=-mod=mod",
			"GOTOOLCHAIN=local",
		}
	}
	goModDownload := func(mod string) (string, error) {
		cmd := exec.CommandContext(t.Context(), goBin, "mod", "download", "-json", mod)
		cmd.Dir = t.TempDir()
		cmd.Env = goEnv()
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}

	out, err := goModDownload("example.com/good@v1.0.0")
	if err != nil {
		t.Fatalf("go mod download of the good module: %v\n%s", err, out)
	}
	if !strings.Contains(out, `"Sum": "`+good.ZipHash+`"`) {
		t.Errorf("go mod download: got %s, want the sum %s", out, good.ZipHash)
	}
	if db.LookupRequests() == 0 {
		t.Errorf("the go command did not reach the checksum database through the proxy")
	}

	out, err = goModDownload("example.com/bad@v1.0.0")
	if err == nil {
		t.Fatalf("go mod download of the tampered module succeeded, want a failure:\n%s", out)
	}
	if !strings.Contains(out, "SECURITY ERROR") || !strings.Contains(out, "verifying") {
		t.Errorf("go mod download of the tampered module: got %s, want a verification failure", out)
	}
}
