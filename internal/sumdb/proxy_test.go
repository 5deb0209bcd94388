package sumdb_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The proxy never asks the database about a private module: the lookup
// gets a 404 with a one-line reason, and its name never leaves the mirror.
func TestProxyKeepsPrivateLookupsHome(t *testing.T) {
	w := newWorld(t, time.Hour)
	for _, path := range []string{"corp.example.com/secret@v1.0.0", "nosum.example.com/a@v1.0.0"} {
		resp, body := w.get(t, "/sumdb/"+dbName+"/lookup/"+path)
		if resp.StatusCode != http.StatusNotFound || strings.Count(strings.TrimSuffix(string(body), "\n"), "\n") != 0 {
			t.Errorf("lookup/%s: got %d %q, want 404 with one line", path, resp.StatusCode, body)
		}
	}
	if got := w.db.Requests(); got != 0 {
		t.Errorf("requests to the database: got %d, want 0", got)
	}
}
