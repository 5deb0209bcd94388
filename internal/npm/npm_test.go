package npm

import (
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

type version struct {
	Name             string            `json:"name"`
	Version          string            `json:"version"`
	CPU              []string          `json:"cpu"`
	OS               []string          `json:"os"`
	Engines          map[string]string `json:"engines"`
	Readme           *string           `json:"readme"`
	HasInstallScript bool              `json:"hasInstallScript"`
	Dist             struct {
		Tarball      string                        `json:"tarball"`
		Integrity    string                        `json:"integrity"`
		Shasum       string                        `json:"shasum"`
		Signatures   []struct{ Keyid, Sig string } `json:"signatures"`
		Attestations json.RawMessage               `json:"attestations"`
	} `json:"dist"`
}

type doc struct {
	Name     string             `json:"name"`
	DistTags map[string]string  `json:"dist-tags"`
	Time     map[string]string  `json:"time"`
	Modified string             `json:"modified"`
	Readme   *string            `json:"readme"`
	Versions map[string]version `json:"versions"`
}

func decode[T any](t testing.TB, data []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decoding %.200q: %v", data, err)
	}
	return v
}

func TestPackuments(t *testing.T) {
	up := newFakeRegistry(t)
	up.publish("left-pad", "1.0.0", nil)
	up.publish("left-pad", "1.1.0", map[string]any{
		"cpu": []string{"x64"}, "os": []string{"linux"}, "engines": map[string]string{"node": ">=18"},
		"scripts": map[string]string{"postinstall": "node x.js"},
	})
	m := newMirror(t, Config{Upstream: Upstream{URL: up.srv.URL}})
	upstream, _ := up.packument("left-pad")
	want := decode[doc](t, upstream)

	for _, tt := range []struct {
		name, accept, ctype string
		abbreviated         bool
	}{
		{"full", "application/json", "application/json", false},
		{"abbreviated", "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*", "application/vnd.npm.install-v1+json", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, data := m.get(t, "/npm/left-pad", "Accept", tt.accept)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, data)
			}
			if got := resp.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			if !strings.Contains(resp.Header.Get("Vary"), "Accept") {
				t.Errorf("Vary %q, want Accept", resp.Header.Get("Vary"))
			}
			got := decode[doc](t, data)
			if got.Name != "left-pad" || got.DistTags["latest"] != "1.1.0" {
				t.Errorf("name %q, dist-tags %v", got.Name, got.DistTags)
			}
			if len(got.Time) != len(want.Time) || got.Time["1.1.0"] != want.Time["1.1.0"] {
				t.Errorf("time %v, want %v", got.Time, want.Time)
			}
			if tt.abbreviated != (got.Readme == nil) {
				t.Errorf("abbreviated=%v, but readme present=%v", tt.abbreviated, got.Readme != nil)
			}
			if tt.abbreviated && got.Modified != want.Time["modified"] {
				t.Errorf("modified %q, want %q", got.Modified, want.Time["modified"])
			}
			if len(got.Versions) != 2 {
				t.Fatalf("got %d versions, want 2", len(got.Versions))
			}
			for v, gv := range got.Versions {
				wv := want.Versions[v]
				wantURL := m.srv.URL + "/npm/left-pad/-/left-pad-" + v + ".tgz"
				if gv.Dist.Tarball != wantURL {
					t.Errorf("%s tarball %q, want %q", v, gv.Dist.Tarball, wantURL)
				}
				if gv.Dist.Integrity != wv.Dist.Integrity || gv.Dist.Shasum != wv.Dist.Shasum ||
					len(gv.Dist.Signatures) != 1 || gv.Dist.Signatures[0] != wv.Dist.Signatures[0] ||
					!bytes.Equal(gv.Dist.Attestations, wv.Dist.Attestations) {
					t.Errorf("%s dist changed: got %+v, want %+v", v, gv.Dist, wv.Dist)
				}
				if tt.abbreviated != (gv.Readme == nil) {
					t.Errorf("%s: abbreviated=%v but readme present=%v", v, tt.abbreviated, gv.Readme != nil)
				}
			}
			v := got.Versions["1.1.0"]
			if len(v.CPU) != 1 || v.CPU[0] != "x64" || len(v.OS) != 1 || v.OS[0] != "linux" || v.Engines["node"] != ">=18" {
				t.Errorf("1.1.0 lost cpu, os or engines: %+v", v)
			}
			if tt.abbreviated && !v.HasInstallScript {
				t.Errorf("abbreviated 1.1.0 has no hasInstallScript")
			}
		})
	}
	if n := up.count("/left-pad"); n != 1 {
		t.Errorf("upstream got %d packument requests, want 1 for both forms", n)
	}

	t.Run("gzip", func(t *testing.T) {
		raw := &http.Client{Transport: &http.Transport{DisableCompression: true}}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, m.srv.URL+"/npm/left-pad", nil)
		req.Header.Set("Accept", abbreviatedType)
		resp, err := raw.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.Header.Get("Content-Encoding") != "" || !json.Valid(plain) {
			t.Fatalf("without Accept-Encoding: Content-Encoding %q, valid JSON %v", resp.Header.Get("Content-Encoding"), json.Valid(plain))
		}
		req.Header.Set("Accept-Encoding", "gzip, deflate")
		resp, err = raw.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("Content-Encoding %q, want gzip", resp.Header.Get("Content-Encoding"))
		}
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("gzip answer decodes to %d bytes (%v), want the %d of the plain one", len(got), err, len(plain))
		}
		if !strings.Contains(resp.Header.Get("Vary"), "Accept-Encoding") {
			t.Errorf("Vary %q", resp.Header.Get("Vary"))
		}
	})
	t.Run("version and tag", func(t *testing.T) {
		for _, spec := range []string{"1.0.0", "latest"} {
			resp, data := m.get(t, "/npm/left-pad/"+spec)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: status %d: %s", spec, resp.StatusCode, data)
			}
			v := decode[version](t, data)
			wantV := map[string]string{"1.0.0": "1.0.0", "latest": "1.1.0"}[spec]
			if v.Version != wantV || !strings.HasPrefix(v.Dist.Tarball, m.srv.URL+"/npm/") {
				t.Errorf("%s: got version %q tarball %q", spec, v.Version, v.Dist.Tarball)
			}
		}
	})
	t.Run("dist-tags", func(t *testing.T) {
		resp, data := m.get(t, "/npm/-/package/left-pad/dist-tags")
		if got := decode[map[string]string](t, data); resp.StatusCode != 200 || got["latest"] != "1.1.0" {
			t.Errorf("status %d, dist-tags %v", resp.StatusCode, got)
		}
	})
	t.Run("tarball", func(t *testing.T) {
		resp, data := m.get(t, "/npm/left-pad/-/left-pad-1.0.0.tgz")
		if resp.StatusCode != 200 || !bytes.Equal(data, up.files["/left-pad/-/left-pad-1.0.0.tgz"]) {
			t.Fatalf("status %d, %d bytes", resp.StatusCode, len(data))
		}
		m.get(t, "/npm/left-pad/-/left-pad-1.0.0.tgz")
		if n := up.count("/left-pad/-/left-pad-1.0.0.tgz"); n != 1 {
			t.Errorf("upstream got %d tarball requests, want 1", n)
		}
	})
	t.Run("conditional", func(t *testing.T) {
		resp, _ := m.get(t, "/npm/left-pad", "Accept", "application/json")
		etag := resp.Header.Get("ETag")
		resp2, _ := m.get(t, "/npm/left-pad", "Accept", "application/json", "If-None-Match", etag)
		if etag == "" || resp2.StatusCode != http.StatusNotModified {
			t.Errorf("ETag %q, conditional status %d, want 304", etag, resp2.StatusCode)
		}
		resp3, _ := m.get(t, "/npm/left-pad", "Accept", abbreviatedType, "If-None-Match", etag)
		if resp3.StatusCode != 200 {
			t.Errorf("abbreviated with the full form's ETag: status %d, want 200", resp3.StatusCode)
		}
	})
}

