package pypi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// project "demo" has a wheel with metadata, a yanked wheel and an sdist.
func addDemo(t *testing.T, ix *fakeIndex) (whl, old, sdist fakeFile) {
	whl = buildWheel(t, "demo", "1.1")
	whl.requires = ">=3.8"
	old = buildWheel(t, "demo", "1.0")
	reason := "broken <build> & more"
	old.yanked = &reason
	sdist = fakeFile{name: "demo-1.1.tar.gz", data: []byte("not really a tarball, but bytes all the same")}
	ix.add("demo", whl, old, sdist)
	return whl, old, sdist
}

// pageJSON fetches and decodes a project page as pip would.
func pageJSON(t *testing.T, m *mirror, project string) (*http.Response, map[string]any) {
	t.Helper()
	resp, body := m.get(t, "/pypi/simple/"+project+"/", pipAccept)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET page %s: got %s: %s", project, resp.Status, body)
	}
	var page map[string]any
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatalf("page %s: %v\n%s", project, err, body)
	}
	return resp, page
}

func filesByName(t *testing.T, page map[string]any) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	files, _ := page["files"].([]any)
	for _, f := range files {
		m := f.(map[string]any)
		out[m["filename"].(string)] = m
	}
	return out
}

func TestProjectPage(t *testing.T) {
	for _, htmlOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("htmlOnly=%v", htmlOnly), func(t *testing.T) {
			ix := newFakeIndex(t, htmlOnly)
			whl, old, sdist := addDemo(t, ix)
			m := newMirror(t, Config{}, ix)

			resp, page := pageJSON(t, m, "demo")
			if ct := resp.Header.Get("Content-Type"); ct != ContentTypeJSON {
				t.Errorf("Content-Type: got %q, want %q", ct, ContentTypeJSON)
			}
			if v := resp.Header.Get("Vary"); v != "Accept" {
				t.Errorf("Vary: got %q, want Accept", v)
			}
			if page["name"] != "demo" {
				t.Errorf("name: got %v, want demo", page["name"])
			}
			vs, _ := json.Marshal(page["versions"])
			if string(vs) != `["1.1","1.0"]` {
				t.Errorf("versions: got %s, want [\"1.1\",\"1.0\"]", vs)
			}
			files := filesByName(t, page)
			if len(files) != 3 {
				t.Fatalf("got %d files, want 3: %v", len(files), files)
			}
			for _, ff := range []fakeFile{whl, old, sdist} {
				f := files[ff.name]
				want := "../../files/demo/" + sum(ff.data) + "/" + ff.name
				if f["url"] != want {
					t.Errorf("%s: url: got %v, want %s", ff.name, f["url"], want)
				}
				if h := f["hashes"].(map[string]any)["sha256"]; h != sum(ff.data) {
					t.Errorf("%s: sha256: got %v, want %s", ff.name, h, sum(ff.data))
				}
				if htmlOnly {
					if _, ok := f["size"]; ok {
						t.Errorf("%s: size %v from an HTML upstream, which gives none", ff.name, f["size"])
					}
				} else if f["size"] != float64(len(ff.data)) {
					t.Errorf("%s: size: got %v, want %d", ff.name, f["size"], len(ff.data))
				}
			}
			if got := files[whl.name]["requires-python"]; got != ">=3.8" {
				t.Errorf("requires-python: got %v, want >=3.8", got)
			}
			if got := files[old.name]["yanked"]; got != *old.yanked {
				t.Errorf("yanked: got %v, want %q", got, *old.yanked)
			}
			if _, ok := files[whl.name]["yanked"]; ok {
				t.Errorf("yanked set on a file that is not yanked")
			}
			wantMD := map[string]any{"sha256": sum(whl.metadata)}
			if got := files[whl.name]["core-metadata"]; fmt.Sprint(got) != fmt.Sprint(wantMD) {
				t.Errorf("core-metadata: got %v, want %v", got, wantMD)
			}
			// PEP 714: the old key breaks pip 22.3 to 23.0 in JSON.
			if got, ok := files[whl.name]["dist-info-metadata"]; ok {
				t.Errorf("dist-info-metadata in JSON: %v", got)
			}
			if _, ok := files[sdist.name]["core-metadata"]; ok {
				t.Errorf("core-metadata on a file without metadata")
			}
			if !htmlOnly {
				if got := files[whl.name]["upload-time"]; got != "2024-05-01T10:00:00.123456Z" {
					t.Errorf("upload-time: got %v", got)
				}
				if got := files[whl.name]["provenance"]; got != ix.srv.URL+"/integrity/"+whl.name+"/provenance" {
					t.Errorf("provenance: got %v", got)
				}
				if page["meta"].(map[string]any)["api-version"] != "1.1" {
					t.Errorf("api-version: got %v, want 1.1", page["meta"])
				}
			}

			// The same page as HTML, read back with the mirror's own
			// parser.
			resp, body := m.get(t, "/pypi/simple/demo/", "text/html")
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type: got %q, want text/html", ct)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
				t.Errorf("Content-Security-Policy of an HTML page: got %q, want default-src 'none'", csp)
			}
			base, _ := url.Parse(m.srv.URL + "/pypi/simple/demo/")
			p, dropped, err := parseHTMLPage(bytes.NewReader(body), "demo", base)
			if err != nil || len(dropped) > 0 {
				t.Fatalf("parsing the mirror's HTML: %v, dropped %v", err, dropped)
			}
			if len(p.Files) != 3 {
				t.Fatalf("HTML: got %d files, want 3", len(p.Files))
			}
			hw := p.find(whl.name)
			if hw.URL != m.srv.URL+"/pypi/files/demo/"+sum(whl.data)+"/"+whl.name || hw.RequiresPython != ">=3.8" || hw.CoreMetadata["sha256"] != sum(whl.metadata) {
				t.Errorf("HTML wheel: got %+v", hw)
			}
			for _, attr := range []string{"data-core-metadata=", "data-dist-info-metadata="} {
				if !bytes.Contains(body, []byte(attr)) {
					t.Errorf("HTML lacks %s", attr)
				}
			}
			if ho := p.find(old.name); !ho.Yanked || ho.YankedReason != *old.yanked {
				t.Errorf("HTML yanked: got %v %q, want %q", ho.Yanked, ho.YankedReason, *old.yanked)
			}
			if n := ix.hitCount("/simple/demo/"); n != 1 {
				t.Errorf("upstream page requests: got %d, want 1", n)
			}
		})
	}
}

