package npm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/pull/pulltest"
	"github.com/gomirror/gomirror/internal/store/disk"
)

// fakeRegistry is an npm registry in the test process, serving packages
// the test publishes, signed with its own ECDSA P-256 key.
type fakeRegistry struct {
	t     testing.TB
	srv   *httptest.Server
	key   *ecdsa.PrivateKey
	keyID string
	// token, when set, must come with every request.
	token string

	mu       sync.Mutex
	pkgs     map[string]*fakePkg
	files    map[string][]byte // tarball path → served bytes
	hits     map[string]int    // request path → count
	auth     []string          // Authorization of every request
	bodies   []string          // bodies of POSTs
	override map[string][]byte // packument name → raw body served instead

	notModified atomic.Int64
	down        atomic.Bool
}

type fakePkg struct {
	versions map[string]map[string]any
	tags     map[string]string
	time     map[string]string
}

func newFakeRegistry(t testing.TB) *fakeRegistry {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(der)
	f := &fakeRegistry{
		t: t, key: key,
		keyID: "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:]),
		pkgs:  map[string]*fakePkg{}, files: map[string][]byte{}, hits: map[string]int{},
		override: map[string][]byte{},
	}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

// keysJSON is the registry's key list, in npm's format.
func (f *fakeRegistry) keysJSON() []byte {
	der, _ := x509.MarshalPKIXPublicKey(&f.key.PublicKey)
	data, _ := json.Marshal(map[string]any{"keys": []map[string]any{{
		"expires": nil, "keyid": f.keyID, "keytype": "ecdsa-sha2-nistp256",
		"scheme": "ecdsa-sha2-nistp256", "key": base64.StdEncoding.EncodeToString(der),
	}}})
	return data
}

// tgz builds a package tarball holding package/package.json.
func tgz(t testing.TB, name, version string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	pj := fmt.Sprintf(`{"name":%q,"version":%q,"main":"index.js"}`, name, version)
	for _, file := range []struct{ name, body string }{{"package/package.json", pj}, {"package/index.js", "module.exports = " + fmt.Sprintf("%q", name+"@"+version) + ";\n"}} {
		if err := tw.WriteHeader(&tar.Header{Name: file.name, Mode: 0o644, Size: int64(len(file.body)), ModTime: time.Unix(499162500, 0)}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(file.body))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

// publish adds name@version, with extra fields in its version document.
func (f *fakeRegistry) publish(name, version string, extra map[string]any) []byte {
	data := tgz(f.t, name, version)
	s512 := sha512.Sum512(data)
	s1 := sha1.Sum(data)
	integrity := "sha512-" + base64.StdEncoding.EncodeToString(s512[:])
	digest := sha256.Sum256([]byte(name + "@" + version + ":" + integrity))
	sig, err := ecdsa.SignASN1(rand.Reader, f.key, digest[:])
	if err != nil {
		f.t.Fatal(err)
	}
	base := name
	if i := strings.IndexByte(name, '/'); i >= 0 {
		base = name[i+1:]
	}
	tarPath := "/" + name + "/-/" + base + "-" + version + ".tgz"
	v := map[string]any{
		"name": name, "version": version, "description": "the package " + name,
		"readme": strings.Repeat("docs ", 20), "scripts": map[string]string{"test": "true"},
		"dist": map[string]any{
			"tarball": f.srv.URL + tarPath, "integrity": integrity, "shasum": hex.EncodeToString(s1[:]),
			"signatures":   []map[string]string{{"keyid": f.keyID, "sig": base64.StdEncoding.EncodeToString(sig)}},
			"attestations": map[string]any{"url": f.srv.URL + "/-/npm/v1/attestations/" + name + "@" + version, "provenance": map[string]any{"predicateType": "https://slsa.dev/provenance/v1"}},
		},
	}
	for k, x := range extra {
		v[k] = x
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.pkgs[name]
	if p == nil {
		p = &fakePkg{versions: map[string]map[string]any{}, tags: map[string]string{}, time: map[string]string{"created": "2020-01-01T00:00:00.000Z"}}
		f.pkgs[name] = p
	}
	p.versions[version] = v
	p.tags["latest"] = version
	stamp := time.Date(2021, 1, 1, 0, 0, len(p.versions), 0, time.UTC).Format(time.RFC3339Nano)
	p.time[version] = stamp
	p.time["modified"] = stamp
	f.files[tarPath] = data
	return data
}

// tamper makes the registry serve other bytes for name@version's tarball.
func (f *fakeRegistry) tamper(name, version string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.pkgs[name].versions[version]["dist"].(map[string]any)
	u, _ := url.Parse(d["tarball"].(string))
	f.files[u.Path] = tgz(f.t, name, version+"-evil")
}

func (f *fakeRegistry) packument(name string) ([]byte, bool) {
	if raw, ok := f.override[name]; ok {
		return raw, true
	}
	p := f.pkgs[name]
	if p == nil {
		return nil, false
	}
	data, err := json.Marshal(map[string]any{
		"_id": name, "name": name, "description": "the package " + name,
		"dist-tags": p.tags, "versions": p.versions, "time": p.time, "readme": "# " + name,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return data, true
}

func (f *fakeRegistry) count(p string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[p]
}

func (f *fakeRegistry) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.hits {
		n += c
	}
	return n + len(f.bodies)
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, _ := url.PathUnescape(r.URL.EscapedPath())
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err == nil {
				body, _ = io.ReadAll(zr)
			}
		}
		f.bodies = append(f.bodies, string(body))
	} else {
		f.hits[p]++
	}
	if f.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if f.token != "" && r.Header.Get("Authorization") != "Bearer "+f.token {
		http.Error(w, `{"error":"unauthorized"}`, http.StatusUnauthorized)
		return
	}
	switch {
	case p == "/-/npm/v1/keys":
		w.Header().Set("Content-Type", "application/json")
		w.Write(f.keysJSON())
	case strings.HasPrefix(p, "/-/npm/v1/security/"):
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"audited":%q}`, p)
	case strings.Contains(p, "/-/"):
		data, ok := f.files[p]
		if !ok {
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(data)
	default:
		data, ok := f.packument(strings.TrimPrefix(p, "/"))
		if !ok {
			http.Error(w, `{"error":"Not found"}`, http.StatusNotFound)
			return
		}
		sum := sha256.Sum256(data)
		etag := `"` + hex.EncodeToString(sum[:8]) + `"`
		if r.Header.Get("If-None-Match") == etag {
			f.notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "application/json")
		w.Write(data)
	}
}

// mirror is a Handler on a disk store, served by an httptest server.
type mirror struct {
	h     *Handler
	srv   *httptest.Server
	store *disk.Store
	log   *pulltest.Buffer
}

func newMirror(t testing.TB, cfg Config) *mirror {
	t.Helper()
	dir := t.TempDir()
	st, err := disk.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logs := &pulltest.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	// A long stale grace: a slow refresh on a busy machine must not turn
	// into a stale answer that a test does not expect.
	cache, err := pull.New(pull.Config{Store: st, TempDir: path.Join(dir, ".tmp"), Logger: log, StaleGrace: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Cache = cache
	cfg.Logger = log
	if cfg.Client == nil {
		cfg.Client = pulltest.LoopbackClient(t)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &mirror{h: h, srv: srv, store: st, log: logs}
}

// get requests p from the mirror with the given headers.
func (m *mirror) get(t testing.TB, p string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	return m.do(t, http.MethodGet, p, nil, hdr...)
}

func (m *mirror) do(t testing.TB, method, p string, body io.Reader, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, m.srv.URL, body)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Opaque = p // Sent as it is, malformed escapes included.
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := m.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}