func TestSignatures(t *testing.T) {
	up := newFakeRegistry(t)
	for _, nv := range [][2]string{{"a", "1.0.0"}, {"a", "2.0.0"}, {"@s/b", "0.1.0"}} {
		up.publish(nv[0], nv[1], nil)
	}
	m := newMirror(t, Config{Upstream: Upstream{URL: up.srv.URL}})
	resp, data := m.get(t, "/npm/-/npm/v1/keys")
	if resp.StatusCode != 200 {
		t.Fatalf("keys: status %d: %s", resp.StatusCode, data)
	}
	keys := decode[struct {
		Keys []struct{ Keyid, Key, Keytype, Scheme string }
	}](t, data)
	pubs := map[string]*ecdsa.PublicKey{}
	for _, k := range keys.Keys {
		der, err := base64.StdEncoding.DecodeString(k.Key)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(der)
		if id := "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:]); id != k.Keyid {
			t.Errorf("keyid %q, want %q from the key", k.Keyid, id)
		}
		pub, err := x509.ParsePKIXPublicKey(der)
		if err != nil {
			t.Fatal(err)
		}
		pubs[k.Keyid] = pub.(*ecdsa.PublicKey)
	}
	if len(pubs) != 1 {
		t.Fatalf("got %d keys, want 1", len(pubs))
	}
	verified := 0
	for _, name := range []string{"a", "@s%2fb"} {
		for _, accept := range []string{"application/json", abbreviatedType} {
			_, data := m.get(t, "/npm/"+name, "Accept", accept)
			d := decode[doc](t, data)
			for v, ver := range d.Versions {
				if len(ver.Dist.Signatures) == 0 {
					t.Errorf("%s@%s has no signature", d.Name, v)
				}
				for _, s := range ver.Dist.Signatures {
					sig, _ := base64.StdEncoding.DecodeString(s.Sig)
					msg := sha256.Sum256([]byte(d.Name + "@" + v + ":" + ver.Dist.Integrity))
					if pub := pubs[s.Keyid]; pub == nil || !ecdsa.VerifyASN1(pub, msg[:], sig) {
						t.Errorf("%s@%s: signature by %s does not verify", d.Name, v, s.Keyid)
					}
					verified++
				}
			}
		}
	}
	if verified != 6 {
		t.Errorf("verified %d signatures, want 6", verified)
	}
}

