package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/access"
	"github.com/gomirror/gomirror/internal/testca"
)

// Upstream credentials of the credentialed fakes below; none may appear
// in a page, a log line or an answer.
const (
	npmUpstreamToken = "npm-upstream-s3cret"
	pypiUpstreamPass = "pypi-upstream-s3cret"
	ociUpstreamPass  = "oci-upstream-s3cret"
)

// requireAuth serves next only to requests with the Authorization want,
// as a private registry does.
func requireAuth(want, challenge string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want {
			w.Header().Set("WWW-Authenticate", challenge)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// npmTarball returns an npm package tarball of name@version.
func npmTarball(t *testing.T, name, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	pj := fmt.Sprintf(`{"name":%q,"version":%q,"main":"index.js"}`, name, version)
	for file, body := range map[string]string{"package/package.json": pj, "package/index.js": "module.exports = 42;\n"} {
		tw.WriteHeader(&tar.Header{Name: file, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.Close()
	gz.Close()
	return buf.Bytes()
}

// fakePrivateNPM is a registry that serves @corp/secret to its token only.
func fakePrivateNPM(t *testing.T) (*httptest.Server, []byte) {
	t.Helper()
	tgz := npmTarball(t, "@corp/secret", "1.0.0")
	sha := sha1.Sum(tgz)
	integrity := sha512.Sum512(tgz)
	var srv *httptest.Server
	srv = httptest.NewServer(requireAuth("Bearer "+npmUpstreamToken, "Bearer", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.EscapedPath() {
		case "/@corp%2fsecret", "/@corp%2Fsecret", "/@corp/secret":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"name":"@corp/secret","dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"name":"@corp/secret","version":"1.0.0","dist":{"tarball":%q,"shasum":%q,"integrity":%q}}}}`,
				srv.URL+"/@corp/secret/-/secret-1.0.0.tgz", hex.EncodeToString(sha[:]), "sha512-"+base64.StdEncoding.EncodeToString(integrity[:]))
		case "/@corp/secret/-/secret-1.0.0.tgz":
			w.Write(tgz)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":"not found"}`)
		}
	})))
	t.Cleanup(srv.Close)
	return srv, tgz
}

// TestPrivateUpstreamsWithRealClients drives npm, pip and skopeo through
// a mirror whose upstreams need credentials: an npm scope with a token, a
// PyPI index with a password, a registry with --oci-auth-file
// credentials. What they serve is private: only the user a rule names
// gets it, anonymous clients get a 401, and no upstream credential shows
// in a page or the log.
func TestPrivateUpstreamsWithRealClients(t *testing.T) {
	ca := testca.New(t)
	dir := t.TempDir()
	certFile, keyFile := ca.WriteLeaf(t, dir, "mirror")
	caFile := ca.WriteCert(t, dir)
	const token = "gm_private_0123456789"

	npmUp, tgz := fakePrivateNPM(t)
	fake := newFakeEcosystems(t)
	pypiUp := httptest.NewServer(requireAuth("Basic "+base64.StdEncoding.EncodeToString([]byte("bot:"+pypiUpstreamPass)), `Basic realm="pypi"`, fake))
	t.Cleanup(pypiUp.Close)
	ociUp := httptest.NewServer(requireAuth("Basic "+base64.StdEncoding.EncodeToString([]byte("bot:"+ociUpstreamPass)), `Basic realm="registry"`,
		http.StripPrefix("", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
			fake.ServeHTTP(w, r)
		}))))
	t.Cleanup(ociUp.Close)

	tokens, rules, authFile := filepath.Join(dir, "tokens"), filepath.Join(dir, "rules.yaml"), filepath.Join(dir, "oci-auth.json")
	os.WriteFile(tokens, []byte("alice "+access.HashToken(token)+" dev\n"), 0o600)
	os.WriteFile(rules, []byte(`
rules:
  - groups: [dev]
    paths: ["@corp", corp-secret, registry.corp.test/corp]
    allow: true
  - groups: [all]
    allow: true
`), 0o600)
	os.WriteFile(authFile, []byte(`{"auths":{"registry.corp.test":{"auth":"`+base64.StdEncoding.EncodeToString([]byte("bot:"+ociUpstreamPass))+`"}}}`), 0o600)
	pypiIndex := strings.Replace(pypiUp.URL, "http://", "http://bot:"+pypiUpstreamPass+"@", 1) + "/pypi/simple/"
	m, hc := startTLSMirror(t, ca, certFile, keyFile, []string{"GOMIRROR_NPM_TOKEN_CORP=" + npmUpstreamToken},
		"--tokens", tokens, "--access-rules", rules,
		"--npm-scopes", "@corp="+npmUp.URL+"/",
		"--pypi-indexes", pypiIndex,
		"--oci-registries", "docker.io,registry.corp.test="+ociUp.URL, "--oci-auth-file", authFile)
	host := strings.TrimPrefix(m.URL, "https://")
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("alice:"+token+"\n"), 0o600)

	t.Run("npm", func(t *testing.T) {
		if _, err := exec.LookPath("npm"); err != nil {
			t.Skip("npm is not installed")
		}
		home := t.TempDir()
		env := clientEnv(home, "npm_config_cafile="+caFile, "npm_config_update_notifier=false", "npm_config_cache="+filepath.Join(home, "cache"), "npm_config_fetch_retries=0")
		gomirrorUse(t, env, "npm", m.URL+"/npm/", "--token-file", tokenFile)
		out, err := clientCmd(t, env, "npm", "pack", "@corp/secret@1.0.0", "--pack-destination", home)
		if err != nil {
			t.Fatalf("npm pack of the private scope with the token: %v\n%s", err, out)
		}
		if got, err := os.ReadFile(filepath.Join(home, "corp-secret-1.0.0.tgz")); err != nil || !bytes.Equal(got, tgz) {
			t.Errorf("npm pack: got %d bytes (%v), want the private tarball", len(got), err)
		}
		for _, name := range []string{"@corp/secret", "@CORP/secret"} {
			anon := clientEnv(t.TempDir(), "npm_config_cafile="+caFile, "npm_config_update_notifier=false", "npm_config_registry="+m.URL+"/npm/", "npm_config_fetch_retries=0")
			out, err = clientCmd(t, anon, "npm", "view", name, "version")
			if err == nil || !strings.Contains(out, "E401") {
				t.Errorf("npm view %s without the token: %v, want E401\n%s", name, err, out)
			}
		}
		resp, err := hc.Get(m.URL + "/npm/@corp/secret/-/secret-1.0.0.tgz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("anonymous GET of the private tarball: got %d, want 401", resp.StatusCode)
		}
	})

	t.Run("pip", func(t *testing.T) {
		if _, err := exec.LookPath("pip3"); err != nil {
			t.Skip("pip3 is not installed")
		}
		home := t.TempDir()
		conf := filepath.Join(home, "pip.conf")
		env := clientEnv(home, "PIP_CONFIG_FILE="+conf, "PIP_CERT="+caFile, "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1", "PIP_RETRIES=0")
		gomirrorUse(t, env, "pip", m.URL+"/pypi/simple/", "--token-file", tokenFile)
		dl := filepath.Join(home, "dl")
		out, err := clientCmd(t, env, "pip3", "download", "--no-deps", "--no-cache-dir", "-d", dl, "corp-secret==1.0")
		if err != nil {
			t.Fatalf("pip download with the index password: %v\n%s", err, out)
		}
		if got, err := os.ReadFile(filepath.Join(dl, fake.wheelName)); err != nil || !bytes.Equal(got, fake.wheel) {
			t.Errorf("pip downloaded %d bytes (%v), want the wheel", len(got), err)
		}
		anon := clientEnv(t.TempDir(), "PIP_CERT="+caFile, "PIP_INDEX_URL="+m.URL+"/pypi/simple/", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1", "PIP_RETRIES=0")
		out, err = clientCmd(t, anon, "pip3", "download", "--no-deps", "--no-cache-dir", "-d", t.TempDir(), "corp-secret==1.0")
		if err == nil || strings.Contains(out, "Saved") {
			t.Errorf("pip download without credentials succeeded:\n%s", out)
		}
		for _, p := range []string{"/pypi/simple/corp-secret/", "/pypi/simple/"} {
			resp, err := hc.Get(m.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("anonymous GET %s: got %d, want 401", p, resp.StatusCode)
			}
		}
	})

	t.Run("skopeo", func(t *testing.T) {
		if _, err := exec.LookPath("skopeo"); err != nil {
			t.Skip("skopeo is not installed")
		}
		home := t.TempDir()
		certDir := filepath.Join(home, "certs")
		os.MkdirAll(certDir, 0o755)
		os.WriteFile(filepath.Join(certDir, "ca.crt"), ca.CertPEM(), 0o644)
		env := clientEnv(home, "REGISTRY_AUTH_FILE="+filepath.Join(home, "none.json"), "XDG_RUNTIME_DIR="+home)
		ref := "docker://" + host + "/registry.corp.test/corp/app:v1"
		out, err := clientCmd(t, env, "skopeo", "inspect", "--cert-dir", certDir, "--creds", "alice:"+token, ref)
		if err != nil {
			t.Fatalf("skopeo inspect of the private repository with credentials: %v\n%s", err, out)
		}
		var info struct{ Digest, Architecture string }
		if err := json.Unmarshal([]byte(out), &info); err != nil || info.Digest != fake.manifestDg || info.Architecture != "amd64" {
			t.Errorf("skopeo inspect: got %+v (%v), want digest %s\n%s", info, err, fake.manifestDg, out)
		}
		out, err = clientCmd(t, env, "skopeo", "inspect", "--cert-dir", certDir, ref)
		if err == nil || !strings.Contains(strings.ToLower(out), "unauthorized") {
			t.Errorf("skopeo without credentials: %v, want unauthorized\n%s", err, out)
		}
	})

	for _, p := range []string{"/", "/status.json", "/mirrorz.json", "/jobs"} {
		resp, err := hc.Get(m.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		for _, secret := range []string{npmUpstreamToken, pypiUpstreamPass, ociUpstreamPass} {
			if strings.Contains(b.String(), secret) {
				t.Errorf("GET %s shows an upstream credential", p)
			}
		}
	}
	for _, secret := range []string{npmUpstreamToken, pypiUpstreamPass, ociUpstreamPass, token} {
		if strings.Contains(m.log.String(), secret) {
			t.Errorf("the mirror's log holds a credential")
		}
	}
}