func TestNegotiation(t *testing.T) {
	ix := newFakeIndex(t, false)
	addDemo(t, ix)
	m := newMirror(t, Config{}, ix)
	tests := []struct {
		name, path, accept string
		code               int
		ct                 string
	}{
		{"pip", "/pypi/simple/demo/", pipAccept, 200, ContentTypeJSON},
		{"no accept", "/pypi/simple/demo/", "", 200, "text/html; charset=utf-8"},
		{"any", "/pypi/simple/demo/", "*/*", 200, "text/html; charset=utf-8"},
		{"html v1", "/pypi/simple/demo/", ContentTypeHTMLv1, 200, ContentTypeHTMLv1},
		{"latest json", "/pypi/simple/demo/", "application/vnd.pypi.simple.latest+json", 200, ContentTypeJSON},
		{"html preferred by q", "/pypi/simple/demo/", "application/vnd.pypi.simple.v1+json;q=0.5, text/html", 200, "text/html; charset=utf-8"},
		{"json refused by q=0", "/pypi/simple/demo/", "application/vnd.pypi.simple.v1+json;q=0, */*;q=0.1", 200, "text/html; charset=utf-8"},
		{"browser", "/pypi/simple/demo/", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", 200, "text/html; charset=utf-8"},
		{"nothing acceptable", "/pypi/simple/demo/", "application/xml", 406, ""},
		{"only zero quality", "/pypi/simple/demo/", "text/html;q=0", 406, ""},
		{"format json", "/pypi/simple/demo/?format=" + url.QueryEscape(ContentTypeJSON), "text/html", 200, ContentTypeJSON},
		{"format html", "/pypi/simple/demo/?format=text/html", pipAccept, 200, "text/html; charset=utf-8"},
		{"format unknown", "/pypi/simple/demo/?format=application/xml", "", 406, ""},
		{"index json", "/pypi/simple/", pipAccept, 200, ContentTypeJSON},
		{"index nothing acceptable", "/pypi/simple/", "image/png", 406, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := m.get(t, tt.path, tt.accept)
			if resp.StatusCode != tt.code {
				t.Fatalf("got %s, want %d: %s", resp.Status, tt.code, body)
			}
			if v := resp.Header.Get("Vary"); v != "Accept" {
				t.Errorf("Vary: got %q, want Accept", v)
			}
			if tt.ct != "" {
				if ct := resp.Header.Get("Content-Type"); ct != tt.ct {
					t.Errorf("Content-Type: got %q, want %q", ct, tt.ct)
				}
			} else if !bytes.Contains(body, []byte(ContentTypeJSON)) {
				t.Errorf("406 body does not say what is served: %q", body)
			}
		})
	}
}

