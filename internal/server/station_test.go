package server

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/config"
)

func TestStationRoutes(t *testing.T) {
	_, ts := newTestServer(t, func(c *config.Config) { c.PyPI.Enabled = false })
	resp, body := do(t, "GET", ts.URL+"/")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: got %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"Go modules", "npm"} {
		if !strings.Contains(body, want) {
			t.Errorf("the status page does not list %s", want)
		}
	}
	if strings.Contains(body, "PyPI") && strings.Contains(body, "/help/pypi") {
		t.Error("the status page lists PyPI, which is switched off")
	}
	resp, body = do(t, "GET", ts.URL+"/jobs")
	var jobs []map[string]any
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &jobs) != nil || len(jobs) == 0 {
		t.Errorf("GET /jobs: got %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", ts.URL+"/mirrorz.json")
	var mz map[string]any
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &mz) != nil || mz["version"] == nil {
		t.Errorf("GET /mirrorz.json: got %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", ts.URL+"/help/go")
	if resp.StatusCode != 200 || !strings.Contains(body, "go env -w GOPROXY="+ts.URL) {
		t.Errorf("GET /help/go: got %d, without the go env line naming %s", resp.StatusCode, ts.URL)
	}
	// A module path is never taken for a page.
	if resp, _ := do(t, "GET", ts.URL+"/example.com/hello/@v/list"); resp.StatusCode != 200 {
		t.Errorf("a module list next to the pages: got %d", resp.StatusCode)
	}
	if resp, _ := do(t, "DELETE", ts.URL+"/jobs"); resp.StatusCode != 405 {
		t.Errorf("DELETE /jobs: got %d, want 405", resp.StatusCode)
	}
}

func TestReadyzFreeSpaceFloor(t *testing.T) {
	_, ts := newTestServer(t, func(c *config.Config) { c.MinFreeSpace = 1 << 62 })
	resp, body := do(t, "GET", ts.URL+"/readyz")
	if resp.StatusCode != 503 || !strings.Contains(body, "store: not ready") {
		t.Errorf("readyz below the free-space floor: got %d %q, want 503 naming the store", resp.StatusCode, body)
	}
	_, metrics := do(t, "GET", ts.URL+"/metrics")
	for _, want := range []string{"gomirror_ready 0", "gomirror_store_free_bytes "} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	_, ts = newTestServer(t, nil)
	resp, body = do(t, "GET", ts.URL+"/readyz")
	if resp.StatusCode != 200 || !strings.Contains(body, "sumdb: ok") {
		t.Errorf("readyz with room: got %d %q", resp.StatusCode, body)
	}
}
