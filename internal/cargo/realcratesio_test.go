package cargo

import (
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
)

// TestEndToEndRealCratesIO fetches an index file and a .crate of serde
// from the real crates.io through the mirror, where crates.io is
// reachable; it is not from gomirror's build machines, so there it skips,
// saying so.
func TestEndToEndRealCratesIO(t *testing.T) {
	if testing.Short() {
		t.Skip("reaches crates.io")
	}
	conn, err := net.DialTimeout("tcp", "index.crates.io:443", 3*time.Second)
	if err != nil {
		t.Skipf("crates.io is not reachable from this machine: %v", err)
	}
	conn.Close()
	m := newMirror(t, Config{Upstream: &pull.HTTPUpstream{Client: &http.Client{}}})
	resp, body := m.get(t, "/cargo/index/se/rd/serde")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("serde's index file: got %s: %.200s", resp.Status, body)
	}
	first, _, _ := strings.Cut(string(body), "\n")
	var rel release
	if err := json.Unmarshal([]byte(first), &rel); err != nil {
		t.Fatalf("serde's first index line: %v", err)
	}
	resp, body = m.get(t, "/cargo/api/v1/crates/serde/"+rel.Vers+"/download")
	if resp.StatusCode != http.StatusOK || len(body) == 0 {
		t.Fatalf("serde %s: got %s, %d bytes", rel.Vers, resp.Status, len(body))
	}
	if !m.stored(t, crateName("serde", rel.Vers)) {
		t.Errorf("serde %s was not stored", rel.Vers)
	}
}