func TestRedirects(t *testing.T) {
	ix := newFakeIndex(t, false)
	ix.add("foo-bar", buildWheel(t, "foo-bar", "1.0"))
	m := newMirror(t, Config{}, ix)
	// Locations are relative; here they are resolved as a client does.
	tests := []struct{ path, location string }{
		{"/pypi/simple/Foo_Bar/", "/pypi/simple/foo-bar/"},
		{"/pypi/simple/foo.bar/", "/pypi/simple/foo-bar/"},
		{"/pypi/simple/FOO--__bar/", "/pypi/simple/foo-bar/"},
		{"/pypi/simple/foo-bar", "/pypi/simple/foo-bar/"},
		{"/pypi/simple/Foo_Bar", "/pypi/simple/foo-bar/"},
		{"/pypi/simple/Foo_Bar/?format=text/html", "/pypi/simple/foo-bar/?format=text/html"},
		{"/pypi/simple", "/pypi/simple/"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, _ := m.get(t, tt.path, pipAccept)
			loc, err := resp.Location()
			if err != nil || strings.HasPrefix(resp.Header.Get("Location"), "/") {
				t.Fatalf("Location %q: %v, want a relative URL", resp.Header.Get("Location"), err)
			}
			if resp.StatusCode != http.StatusMovedPermanently || loc.RequestURI() != tt.location {
				t.Errorf("got %s to %q, want 301 to %q", resp.Status, loc.RequestURI(), tt.location)
			}
			if v := resp.Header.Get("Vary"); v != "Accept" {
				t.Errorf("Vary: got %q, want Accept", v)
			}
		})
	}
	// A client that follows redirects lands on the page.
	resp, err := http.Get(m.srv.URL + "/pypi/simple/Foo_Bar")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/pypi/simple/foo-bar/" {
		t.Errorf("following redirects: got %s at %s", resp.Status, resp.Request.URL.Path)
	}
	if n := ix.hitCount("/simple/foo-bar/"); n != 1 {
		t.Errorf("upstream requests: got %d, want 1 (redirects ask nothing upstream)", n)
	}
}

