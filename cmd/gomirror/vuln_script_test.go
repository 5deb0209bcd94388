package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gomirror/gomirror/internal/store/disk"
	"github.com/gomirror/gomirror/internal/vulndb"
	"github.com/gomirror/gomirror/internal/vulndb/vulndbtest"
)

// TestVulnScripts runs the gomirror vuln scripts. Each script gets, besides
// its own files, the sample vulnerability database (vulndbtest.SampleDB)
// stored under vuln/ in $WORK/data as serve stores it, in the directory
// $WORK/vulndb, and served over HTTP at $VULNDB_URL by this test process.
func TestVulnScripts(t *testing.T) {
	db := vulndbtest.SampleDB(t)
	served := t.TempDir()
	vulndbtest.WriteDir(t, db, served)
	srv := httptest.NewServer(http.FileServer(http.Dir(served)))
	t.Cleanup(srv.Close)

	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script", "vuln"),
		Setup: func(env *testscript.Env) error {
			vulndbtest.WriteDir(t, db, filepath.Join(env.WorkDir, "vulndb"))
			st, err := disk.New(filepath.Join(env.WorkDir, "data"), nil)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := db.Write(t.Context(), st, vulndb.StorePrefix); err != nil {
				return err
			}
			env.Setenv("VULNDB_URL", srv.URL)
			return nil
		},
	})
}

// TestVulnExitStatus checks gomirror vuln's exit statuses, which scripts
// cannot tell apart: 3 when a stored version is affected, 0 when none is,
// 1 on an error.
func TestVulnExitStatus(t *testing.T) {
	dbDir := t.TempDir()
	vulndbtest.WriteDir(t, vulndbtest.SampleDB(t), dbDir)
	store := func(version string) string {
		dir := t.TempDir()
		vdir := filepath.Join(dir, "golang.org", "x", "text", "@v")
		if err := os.MkdirAll(vdir, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(vdir, version+".mod"), []byte("module golang.org/x/text\n"), 0o666); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	tests := []struct {
		name    string
		args    []string
		want    int
		wantErr string
	}{
		{"affected", []string{"vuln", "--db", dbDir, "--data", store("v0.3.5")}, 3, ""},
		{"clean", []string{"vuln", "--db", dbDir, "--data", store("v0.3.8")}, 0, ""},
		{"no database", []string{"vuln", "--data", store("v0.3.5")}, 1, "no vulnerability database under vuln/ in the store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			got := run(t.Context(), tt.args, []string{"HOME=" + t.TempDir()}, strings.NewReader(""), &stdout, &stderr)
			if got != tt.want {
				t.Errorf("got exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", got, tt.want, stdout.String(), stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("got stderr %q, want it to contain %q", stderr.String(), tt.wantErr)
			}
		})
	}
}