func TestAudit(t *testing.T) {
	pub := newFakeRegistry(t)
	corp := newFakeRegistry(t)
	m := newMirror(t, Config{Upstream: Upstream{URL: pub.srv.URL}, Scopes: map[string]Upstream{"@corp": {URL: corp.srv.URL}}})
	bulk := `{"express":["4.21.2"],"@corp/secret":["1.0.0"],"@other/x":["2.0.0"]}`
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(bulk))
	zw.Close()
	resp, data := m.do(t, http.MethodPost, "/npm/-/npm/v1/security/advisories/bulk", &gz, "Content-Type", "application/json", "Content-Encoding", "gzip")
	if resp.StatusCode != 200 || !strings.Contains(string(data), "advisories/bulk") {
		t.Fatalf("status %d: %s", resp.StatusCode, data)
	}
	quick := `{"name":"app","version":"1.0.0","requires":{"express":"^4","@corp/secret":"1"},"dependencies":{"express":{"version":"4.21.2","requires":{"@corp/inner":"1"},"dependencies":{"@corp/inner":{"version":"1.0.0"}}},"@corp/secret":{"version":"1.0.0"}}}`
	resp, _ = m.do(t, http.MethodPost, "/npm/-/npm/v1/security/audits/quick", strings.NewReader(quick), "Content-Type", "application/json")
	if resp.StatusCode != 200 {
		t.Fatalf("quick: status %d", resp.StatusCode)
	}
	if len(pub.bodies) != 2 {
		t.Fatalf("upstream got %d audit requests, want 2", len(pub.bodies))
	}
	got := decode[map[string][]string](t, []byte(pub.bodies[0]))
	if len(got) != 2 || got["express"][0] != "4.21.2" || got["@other/x"][0] != "2.0.0" {
		t.Errorf("bulk body upstream got %v, want express and @other/x", got)
	}
	if strings.Contains(pub.bodies[1], "corp") || !strings.Contains(pub.bodies[1], `"express"`) {
		t.Errorf("quick body upstream got %s, want express without @corp", pub.bodies[1])
	}
	if corp.total() != 0 {
		t.Errorf("the private registry got %d requests for audits, want 0", corp.total())
	}
	if resp, _ := m.get(t, "/npm/-/npm/v1/security/advisories/bulk"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET audit: status %d, want 405", resp.StatusCode)
	}
	// Twice the same request reaches upstream twice: audits are not cached.
	m.do(t, http.MethodPost, "/npm/-/npm/v1/security/advisories/bulk", strings.NewReader(`{"a":["1.0.0"]}`))
	m.do(t, http.MethodPost, "/npm/-/npm/v1/security/advisories/bulk", strings.NewReader(`{"a":["1.0.0"]}`))
	if len(pub.bodies) != 4 {
		t.Errorf("upstream got %d audit requests, want 4", len(pub.bodies))
	}
	resp, data = m.do(t, http.MethodPost, "/npm/-/npm/v1/security/advisories/bulk", strings.NewReader(`[not json`))
	if resp.StatusCode != 400 || !strings.Contains(string(data), `"error"`) {
		t.Errorf("malformed audit: status %d %s, want 400", resp.StatusCode, data)
	}
}