func TestFiles(t *testing.T) {
	ix := newFakeIndex(t, false)
	whl, _, sdist := addDemo(t, ix)
	m := newMirror(t, Config{}, ix)
	fileURL := "/pypi/files/demo/" + sum(whl.data) + "/" + whl.name

	// A file asked for before its page was stored: the mirror fetches
	// the page first, to find the file and its hash.
	for i := range 2 {
		resp, body := m.get(t, fileURL, "")
		if resp.StatusCode != 200 || !bytes.Equal(body, whl.data) {
			t.Fatalf("GET %d: got %s, %d bytes; want 200 and the wheel", i, resp.Status, len(body))
		}
	}
	if n := ix.hitCount("/files/" + whl.name); n != 1 {
		t.Errorf("upstream file requests: got %d, want 1", n)
	}
	if n := ix.hitCount("/simple/demo/"); n != 1 {
		t.Errorf("upstream page requests: got %d, want 1", n)
	}
	resp, body := m.get(t, fileURL+".metadata", "")
	if resp.StatusCode != 200 || !bytes.Equal(body, whl.metadata) {
		t.Errorf("metadata: got %s %q, want %q", resp.Status, body, whl.metadata)
	}
	resp, body = m.get(t, "/pypi/files/demo/"+sum(sdist.data)+"/"+sdist.name, "")
	if resp.StatusCode != 200 || !bytes.Equal(body, sdist.data) {
		t.Errorf("sdist: got %s %q", resp.Status, body)
	}
	// HEAD of a stored file.
	req, _ := http.NewRequest(http.MethodHead, m.srv.URL+fileURL, nil)
	hresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	hresp.Body.Close()
	if hresp.StatusCode != 200 || hresp.ContentLength != int64(len(whl.data)) {
		t.Errorf("HEAD: got %s, length %d; want 200, %d", hresp.Status, hresp.ContentLength, len(whl.data))
	}
	// A digest that is not the page's is not found, and nothing is
	// fetched for it.
	other := strings.Repeat("ab", 32)
	resp, body = m.get(t, "/pypi/files/demo/"+other+"/"+whl.name, "")
	if resp.StatusCode != http.StatusNotFound || !bytes.Contains(body, []byte("not on the project page")) {
		t.Errorf("wrong digest: got %s %q, want 404", resp.Status, body)
	}
	if n := ix.hitCount("/files/" + whl.name); n != 1 {
		t.Errorf("upstream file requests after a wrong digest: got %d, want 1", n)
	}
	// No metadata for the sdist.
	resp, _ = m.get(t, "/pypi/files/demo/"+sum(sdist.data)+"/"+sdist.name+".metadata", "")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("metadata of the sdist: got %s, want 404", resp.Status)
	}
}

func TestTamperedRefused(t *testing.T) {
	ix := newFakeIndex(t, true)
	good := buildWheel(t, "evil", "1.0")
	bad := good
	bad.served = append(append([]byte{}, good.data...), "tampered"...)
	md := buildWheel(t, "evil", "2.0")
	md.mdServed = []byte("Metadata-Version: 2.1\nName: evil\nVersion: 2.0\nRequires-Dist: backdoor\n")
	ix.add("evil", bad, md)
	m := newMirror(t, Config{}, ix)

	for _, tt := range []struct{ name, path, stored string }{
		{"file", "/pypi/files/evil/" + sum(bad.data) + "/" + bad.name, "pypi/files/evil/" + sum(bad.data) + "/" + bad.name},
		{"metadata", "/pypi/files/evil/" + sum(md.data) + "/" + md.name + ".metadata", "pypi/files/evil/" + sum(md.data) + "/" + md.name + ".metadata"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for i := range 2 {
				resp, err := http.Get(m.srv.URL + tt.path)
				if err != nil {
					continue // Cut short before the headers arrived.
				}
				body, rerr := io.ReadAll(resp.Body)
				resp.Body.Close()
				// A streamed download is cut short (rerr); one served
				// after the fill gets a 502.
				if resp.StatusCode == 200 && rerr == nil {
					t.Fatalf("GET %d: got 200 and %d whole bytes of a tampered file", i, len(body))
				}
				if resp.StatusCode != 200 && resp.StatusCode != http.StatusBadGateway {
					t.Errorf("GET %d: got %s, want 502", i, resp.Status)
				}
			}
			if _, err := m.store.Get(t.Context(), tt.stored); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("tampered file stored: Get = %v, want not found", err)
			}
			if !strings.Contains(m.logs.String(), "mismatch") {
				t.Errorf("no refusal logged:\n%s", m.logs.String())
			}
			if n := testutil.ToFloat64(m.m.VerifyFailures.WithLabelValues("pypi", tt.name)); n < 1 {
				t.Errorf("gomirror_verify_failures_total{pypi,%s}: got %v, want at least 1", tt.name, n)
			}
		})
	}
}

