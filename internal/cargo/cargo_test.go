package cargo

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// crateBytes returns distinct content for a fake .crate.
func crateBytes(name, vers string) []byte {
	return []byte(strings.Repeat("crate "+name+" "+vers+"\n", 100))
}

func TestConfigJSON(t *testing.T) {
	up := newFakeRegistry(t)
	tests := []struct {
		name      string
		publicURL string
		hdr       []string
		wantDL    string
		wantAPI   string
	}{
		{"request host", "", nil, "http://HOST/cargo/api/v1/crates", "http://HOST/cargo"},
		{"forwarded https", "", []string{"X-Forwarded-Proto", "https"}, "https://HOST/cargo/api/v1/crates", "https://HOST/cargo"},
		{"public URL", "https://mirror.example/", nil, "https://mirror.example/cargo/api/v1/crates", "https://mirror.example/cargo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMirror(t, Config{Index: up.URL(), PublicURL: tt.publicURL})
			resp, body := m.get(t, "/cargo/index/config.json", tt.hdr...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("got %s: %s", resp.Status, body)
			}
			var c config
			if err := json.Unmarshal(body, &c); err != nil {
				t.Fatal(err)
			}
			host := strings.TrimPrefix(m.srv.URL, "http://")
			if want := strings.ReplaceAll(tt.wantDL, "HOST", host); c.DL != want {
				t.Errorf("dl: got %q, want %q", c.DL, want)
			}
			if want := strings.ReplaceAll(tt.wantAPI, "HOST", host); c.API != want {
				t.Errorf("api: got %q, want %q", c.API, want)
			}
		})
	}
}

func TestIndexAndDownload(t *testing.T) {
	up := newFakeRegistry(t)
	data := crateBytes("Demo_Crate", "1.2.3")
	up.publish("Demo_Crate", "1.2.3", data, []dep{{Name: "dep", Req: "^1", Kind: "normal", DefaultFeatures: true}}, nil)
	m := newMirror(t, Config{Index: up.URL()})

	resp, body := m.get(t, "/cargo/index/de/mo/demo_crate")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("index: got %s: %s", resp.Status, body)
	}
	if !strings.Contains(string(body), `"vers":"1.2.3"`) {
		t.Errorf("index: got %q, want the line of 1.2.3", body)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		t.Fatal("index: got no ETag")
	}
	resp, _ = m.get(t, "/cargo/index/de/mo/demo_crate", "If-None-Match", etag)
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("index revalidation: got %s, want 304", resp.Status)
	}

	for i := range 2 {
		resp, body = m.get(t, "/cargo/api/v1/crates/Demo_Crate/1.2.3/download")
		if resp.StatusCode != http.StatusOK || string(body) != string(data) {
			t.Fatalf("download %d: got %s, %d bytes; want 200 and the crate", i, resp.Status, len(body))
		}
	}
	if n := up.hitCount("/dl/Demo_Crate/1.2.3/download"); n != 1 {
		t.Errorf("upstream downloads: got %d, want 1", n)
	}
	if !m.stored(t, crateName("demo_crate", "1.2.3")) {
		t.Errorf("the crate is not stored")
	}
}

func TestMissing(t *testing.T) {
	up := newFakeRegistry(t)
	up.publish("there", "1.0.0", crateBytes("there", "1.0.0"), nil, nil)
	m := newMirror(t, Config{Index: up.URL()})
	tests := []struct {
		path     string
		want     int
		wantJSON bool
	}{
		{"/cargo/index/no/ne/nonexistent", http.StatusNotFound, false},
		{"/cargo/api/v1/crates/nonexistent/1.0.0/download", http.StatusNotFound, true},
		{"/cargo/api/v1/crates/there/9.9.9/download", http.StatusNotFound, true},
		{"/cargo/api/v1/crates?q=serde", http.StatusNotFound, true},
		{"/cargo/index/th/er/there/extra", http.StatusBadRequest, false},
		{"/cargo/index/1/there", http.StatusBadRequest, false},
		{"/cargo/api/v1/crates/th%2Fere/1.0.0/download", http.StatusBadRequest, true},
		{"/cargo/api/v1/crates/there/not-a-version/download", http.StatusBadRequest, true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := m.get(t, tt.path)
			if resp.StatusCode != tt.want {
				t.Fatalf("got %s: %s; want %d", resp.Status, body, tt.want)
			}
			if strings.Count(strings.TrimSpace(string(body)), "\n") != 0 {
				t.Errorf("got a body of several lines: %q", body)
			}
			if !tt.wantJSON {
				if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("Content-Type: got %q, want text/plain", ct)
				}
				return
			}
			var e struct {
				Errors []struct {
					Detail string `json:"detail"`
				} `json:"errors"`
			}
			if err := json.Unmarshal(body, &e); err != nil || len(e.Errors) != 1 || e.Errors[0].Detail == "" {
				t.Errorf("got %q, want cargo's {\"errors\":[{\"detail\":...}]}", body)
			}
		})
	}
	resp, _ := m.do(t, http.MethodPut, "/cargo/api/v1/crates/new")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("PUT: got %s, want 405", resp.Status)
	}
}