func TestScopedNames(t *testing.T) {
	up := newFakeRegistry(t)
	tgzData := up.publish("@scope/pkg", "1.0.0", nil)
	m := newMirror(t, Config{Upstream: Upstream{URL: up.srv.URL}})
	var first []byte
	for _, p := range []string{"/npm/@scope%2fpkg", "/npm/@scope%2Fpkg", "/npm/@scope/pkg"} {
		resp, data := m.get(t, p, "Accept", "application/json")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d: %s", p, resp.StatusCode, data)
		}
		if first == nil {
			first = data
		} else if !bytes.Equal(first, data) {
			t.Errorf("%s differs from the first encoding", p)
		}
		d := decode[doc](t, data)
		if u := d.Versions["1.0.0"].Dist.Tarball; u != m.srv.URL+"/npm/@scope/pkg/-/pkg-1.0.0.tgz" {
			t.Errorf("%s: tarball %q", p, u)
		}
	}
	for _, p := range []string{"/npm/@scope/pkg/-/pkg-1.0.0.tgz", "/npm/@scope%2fpkg/-/pkg-1.0.0.tgz"} {
		resp, data := m.get(t, p)
		if resp.StatusCode != 200 || !bytes.Equal(data, tgzData) {
			t.Errorf("%s: status %d, %d bytes", p, resp.StatusCode, len(data))
		}
	}
	for _, p := range []string{"/npm/-/package/@scope/pkg/dist-tags", "/npm/-/package/@scope%2fpkg/dist-tags", "/npm/@scope%2fpkg/latest"} {
		if resp, data := m.get(t, p); resp.StatusCode != 200 || !strings.Contains(string(data), "1.0.0") {
			t.Errorf("%s: status %d: %s", p, resp.StatusCode, data)
		}
	}
	if n := up.count("/@scope/pkg"); n != 1 {
		t.Errorf("upstream got %d packument requests, want 1", n)
	}
}

func TestTamperedTarball(t *testing.T) {
	up := newFakeRegistry(t)
	up.publish("victim", "1.0.0", nil)
	up.tamper("victim", "1.0.0")
	m := newMirror(t, Config{Upstream: Upstream{URL: up.srv.URL}})
	for i := range 2 {
		resp, data := m.get(t, "/npm/victim/-/victim-1.0.0.tgz", "Range", "bytes=0-")
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(data), "sha512 mismatch") {
			t.Errorf("request %d: status %d %s, want 502 naming the mismatch", i, resp.StatusCode, data)
		}
	}
	if _, err := m.store.Get(t.Context(), tarballName("victim", "victim-1.0.0.tgz")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("tampered tarball stored: Get = %v, want not exist", err)
	}
	if n := up.count("/victim/-/victim-1.0.0.tgz"); n != 2 {
		t.Errorf("upstream got %d tarball requests, want 2 (a refusal is not cached)", n)
	}
	// A plain GET streams: the client must not get a whole file.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, m.srv.URL+"/npm/victim/-/victim-1.0.0.tgz", nil)
	resp, err := m.srv.Client().Do(req)
	if err == nil {
		_, rerr := bytes.NewBuffer(nil).ReadFrom(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && rerr == nil {
			t.Errorf("plain GET of a tampered tarball completed with 200")
		}
	}
}

