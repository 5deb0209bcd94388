package status

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/station"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type fakeSource []station.Mirror

func (f fakeSource) Mirrors(context.Context) []station.Mirror { return f }

// testMirrors are the seven mirrors in every state a page shows.
func testMirrors() fakeSource {
	var ms fakeSource
	states := map[string]station.Sync{
		"go":     {State: station.Success, LastSuccess: now.Add(-2 * time.Hour), LastEnded: now.Add(-2 * time.Hour), NextRun: now.Add(4 * time.Hour)},
		"sumdb":  {State: station.Cache},
		"golang": {State: station.Syncing, LastStarted: now.Add(-time.Minute)},
		"vuln":   {State: station.Failed, Error: "vulndb: GET /vuln/index/db.json: 502 Bad Gateway", NextRun: now.Add(time.Hour)},
		"oci":    {State: station.Partial, LastSuccess: now.Add(-72 * time.Hour), Error: "images: 1 of 9 requests failed"},
		"pypi":   {State: station.Pending, NextRun: now},
		"npm":    {State: station.Cache},
	}
	sizes := map[string]int64{"go": 187 << 30, "sumdb": 3 << 30, "golang": 41 << 30, "vuln": 25 << 20, "oci": 512 << 30, "pypi": 96 << 30}
	for _, id := range station.KnownIDs() {
		info, _ := station.Known(id)
		ms = append(ms, station.Mirror{ID: id, Name: info.Name, Description: info.Description, Path: info.Path,
			Upstream: info.Upstream, CName: info.CName, Size: sizes[id], SizeKnown: id != "npm", Sync: states[id]})
	}
	return ms
}

func newHandler() *Handler {
	return New(testMirrors(), Options{Now: func() time.Time { return now }})
}

func get(t *testing.T, h http.Handler, target, host string) (int, http.Header, string) {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	req.Host = host
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Body)
	return rec.Code, rec.Header(), string(b)
}