func TestTamperedCrate(t *testing.T) {
	up := newFakeRegistry(t)
	data := crateBytes("evil", "1.0.0")
	up.publish("evil", "1.0.0", data, nil, nil)
	bad := []byte("not the crate the index describes")
	up.tamper("evil", "1.0.0", bad)
	m := newMirror(t, Config{Index: up.URL()})

	resp, body := m.get(t, "/cargo/api/v1/crates/evil/1.0.0/download")
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("got %s: %s; want 502", resp.Status, body)
	}
	good, got := sha256.Sum256(data), sha256.Sum256(bad)
	for _, h := range []string{hex.EncodeToString(good[:]), hex.EncodeToString(got[:])} {
		if !strings.Contains(string(body), h) {
			t.Errorf("got %q, want it to name %s", body, h)
		}
	}
	if m.stored(t, crateName("evil", "1.0.0")) {
		t.Errorf("the tampered crate was stored")
	}
}

func TestStaleAndRevalidate(t *testing.T) {
	up := newFakeRegistry(t)
	up.publish("fresh", "1.0.0", crateBytes("fresh", "1.0.0"), nil, nil)
	m := newMirror(t, Config{Index: up.URL(), TTL: time.Nanosecond})
	const p = "/cargo/index/fr/es/fresh"
	if resp, body := m.get(t, p); resp.StatusCode != http.StatusOK {
		t.Fatalf("first: got %s: %s", resp.Status, body)
	}
	// Expired at once: the refresh sends the stored ETag, and the
	// upstream confirms it.
	resp, body := m.get(t, p)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Gomirror-Stale") != "" {
		t.Fatalf("revalidated: got %s, stale %q: %s", resp.Status, resp.Header.Get("X-Gomirror-Stale"), body)
	}
	if n := up.notModified.Load(); n < 1 {
		t.Errorf("upstream 304s: got %d, want at least 1", n)
	}
	up.down.Store(true)
	resp, body = m.get(t, p)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Gomirror-Stale") != "true" {
		t.Fatalf("upstream down: got %s, stale %q; want 200 stale", resp.Status, resp.Header.Get("X-Gomirror-Stale"))
	}
	if !strings.Contains(string(body), `"name":"fresh"`) {
		t.Errorf("stale body: got %q", body)
	}
}

func TestNewVersionRefreshesEarly(t *testing.T) {
	up := newFakeRegistry(t)
	up.publish("grow", "1.0.0", crateBytes("grow", "1.0.0"), nil, nil)
	m := newMirror(t, Config{Index: up.URL(), TTL: time.Hour, RefreshAfter: time.Nanosecond})
	if resp, body := m.get(t, "/cargo/index/gr/ow/grow"); resp.StatusCode != http.StatusOK {
		t.Fatalf("index: got %s: %s", resp.Status, body)
	}
	data := crateBytes("grow", "1.1.0")
	up.publish("grow", "1.1.0", data, nil, nil)
	resp, body := m.get(t, "/cargo/api/v1/crates/grow/1.1.0/download")
	if resp.StatusCode != http.StatusOK || string(body) != string(data) {
		t.Fatalf("new version: got %s: %.100s", resp.Status, body)
	}
}

func TestDownloadHosts(t *testing.T) {
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the mirror followed the upstream to another host: %s", r.URL)
	}))
	defer elsewhere.Close()
	// dlHost is a download host the mirror is configured to trust; it
	// has no crates.
	dlHost := httptest.NewServer(http.NotFoundHandler())
	defer dlHost.Close()
	tests := []struct {
		name     string
		dl       string // config.json's dl: ELSEWHERE, DLHOST, UPSTREAM stand for the servers
		noConfig bool
		download string // Config.Download
		want     int
	}{
		{"config.json names another host", "ELSEWHERE/dl", false, "", http.StatusBadGateway},
		{"config.json names the download host", "DLHOST/dl", false, "DLHOST/", http.StatusNotFound},
		{"redirect to another host", "UPSTREAM/redirect", false, "", http.StatusBadGateway},
		{"no config.json", "", true, "UPSTREAM/dl/", http.StatusOK},
		{"dl template", "UPSTREAM/dl/{crate}/{version}/download", false, "", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newFakeRegistry(t)
			data := crateBytes("hosted", "1.0.0")
			up.publish("hosted", "1.0.0", data, nil, nil)
			mux := http.NewServeMux()
			mux.HandleFunc("/redirect/", func(w http.ResponseWriter, r *http.Request) {
				// Another host name: the core's guard trusts the
				// configured hosts on any port.
				http.Redirect(w, r, strings.Replace(elsewhere.URL, "127.0.0.1", "localhost", 1)+"/x", http.StatusFound)
			})
			mux.Handle("/", up)
			redirecting := httptest.NewServer(mux)
			defer redirecting.Close()
			repl := strings.NewReplacer("ELSEWHERE", elsewhere.URL, "DLHOST", dlHost.URL, "UPSTREAM", redirecting.URL)
			up.dl, up.noConfig = repl.Replace(tt.dl), tt.noConfig
			m := newMirror(t, Config{Index: redirecting.URL + "/", Download: repl.Replace(tt.download)})
			resp, body := m.get(t, "/cargo/api/v1/crates/hosted/1.0.0/download")
			if resp.StatusCode != tt.want {
				t.Fatalf("got %s: %s; want %d", resp.Status, body, tt.want)
			}
			if tt.want == http.StatusOK && string(body) != string(data) {
				t.Errorf("got %d bytes, want the crate", len(body))
			}
		})
	}
}