func TestShasumOnly(t *testing.T) {
	up := newFakeRegistry(t)
	data := up.publish("old", "0.0.1", nil)
	d := up.pkgs["old"].versions["0.0.1"]["dist"].(map[string]any)
	delete(d, "integrity")
	m := newMirror(t, Config{Upstream: Upstream{URL: up.srv.URL}})
	if resp, got := m.get(t, "/npm/old/-/old-0.0.1.tgz"); resp.StatusCode != 200 || !bytes.Equal(got, data) {
		t.Errorf("status %d", resp.StatusCode)
	}
	up.publish("old", "0.0.2", nil)
	d = up.pkgs["old"].versions["0.0.2"]["dist"].(map[string]any)
	delete(d, "integrity")
	up.tamper("old", "0.0.2")
	m2 := newMirror(t, Config{Upstream: Upstream{URL: up.srv.URL}})
	if resp, body := m2.get(t, "/npm/old/-/old-0.0.2.tgz", "Range", "bytes=0-"); resp.StatusCode != 502 || !strings.Contains(string(body), "sha1") {
		t.Errorf("tampered, shasum only: status %d %s, want 502", resp.StatusCode, body)
	}
}

func TestRevalidate(t *testing.T) {
	up := newFakeRegistry(t)
	up.publish("fresh", "1.0.0", nil)
	// A TTL of a nanosecond makes every request revalidate.
	m := newMirror(t, Config{Upstream: Upstream{URL: up.srv.URL}, TTL: time.Nanosecond})
	_, first := m.get(t, "/npm/fresh", "Accept", "application/json")
	for range 3 {
		resp, data := m.get(t, "/npm/fresh", "Accept", "application/json")
		if resp.StatusCode != 200 || !bytes.Equal(data, first) || resp.Header.Get("X-Gomirror-Stale") != "" {
			t.Fatalf("status %d stale %q, same body %v", resp.StatusCode, resp.Header.Get("X-Gomirror-Stale"), bytes.Equal(data, first))
		}
	}
	if n := up.notModified.Load(); n != 3 {
		t.Errorf("upstream answered %d revalidations with 304, want 3", n)
	}
	up.publish("fresh", "2.0.0", nil)
	_, data := m.get(t, "/npm/fresh", "Accept", "application/json")
	if d := decode[doc](t, data); d.DistTags["latest"] != "2.0.0" {
		t.Errorf("after a publish, latest is %q, want 2.0.0", d.DistTags["latest"])
	}
}

func TestStaleWhenUpstreamDown(t *testing.T) {
	up := newFakeRegistry(t)
	up.publish("resilient", "1.0.0", nil)
	m := newMirror(t, Config{Upstream: Upstream{URL: up.srv.URL}, TTL: time.Nanosecond})
	_, first := m.get(t, "/npm/resilient")
	m.get(t, "/npm/resilient/-/resilient-1.0.0.tgz")
	up.down.Store(true)
	resp, data := m.get(t, "/npm/resilient")
	if resp.StatusCode != 200 || resp.Header.Get("X-Gomirror-Stale") != "true" || !bytes.Equal(data, first) {
		t.Errorf("status %d, stale header %q, same body %v", resp.StatusCode, resp.Header.Get("X-Gomirror-Stale"), bytes.Equal(data, first))
	}
	if resp, _ := m.get(t, "/npm/resilient/-/resilient-1.0.0.tgz"); resp.StatusCode != 200 {
		t.Errorf("stored tarball with the upstream down: status %d", resp.StatusCode)
	}
	if resp, data := m.get(t, "/npm/never-seen"); resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(data), `"error"`) {
		t.Errorf("unknown package with the upstream down: status %d %s, want 502", resp.StatusCode, data)
	}
}