func TestStalePage(t *testing.T) {
	ix := newFakeIndex(t, false)
	whl, _, _ := addDemo(t, ix)
	m := newMirror(t, Config{PageTTL: time.Nanosecond}, ix)
	fileURL := "/pypi/files/demo/" + sum(whl.data) + "/" + whl.name
	if resp, _ := m.get(t, "/pypi/simple/demo/", pipAccept); resp.StatusCode != 200 {
		t.Fatalf("cold page: got %s", resp.Status)
	}
	if resp, _ := m.get(t, fileURL, ""); resp.StatusCode != 200 {
		t.Fatalf("cold file: got %s", resp.Status)
	}
	ix.down.Store(true)
	resp, page := pageJSON(t, m, "demo")
	if resp.Header.Get("X-Gomirror-Stale") != "true" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("stale page headers: got %v", resp.Header)
	}
	if len(filesByName(t, page)) != 3 {
		t.Errorf("stale page: got %v", page)
	}
	resp, body := m.get(t, fileURL, "")
	if resp.StatusCode != 200 || !bytes.Equal(body, whl.data) {
		t.Errorf("stored file with the upstream down: got %s", resp.Status)
	}
	// A project never fetched cannot be served.
	resp, body = m.get(t, "/pypi/simple/other/", pipAccept)
	if resp.StatusCode != http.StatusBadGateway || !bytes.Contains(body, []byte("503")) {
		t.Errorf("new project with the upstream down: got %s %q, want 502 naming the upstream's 503", resp.Status, body)
	}
}

func TestConcurrentMisses(t *testing.T) {
	ix := newFakeIndex(t, false)
	whl := buildWheel(t, "popular", "3.0")
	whl.data = append(whl.data, bytes.Repeat([]byte{0}, 1<<20)...) // Trailing bytes past the zip: big enough to stream.
	ix.add("popular", whl)
	m := newMirror(t, Config{}, ix)
	fileURL := m.srv.URL + "/pypi/files/popular/" + sum(whl.data) + "/" + whl.name
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for range 100 {
		wg.Go(func() {
			resp, err := http.Get(fileURL)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			switch {
			case err != nil:
				errs <- err
			case resp.StatusCode != 200 || !bytes.Equal(body, whl.data):
				errs <- fmt.Errorf("got %s and %d bytes, want 200 and %d", resp.Status, len(body), len(whl.data))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := ix.hitCount("/files/" + whl.name); n != 1 {
		t.Errorf("upstream file requests: got %d, want 1", n)
	}
	if n := ix.hitCount("/simple/popular/"); n != 1 {
		t.Errorf("upstream page requests: got %d, want 1", n)
	}
}

func TestMergedIndexes(t *testing.T) {
	private := newFakeIndex(t, false)
	public := newFakeIndex(t, true)
	mine := buildWheel(t, "corp-tool", "1.0")
	squat := buildWheel(t, "corp-tool", "99.0")
	private.add("corp-tool", mine)
	public.add("corp-tool", squat)
	public.add("requests", buildWheel(t, "requests", "2.0"))
	m := newMirror(t, Config{}, private, public)

	_, page := pageJSON(t, m, "corp-tool")
	if files := filesByName(t, page); len(files) != 1 || files[mine.name] == nil {
		t.Errorf("corp-tool: got %v, want only the private index's file", files)
	}
	_, page = pageJSON(t, m, "requests")
	if files := filesByName(t, page); len(files) != 1 {
		t.Errorf("requests: got %v, want the public index's file", files)
	}
	resp, _ := m.get(t, "/pypi/simple/nothing/", pipAccept)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("missing project: got %s, want 404", resp.Status)
	}
	// With the private index failing, its names are not looked up on the
	// public one.
	private.down.Store(true)
	resp, _ = m.get(t, "/pypi/simple/corp-other/", pipAccept)
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("private index down: got %s, want 502", resp.Status)
	}
	if n := public.hitCount("/simple/corp-other/"); n != 0 {
		t.Errorf("public index asked %d times while the private one was down, want 0", n)
	}
	private.down.Store(false)
	resp, body := m.get(t, "/pypi/simple/", pipAccept)
	var index struct{ Projects []struct{ Name string } }
	if err := json.Unmarshal(body, &index); err != nil || resp.StatusCode != 200 {
		t.Fatalf("index: got %s %v", resp.Status, err)
	}
	var names []string
	for _, p := range index.Projects {
		names = append(names, p.Name)
	}
	if strings.Join(names, ",") != "corp-tool,requests" {
		t.Errorf("index: got %v, want corp-tool then requests, once each", names)
	}
}

func TestBadInput(t *testing.T) {
	ix := newFakeIndex(t, false)
	whl, _, _ := addDemo(t, ix)
	m := newMirror(t, Config{}, ix)
	sha := sum(whl.data)
	tests := []struct {
		path string
		code int
	}{
		{"/pypi/simple/-demo-/", 400},
		{"/pypi/simple/de%20mo/", 400},
		{"/pypi/simple/de%00mo/", 400},
		{"/pypi/simple/" + strings.Repeat("a", 300) + "/", 400},
		{"/pypi/simple/a%2Fb/", 400},
		{"/pypi/simple/demo/extra", 404},
		{"/pypi/simple/demo/..%2F..%2F", 404},
		{"/pypi/nowhere", 404},
		{"/pypi/files/demo/" + sha + "/..%2F..%2Fetc%2Fpasswd", 400},
		{"/pypi/files/demo/" + sha + "/../../etc/passwd", 400},
		{"/pypi/files/demo/" + sha + "/.hidden", 400},
		{"/pypi/files/demo/" + strings.ToUpper(sha) + "/" + whl.name, 400},
		{"/pypi/files/demo/abc/" + whl.name, 400},
		{"/pypi/files/Demo/" + sha + "/" + whl.name, 400},
		{"/pypi/files/demo/" + sha, 400},
		{"/pypi/files/demo/" + sha + "/a%5Cb.whl", 400},
		{"/pypi/files/demo/" + sha + "/%ff.whl", 400},
		{"/pypi/files/nope/" + sha + "/nope-1.0.tar.gz", 404},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, m.srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.URL.Opaque = tt.path // Sent as is: dots and escapes kept.
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.code {
				t.Errorf("got %s %q, want %d", resp.Status, body, tt.code)
			}
			if bytes.Count(body, []byte("\n")) != 1 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
				t.Errorf("error body is not one plain-text line: %q", body)
			}
		})
	}
	resp, err := http.Post(m.srv.URL+"/pypi/simple/demo/", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: got %s, want 405", resp.Status)
	}
}

