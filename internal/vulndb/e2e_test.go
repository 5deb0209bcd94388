package vulndb_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/vulndb"
	"github.com/gomirror/gomirror/internal/vulndb/vulndbtest"
)

// TestGovulncheckReadsBuiltDB builds the database of the latest
// golang.org/x/vulndb from the public Go module proxy, writes it to a
// directory, and has the real govulncheck read it, with -db file://DIR and
// over HTTP, on a
// module that calls language.Parse of golang.org/x/text v0.3.5.
//
// End to end: it reaches the Go module proxy, and skips only when it
// cannot.
func TestGovulncheckReadsBuiltDB(t *testing.T) {
	proxy := vulndbtest.PublicProxy(t)
	version := vulndbtest.LatestVersion(t, proxy)
	zipData, modified := vulndbtest.Download(t, version)

	db, err := vulndb.Build(t.Context(), bytes.NewReader(zipData), int64(len(zipData)), modified)
	if err != nil {
		t.Fatalf("building golang.org/x/vulndb@%s: %v", version, err)
	}
	if db.Len() < 1000 {
		t.Errorf("golang.org/x/vulndb@%s: got %d entries, want the thousands of the real database", version, db.Len())
	}
	if got, _ := db.File(vulndb.DBIndex); string(got) != `{"modified":"`+modified.UTC().Format("2006-01-02T15:04:05Z")+`"}` {
		t.Errorf("got db.json %s, want the .info time %v", got, modified)
	}
	found := false
	for _, f := range db.Affected("golang.org/x/text", "v0.3.5") {
		if f.ID == vulndbtest.VulnerableID && f.Fixed == "v0.3.7" {
			found = true
		}
	}
	if !found {
		t.Errorf("Affected(golang.org/x/text, v0.3.5) = %+v, want %s fixed in v0.3.7", db.Affected("golang.org/x/text", "v0.3.5"), vulndbtest.VulnerableID)
	}

	dir := t.TempDir()
	vulndbtest.WriteDir(t, db, dir)
	bin := vulndbtest.BuildGovulncheck(t)
	mod := vulndbtest.VulnerableModule(t, nil)
	out := vulndbtest.RunGovulncheck(t, bin, "file://"+dir, mod, nil)
	t.Logf("govulncheck -db file://%s:\n%s", dir, out)
	if !strings.Contains(out, vulndbtest.VulnerableID) {
		t.Errorf("govulncheck -db file://%s did not report %s:\n%s", dir, vulndbtest.VulnerableID, out)
	}

	// Over HTTP govulncheck reads the .json.gz files instead.
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	out = vulndbtest.RunGovulncheck(t, bin, srv.URL, mod, nil)
	if !strings.Contains(out, vulndbtest.VulnerableID) {
		t.Errorf("govulncheck -db %s did not report %s:\n%s", srv.URL, vulndbtest.VulnerableID, out)
	}
}