func TestEarlyRefresh(t *testing.T) {
	up := newFakeRegistry(t)
	up.publish("growing", "1.0.0", nil)
	m := newMirror(t, Config{Upstream: Upstream{URL: up.srv.URL}, TTL: time.Hour, RefreshAfter: time.Nanosecond})
	m.get(t, "/npm/growing")
	newTgz := up.publish("growing", "1.1.0", nil)
	up.publish("growing", "1.2.0", nil)
	_, data := m.get(t, "/npm/growing")
	if d := decode[doc](t, data); len(d.Versions) != 1 || up.count("/growing") != 1 {
		t.Fatalf("within the TTL: %d versions, %d upstream requests; want 1, 1", len(d.Versions), up.count("/growing"))
	}
	resp, data := m.get(t, "/npm/growing/1.1.0")
	if resp.StatusCode != 200 || decode[version](t, data).Version != "1.1.0" {
		t.Fatalf("new version: status %d: %s", resp.StatusCode, data)
	}
	if n := up.count("/growing"); n != 2 {
		t.Errorf("upstream got %d packument requests, want 2", n)
	}
	// The refreshed packument serves the tarballs of versions it has
	// without another refresh.
	if resp, got := m.get(t, "/npm/growing/-/growing-1.1.0.tgz"); resp.StatusCode != 200 || !bytes.Equal(got, newTgz) {
		t.Errorf("new tarball: status %d", resp.StatusCode)
	}
	if n := up.count("/growing"); n != 2 {
		t.Errorf("upstream got %d packument requests, want 2", n)
	}

	t.Run("tarball", func(t *testing.T) {
		up.publish("growing", "1.3.0", nil)
		if resp, _ := m.get(t, "/npm/growing/-/growing-1.3.0.tgz"); resp.StatusCode != 200 {
			t.Errorf("tarball of a new version: status %d", resp.StatusCode)
		}
		if n := up.count("/growing"); n != 3 {
			t.Errorf("upstream got %d packument requests, want 3", n)
		}
	})

	t.Run("rate limited", func(t *testing.T) {
		up := newFakeRegistry(t)
		up.publish("slow", "1.0.0", nil)
		m := newMirror(t, Config{Upstream: Upstream{URL: up.srv.URL}, TTL: time.Hour, RefreshAfter: time.Hour})
		m.get(t, "/npm/slow")
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if resp, data := m.get(t, "/npm/slow/9.9.9"); resp.StatusCode != 404 || !strings.Contains(string(data), "slow@9.9.9") {
					t.Errorf("unknown version: status %d %s, want 404", resp.StatusCode, data)
				}
				if resp, _ := m.get(t, "/npm/slow/-/slow-9.9.9.tgz"); resp.StatusCode != 404 {
					t.Errorf("unknown tarball: status %d, want 404", resp.StatusCode)
				}
			})
		}
		wg.Wait()
		if n := up.count("/slow"); n != 1 {
			t.Errorf("upstream got %d packument requests, want 1: a young copy is not refreshed", n)
		}
	})
}

func TestConcurrentMisses(t *testing.T) {
	up := newFakeRegistry(t)
	want := up.publish("popular", "3.0.0", nil)
	m := newMirror(t, Config{Upstream: Upstream{URL: up.srv.URL}})
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 100 {
		wg.Go(func() {
			<-start
			resp, data := m.get(t, "/npm/popular/-/popular-3.0.0.tgz")
			if resp.StatusCode != 200 || !bytes.Equal(data, want) {
				t.Errorf("status %d, %d bytes", resp.StatusCode, len(data))
			}
		})
	}
	close(start)
	wg.Wait()
	if p, tb := up.count("/popular"), up.count("/popular/-/popular-3.0.0.tgz"); p != 1 || tb != 1 {
		t.Errorf("upstream got %d packument and %d tarball requests, want 1 and 1", p, tb)
	}
}