func TestHugeUpstreamPage(t *testing.T) {
	ix := newFakeIndex(t, true)
	addDemo(t, ix)
	ix.pageSize = 2 << 20
	m := newMirror(t, Config{MaxPageSize: 1 << 20}, ix)
	resp, body := m.get(t, "/pypi/simple/demo/", pipAccept)
	if resp.StatusCode != http.StatusBadGateway || !bytes.Contains(body, []byte("over the limit")) {
		t.Errorf("got %s %q, want 502 saying the page is over the limit", resp.Status, body)
	}
	if logs := m.logs.String(); !strings.Contains(logs, "pypi upstream fault") {
		t.Errorf("upstream fault not logged:\n%s", logs)
	}
}

func TestConfigValidate(t *testing.T) {
	ix := newFakeIndex(t, false)
	m := newMirror(t, Config{}, ix)
	tests := []struct {
		name string
		cfg  Config
		bad  string
	}{
		{"no cache", Config{}, "Cache"},
		{"relative index", Config{Cache: m.h.cache, Indexes: []string{"pypi.org/simple"}}, "Indexes"},
		{"ftp index", Config{Cache: m.h.cache, Indexes: []string{"ftp://x/simple/"}}, "Indexes"},
		{"negative ttl", Config{Cache: m.h.cache, PageTTL: -1}, "PageTTL"},
		{"negative size", Config{Cache: m.h.cache, MaxFileSize: -1}, "MaxFileSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.bad) {
				t.Errorf("got %v, want an error naming %s", err, tt.bad)
			}
		})
	}
	if err := (&Config{Cache: m.h.cache, Indexes: []string{"https://pypi.org/simple"}}).Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