func TestStatusPage(t *testing.T) {
	code, hdr, body := get(t, newHandler(), "/", "mirror.example:8080")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", code, hdr.Get("Content-Type"))
	}
	for _, want := range []string{
		`<tr id="mirror-go">`, "Go modules", "Checksum database", "Go archives", "Vulnerability database", "OCI images", "PyPI", "npm",
		`state-success">Synced`, `state-cache">On demand`, `state-syncing">Syncing`, `state-failed">Failed`,
		`state-partial">Partly synced`, `state-pending">Pending`,
		"vulndb: GET /vuln/index/db.json: 502 Bad Gateway", "2 hours ago", "in 4 hours", "3 days ago", "due now",
		"187G", "25M", "unknown", "https://registry-1.docker.io", `href="/help/oci"`, `http-equiv="refresh"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("status page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script") {
		t.Errorf("status page has a script; it must work without one")
	}
}

func TestStatusJSON(t *testing.T) {
	for _, target := range []string{"/status.json", "/?format=json"} {
		code, hdr, body := get(t, newHandler(), target, "mirror.example")
		if code != 200 || hdr.Get("Content-Type") != "application/json" {
			t.Fatalf("GET %s: %d %s", target, code, hdr.Get("Content-Type"))
		}
		var doc JSON
		if err := json.Unmarshal([]byte(body), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.URL != "http://mirror.example" || !doc.Generated.Equal(now) || len(doc.Mirrors) != len(station.KnownIDs()) {
			t.Errorf("GET %s: got url %q, generated %v, %d mirrors", target, doc.URL, doc.Generated, len(doc.Mirrors))
		}
		if m := doc.Mirrors[3]; m.ID != "vuln" || m.Sync.State != station.Failed || m.Size != 25<<20 || !m.SizeKnown {
			t.Errorf("GET %s: vuln: got %+v", target, m)
		}
	}
}

// wantHelp lists, per help page, lines a person copies, for a station at
// http://mirror.example:8080.
var wantHelp = map[string][]string{
	"go":     {"go env -w GOPROXY=http://mirror.example:8080,direct", "gomirror use go http://mirror.example:8080"},
	"sumdb":  {`go env -w GOSUMDB="sum.golang.org http://mirror.example:8080/sumdb/sum.golang.org"`},
	"golang": {"curl -fLO http://mirror.example:8080/golang/go1.22.0.linux-amd64.tar.gz"},
	"vuln":   {"GOVULNDB=http://mirror.example:8080/vuln govulncheck ./..."},
	"oci": {`"registry-mirrors": ["http://mirror.example:8080"],`, `"insecure-registries": ["mirror.example:8080"]`,
		`[host."http://mirror.example:8080"]`, `location = "mirror.example:8080"`},
	"pypi": {"index-url = http://mirror.example:8080/pypi/simple/", "trusted-host = mirror.example",
		`url = "http://mirror.example:8080/pypi/simple/"`},
	"npm": {"registry=http://mirror.example:8080/npm/"},
}

func TestHelpPages(t *testing.T) {
	h := newHandler()
	for id, lines := range wantHelp {
		t.Run(id, func(t *testing.T) {
			code, _, body := get(t, h, "/help/"+id, "mirror.example:8080")
			if code != 200 {
				t.Fatalf("GET /help/%s: %d", id, code)
			}
			hp, _ := help(id, "http://mirror.example:8080")
			for _, line := range lines {
				if !containsLine(hp.helpLines(), line) {
					t.Errorf("help %s lacks the line %q", id, line)
				}
				if !strings.Contains(body, htmlEscape(line)) {
					t.Errorf("page /help/%s lacks %q", id, line)
				}
			}
		})
	}
	// With a public URL, https and no insecure settings.
	hp, _ := help("pypi", "https://mirror.example")
	if containsLine(hp.helpLines(), "trusted-host = mirror.example") {
		t.Errorf("https pip.conf has trusted-host")
	}
	hp, _ = help("oci", "https://mirror.example")
	for _, l := range hp.helpLines() {
		if strings.Contains(l, "insecure") || strings.Contains(l, "skip_verify") {
			t.Errorf("https OCI help has %q", l)
		}
	}
}

func TestPublicURL(t *testing.T) {
	h := New(testMirrors(), Options{PublicURL: "https://goproxy.example/"})
	_, _, body := get(t, h, "/help/go", "10.0.0.7:8080")
	if !strings.Contains(body, "go env -w GOPROXY=https://goproxy.example,direct") {
		t.Errorf("help page does not use the public URL")
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	h := New(testMirrors()[:2], Options{})
	for _, target := range []string{"/help/npm", "/help/nope", "/nope", "/help/go/extra"} {
		if code, _, body := get(t, h, target, "mirror.example"); code != 404 || !strings.Contains(body, "Not found") {
			t.Errorf("GET %s: got %d, want a 404 page", target, code)
		}
	}
	if code, _, body := get(t, h, "/help/", "mirror.example"); code != 200 || !strings.Contains(body, `href="/help/sumdb"`) || strings.Contains(body, "/help/npm") {
		t.Errorf("GET /help/: got %d, want links to the served mirrors only", code)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", nil))
	if rec.Code != 405 {
		t.Errorf("POST /: got %d, want 405", rec.Code)
	}
}

func TestHostIsEscaped(t *testing.T) {
	_, _, body := get(t, newHandler(), "/help/go", `evil"><script>alert(1)</script>`)
	if strings.Contains(body, "<script>alert") {
		t.Errorf("a hostile Host header reached the page")
	}
}

func containsLine(lines []string, want string) bool {
	for _, l := range lines {
		if strings.TrimSpace(l) == strings.TrimSpace(want) {
			return true
		}
	}
	return false
}

// htmlEscape escapes s as html/template writes text.
func htmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;", "+", "&#43;")
	return r.Replace(s)
}

func FuzzStatusPaths(f *testing.F) {
	for _, s := range []string{"/", "/help/", "/help/go", "/help/../etc", "/status.json", "/help/%00", "/x<script>"} {
		f.Add(s, "format=json")
	}
	h := newHandler()
	f.Fuzz(func(t *testing.T, path, query string) {
		req := httptest.NewRequest("GET", "/", nil)
		req.URL.Path, req.URL.RawQuery = path, query
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 && rec.Code != 404 {
			t.Errorf("GET %q?%q: %d, want 200 or 404", path, query, rec.Code)
		}
		if strings.Contains(rec.Body.String(), "<script") {
			t.Errorf("GET %q: the page holds a script", path)
		}
	})
}