func TestScopeRouting(t *testing.T) {
	pub := newFakeRegistry(t)
	corp := newFakeRegistry(t)
	corp.token = "s3cret"
	pub.publish("public-pkg", "1.0.0", nil)
	secret := corp.publish("@corp/secret", "1.0.0", nil)
	corp.publish("@corp/leaky", "1.0.0", nil)
	// A private packument whose tarball points at the public registry.
	corp.pkgs["@corp/leaky"].versions["1.0.0"]["dist"].(map[string]any)["tarball"] = pub.srv.URL + "/@corp/leaky/-/leaky-1.0.0.tgz"
	m := newMirror(t, Config{Upstream: Upstream{URL: pub.srv.URL}, Scopes: map[string]Upstream{"@corp": {URL: corp.srv.URL, Token: "s3cret"}}})

	checks := []struct {
		path string
		code int
	}{
		{"/npm/@corp%2fsecret", 200},
		{"/npm/@corp/secret/-/secret-1.0.0.tgz", 200},
		{"/npm/@corp/secret/1.0.0", 200},
		{"/npm/@corp/missing", 404},
		{"/npm/@corp/leaky/-/leaky-1.0.0.tgz", 502},
		{"/npm/public-pkg", 200},
		// Scopes are routed ignoring case: never to the public registry.
		{"/npm/@CORP/secret", 404},
		{"/npm/@Corp%2Fother/-/other-1.0.0.tgz", 404},
	}
	for _, c := range checks {
		resp, data := m.get(t, c.path)
		if resp.StatusCode != c.code {
			t.Errorf("%s: status %d %s, want %d", c.path, resp.StatusCode, data, c.code)
		}
		if c.path == "/npm/@corp/secret/-/secret-1.0.0.tgz" && !bytes.Equal(data, secret) {
			t.Errorf("private tarball differs")
		}
	}
	pub.mu.Lock()
	for p := range pub.hits {
		if strings.Contains(strings.ToLower(p), "corp") {
			t.Errorf("the public registry was asked for %s", p)
		}
	}
	for _, a := range pub.auth {
		if a != "" {
			t.Errorf("the public registry got Authorization %q", a)
		}
	}
	pub.mu.Unlock()
	corp.mu.Lock()
	defer corp.mu.Unlock()
	if len(corp.auth) == 0 {
		t.Fatal("the private registry got no requests")
	}
	for _, a := range corp.auth {
		if a != "Bearer s3cret" {
			t.Errorf("the private registry got Authorization %q, want the token", a)
		}
	}
	for p := range corp.hits {
		if strings.Contains(p, "public") {
			t.Errorf("the private registry was asked for %s", p)
		}
	}
}

func TestBadInput(t *testing.T) {
	up := newFakeRegistry(t)
	up.publish("ok", "1.0.0", nil)
	up.override["huge"] = []byte(`{"name":"huge","versions":{},"padding":"` + strings.Repeat("x", 4096) + `"}`)
	up.override["garbage"] = []byte(`{"name":"garbage","versions":[1,2`)
	up.override["impostor"] = []byte(`{"name":"other","versions":{}}`)
	up.override["badversion"] = []byte(`{"name":"badversion","versions":{"1.0.0":"x"}}`)
	up.override["noshasum"] = []byte(`{"name":"noshasum","versions":{"1.0.0":{"dist":{"tarball":"` + up.srv.URL + `/noshasum/-/noshasum-1.0.0.tgz"}}}}`)
	m := newMirror(t, Config{Upstream: Upstream{URL: up.srv.URL}, MaxPackumentSize: 2048})
	before := up.total()
	tests := []struct {
		name, method, path string
		code               int
	}{
		{"traversal", "GET", "/npm/..%2f..%2fetc%2fpasswd", 400},
		{"dot dot", "GET", "/npm/%2e%2e", 400},
		{"traversal in tarball", "GET", "/npm/ok/-/..%2f..%2fx.tgz", 400},
		{"dot name", "GET", "/npm/.hidden", 400},
		{"underscore name", "GET", "/npm/_private", 400},
		{"space", "GET", "/npm/a%20b", 400},
		{"colon", "GET", "/npm/a:b", 400},
		{"scope alone", "GET", "/npm/@scope", 400},
		{"empty scope", "GET", "/npm/@%2fx", 400},
		{"scope with dot", "GET", "/npm/@.s/x", 400},
		{"reserved", "GET", "/npm/node_modules", 400},
		{"too long", "GET", "/npm/" + strings.Repeat("a", 215), 400},
		{"nul", "GET", "/npm/a%00b", 400},
		{"backslash", "GET", "/npm/a%5cb", 400},
		{"not a tgz", "GET", "/npm/ok/-/ok-1.0.0.tar", 400},
		{"bad spec", "GET", "/npm/ok/..", 400},
		{"empty segment", "GET", "/npm/ok//x", 400},
		{"unknown endpoint", "GET", "/npm/-/v1/search", 404},
		{"too deep", "GET", "/npm/ok/1.0.0/more", 404},
		{"root", "GET", "/npm/", 404},
		{"publish", "PUT", "/npm/ok", 405},
		{"delete", "DELETE", "/npm/ok/-/ok-1.0.0.tgz", 405},
		{"unknown version", "GET", "/npm/ok/2.0.0", 404},
		{"unknown tarball", "GET", "/npm/ok/-/ok-2.0.0.tgz", 404},
		{"unknown package", "GET", "/npm/nope", 404},
		{"huge packument", "GET", "/npm/huge", 502},
		{"malformed packument", "GET", "/npm/garbage", 502},
		{"packument of another package", "GET", "/npm/impostor", 502},
		{"version not an object", "GET", "/npm/badversion", 502},
		{"tarball without digest", "GET", "/npm/noshasum/-/noshasum-1.0.0.tgz", 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, data := m.do(t, tt.method, tt.path, nil)
			if resp.StatusCode != tt.code {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tt.code, data)
			}
			var e struct{ Error string }
			if json.Unmarshal(data, &e) != nil || e.Error == "" || strings.Contains(e.Error, "\n") {
				t.Errorf("body %q, want {\"error\": one line}", data)
			}
			if resp.StatusCode == 500 {
				t.Errorf("500 for bad input")
			}
		})
	}
	if n := up.total() - before; n > 9 {
		t.Errorf("bad input reached upstream %d times", n)
	}
	if r, _ := m.get(t, "/npm/a%20b"); r.StatusCode != 400 {
		t.Errorf("status %d", r.StatusCode)
	}
	if logs := m.log.String(); !strings.Contains(logs, "refused upstream file") || !strings.Contains(logs, "npm/packuments/huge") {
		t.Errorf("the huge packument was not logged as refused:\n%s", logs)
	}
	for _, name := range []string{"huge", "garbage", "impostor"} {
		if _, err := m.store.Get(t.Context(), "npm/packuments/"+name); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("refused packument %s stored: %v", name, err)
		}
	}
}