func TestPageRefresh(t *testing.T) {
	ix := newFakeIndex(t, false)
	ix.etags.Store(true)
	whl, _, _ := addDemo(t, ix)
	m := newMirror(t, Config{PageTTL: time.Nanosecond}, ix)
	resp, body := m.get(t, "/pypi/simple/demo/", pipAccept)
	if resp.StatusCode != 200 {
		t.Fatalf("cold page: got %s", resp.Status)
	}
	// Expired: refreshed with a conditional request, which upstream
	// answers 304.
	resp2, body2 := m.get(t, "/pypi/simple/demo/", pipAccept)
	if resp2.StatusCode != 200 || !bytes.Equal(body, body2) || resp2.Header.Get("X-Gomirror-Stale") != "" {
		t.Fatalf("refreshed page: got %s, stale %q, same body %v", resp2.Status, resp2.Header.Get("X-Gomirror-Stale"), bytes.Equal(body, body2))
	}
	if n := ix.hitCount("304 /simple/demo/"); n != 1 {
		t.Errorf("conditional refreshes answered 304: got %d, want 1", n)
	}
	// A new upload shows up at the next refresh.
	newer := buildWheel(t, "demo", "1.2")
	ix.add("demo", newer)
	_, page := pageJSON(t, m, "demo")
	if files := filesByName(t, page); files[newer.name] == nil || files[whl.name] == nil {
		t.Errorf("after an upload: got %v", files)
	}
	// Conditional requests from clients to the mirror.
	m2 := newMirror(t, Config{}, ix)
	resp3, _ := m2.get(t, "/pypi/simple/demo/", pipAccept)
	req, _ := http.NewRequest(http.MethodGet, m2.srv.URL+"/pypi/simple/demo/", nil)
	req.Header.Set("Accept", pipAccept)
	req.Header.Set("If-None-Match", resp3.Header.Get("ETag"))
	resp4, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp4.Body.Close()
	if resp4.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match %s: got %s, want 304", resp3.Header.Get("ETag"), resp4.Status)
	}
	// The HTML of the same page has another ETag.
	resp5, _ := m2.get(t, "/pypi/simple/demo/", "text/html")
	if resp5.Header.Get("ETag") == resp3.Header.Get("ETag") {
		t.Errorf("JSON and HTML share the ETag %q", resp5.Header.Get("ETag"))
	}
}

func TestSlowDownloadStreams(t *testing.T) {
	ix := newFakeIndex(t, false)
	whl := buildWheel(t, "slow", "1.0")
	whl.data = append(whl.data, bytes.Repeat([]byte{7}, 1<<20)...)
	ix.add("slow", whl)
	ix.gate, ix.gateAfter = make(chan struct{}), 512<<10
	m := newMirror(t, Config{}, ix)
	var once sync.Once
	release := func() { once.Do(func() { close(ix.gate) }) }
	t.Cleanup(release) // Before the servers close, even when the test fails.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.srv.URL+"/pypi/files/slow/"+sum(whl.data)+"/"+whl.name, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(whl.data)) {
		t.Fatalf("got %s, length %d; want 200, %d", resp.Status, resp.ContentLength, len(whl.data))
	}
	// The first bytes arrive while the upstream still holds the rest.
	first := make([]byte, 256<<10)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatalf("reading the first bytes while upstream is stalled: %v", err)
	}
	release()
	rest, err := io.ReadAll(resp.Body)
	if err != nil || !bytes.Equal(append(first, rest...), whl.data) {
		t.Fatalf("got %d bytes, %v; want the file", len(first)+len(rest), err)
	}
}

func TestDebianWheels(t *testing.T) {
	wheels, _ := filepath.Glob("/usr/share/python-wheels/*.whl")
	if len(wheels) == 0 {
		t.Skip("no Debian wheels in /usr/share/python-wheels (python3-pip-whl, python3-setuptools-whl)")
	}
	ix := newFakeIndex(t, true)
	var files []fakeFile
	for _, w := range wheels {
		data, err := os.ReadFile(w)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Base(w)
		project, _, _ := strings.Cut(name, "-")
		f := fakeFile{name: name, data: data}
		ix.add(project, f)
		files = append(files, f)
	}
	m := newMirror(t, Config{}, ix)
	for _, f := range files {
		project, _, _ := strings.Cut(f.name, "-")
		_, page := pageJSON(t, m, Normalize(project))
		pf := filesByName(t, page)[f.name]
		if pf == nil {
			t.Fatalf("%s not on its page: %v", f.name, page)
		}
		base, _ := url.Parse("/pypi/simple/" + Normalize(project) + "/")
		ref, _ := url.Parse(pf["url"].(string))
		resp, body := m.get(t, base.ResolveReference(ref).String(), "")
		if resp.StatusCode != 200 || !bytes.Equal(body, f.data) {
			t.Errorf("%s: got %s, %d bytes; want %d", f.name, resp.Status, len(body), len(f.data))
		}
	}
}