func TestHostAndPublicURL(t *testing.T) {
	up := newFakeRegistry(t)
	up.publish("x", "1.0.0", nil)
	m := newMirror(t, Config{Upstream: Upstream{URL: up.srv.URL}})
	_, data := m.get(t, "/npm/x", "X-Forwarded-Proto", "https")
	if u := decode[doc](t, data).Versions["1.0.0"].Dist.Tarball; !strings.HasPrefix(u, "https://127.0.0.1:") {
		t.Errorf("behind a TLS proxy: tarball %q", u)
	}
	m2 := newMirror(t, Config{Upstream: Upstream{URL: up.srv.URL}, PublicURL: "https://mirror.example/"})
	_, data = m2.get(t, "/npm/x")
	if u := decode[doc](t, data).Versions["1.0.0"].Dist.Tarball; u != "https://mirror.example/npm/x/-/x-1.0.0.tgz" {
		t.Errorf("with PublicURL: tarball %q", u)
	}
}

func TestConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no cache", Config{}, "Cache is required"},
		{"bad upstream", Config{Upstream: Upstream{URL: "ftp://x"}}, "upstream"},
		{"token in URL", Config{Upstream: Upstream{URL: "https://u:p@x/"}}, "user info"},
		{"bad scope", Config{Scopes: map[string]Upstream{"corp": {URL: "https://x/"}}}, `"corp" is not a scope`},
		{"negative TTL", Config{TTL: -1}, "TTL is negative"},
		{"bad public URL", Config{PublicURL: "mirror"}, "public URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestParseScopes(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/token"
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"GOMIRROR_NPM_TOKEN_CORP":         "from-env",
		"GOMIRROR_NPM_TOKEN_FILE_MY_TEAM": file,
	}
	got, err := ParseScopes("@corp=https://npm.corp.example/, @my-team=https://team.example/npm/,@open=http://o.example", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Upstream{
		"@corp":    {URL: "https://npm.corp.example/", Token: "from-env"},
		"@my-team": {URL: "https://team.example/npm/", Token: "from-file"},
		"@open":    {URL: "http://o.example"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %+v, want %+v", k, got[k], w)
		}
	}
	for _, bad := range []string{"corp=https://x/", "@corp", "@corp=ftp://x", "@a=https://x/,@a=https://y/", "@a/b=https://x/"} {
		if _, err := ParseScopes(bad, func(string) string { return "" }); err == nil {
			t.Errorf("ParseScopes(%q) succeeded", bad)
		}
	}
}
