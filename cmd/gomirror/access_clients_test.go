package main

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/access"
	"github.com/gomirror/gomirror/internal/npm"
	"github.com/gomirror/gomirror/internal/oci"
	"github.com/gomirror/gomirror/internal/pypi"
	"github.com/gomirror/gomirror/internal/testca"
)

// The ecosystems below (/pypi/, /npm/, /v2/) are served by their own
// packages; these tests put the access guard in front of small fakes of
// their URL shapes and drive the real clients through it over HTTPS, with
// the credentials that `gomirror use --token-file` writes.

// fakeEcosystems serves one private package of each ecosystem: the npm
// packument of @corp/secret, the PyPI project corp-secret with one wheel,
// and the image docker.io/corp/app:v1.
type fakeEcosystems struct {
	wheel      []byte
	wheelName  string
	manifest   []byte
	config     []byte
	mu         sync.Mutex
	seenAuth   map[string]bool // paths that reached the fake
	configDig  string
	manifestDg string
}

func newFakeEcosystems(t *testing.T) *fakeEcosystems {
	t.Helper()
	f := &fakeEcosystems{wheelName: "corp_secret-1.0-py3-none-any.whl", seenAuth: map[string]bool{}}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, body := range map[string]string{
		"corp_secret/__init__.py":            "SECRET = 42\n",
		"corp_secret-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: corp-secret\nVersion: 1.0\n",
		"corp_secret-1.0.dist-info/WHEEL":    "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
		"corp_secret-1.0.dist-info/RECORD":   "",
	} {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	zw.Close()
	f.wheel = buf.Bytes()
	f.config = []byte(`{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}`)
	f.configDig = digest(f.config)
	f.manifest = []byte(fmt.Sprintf(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":%q,"size":%d},"layers":[]}`, f.configDig, len(f.config)))
	f.manifestDg = digest(f.manifest)
	return f
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (f *fakeEcosystems) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.seenAuth[r.URL.Path] = true
	f.mu.Unlock()
	wheelSum := strings.TrimPrefix(digest(f.wheel), "sha256:")
	switch p := r.URL.Path; {
	case p == "/npm/@corp/secret" || p == "/npm/@corp%2fsecret":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"name":"@corp/secret","dist-tags":{"latest":"1.0.0"},"versions":{"1.0.0":{"name":"@corp/secret","version":"1.0.0","dist":{"tarball":"https://example.invalid/x.tgz","shasum":"0000000000000000000000000000000000000000"}}}}`)
	case p == "/pypi/simple/corp-secret/":
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!DOCTYPE html><html><body><a href="../../files/corp-secret/%s/%s#sha256=%s">%s</a></body></html>`, wheelSum, f.wheelName, wheelSum, f.wheelName)
	case p == "/pypi/files/corp-secret/"+wheelSum+"/"+f.wheelName:
		w.Write(f.wheel)
	case p == "/v2/" || p == "/v2":
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		fmt.Fprint(w, "{}")
	case p == "/v2/corp/app/manifests/v1" || p == "/v2/corp/app/manifests/"+f.manifestDg:
		w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
		w.Header().Set("Docker-Content-Digest", f.manifestDg)
		w.Write(f.manifest)
	case p == "/v2/corp/app/tags/list":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"name":"corp/app","tags":["v1"]}`)
	case p == "/v2/corp/app/blobs/"+f.configDig:
		w.Write(f.config)
	default:
		http.NotFound(w, r)
	}
}

// guardedServer serves f behind a Guard, over HTTPS with a certificate of
// ca, and returns its URL and the audit log's file.
func guardedServer(t *testing.T, ca *testca.CA, f http.Handler, token string) (string, string) {
	t.Helper()
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens")
	os.WriteFile(tokens, []byte("alice "+access.HashToken(token)+" dev\n"), 0o600)
	rules, err := access.ParseRules([]byte(`
rules:
  - groups: [dev]
    paths: ["@corp", corp-secret, docker.io/corp]
    allow: true
  - groups: [all]
    ecosystem: oci
    paths: ["*"]
    allow: false
`))
	if err != nil {
		t.Fatal(err)
	}
	auth, err := access.NewAuthenticator(access.AuthenticatorConfig{Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	auditFile := filepath.Join(dir, "audit.log")
	af, err := os.Create(auditFile)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { af.Close() })
	g, err := access.New(f, access.Config{
		Auth: auth, Rules: func() *access.Rules { return rules }, Audit: slog.New(slog.NewJSONHandler(af, nil)),
		AuthFailures: access.Rate{N: 1000, Per: time.Minute},
		Errors:       map[string]access.ErrorWriter{"oci": oci.WriteError, "npm": npm.WriteError},
		Classify: func(r *http.Request) access.Subject {
			switch p := r.URL.Path; {
			case strings.HasPrefix(p, "/npm/"):
				name, _ := npm.Subject(r)
				return access.Subject{Ecosystem: "npm", Name: name}
			case strings.HasPrefix(p, "/pypi/"):
				name, _ := pypi.Subject(r)
				return access.Subject{Ecosystem: "pypi", Name: name}
			case strings.HasPrefix(p, "/v2"):
				name, _ := oci.Subject(r, "docker.io")
				return access.Subject{Ecosystem: "oci", Name: name, Probe: p == "/v2/" || p == "/v2"}
			}
			return access.Subject{Ecosystem: "other"}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	cert, key := ca.Leaf(t, "mirror")
	pair, err := tls.X509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(g)
	srv.EnableHTTP2 = true
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}}
	// Clients that probe and hang up make handshake errors: not the test's.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv.URL, auditFile
}

// gomirrorUse runs `gomirror use` in this process with env.
func gomirrorUse(t *testing.T, env []string, args ...string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := run(context.Background(), append([]string{"use"}, args...), env, nil, &out, &errb); code != 0 {
		t.Fatalf("gomirror use %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errb.String())
	}
}

// clientEnv is the environment of a real client: the test's, less the
// machine's own certificate, proxy and index settings, with home as HOME.
func clientEnv(home string, extra ...string) []string {
	var env []string
	for _, kv := range baseEnv() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case k == "HOME", k == "NODE_EXTRA_CA_CERTS", k == "REQUESTS_CA_BUNDLE", k == "CURL_CA_BUNDLE", k == "SSL_CERT_DIR",
			k == "SSL_CERT_FILE", strings.HasPrefix(k, "PIP_"), strings.HasPrefix(strings.ToLower(k), "npm_config_"), k == "REGISTRY_AUTH_FILE":
			continue
		}
		env = append(env, kv)
	}
	return append(append(env, "HOME="+home), extra...)
}

func clientCmd(t *testing.T, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestRealClientsWithTokens(t *testing.T) {
	ca := testca.New(t)
	const token = "gm_clients_0123456789"
	fake := newFakeEcosystems(t)
	base, auditFile := guardedServer(t, ca, fake, token)
	dir := t.TempDir()
	caFile := ca.WriteCert(t, dir)
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte("alice:"+token+"\n"), 0o600)

	t.Run("npm", func(t *testing.T) {
		if _, err := exec.LookPath("npm"); err != nil {
			t.Skip("npm is not installed")
		}
		home := t.TempDir()
		env := clientEnv(home, "npm_config_cafile="+caFile, "npm_config_update_notifier=false", "npm_config_cache="+filepath.Join(home, "cache"))
		gomirrorUse(t, env, "npm", base+"/npm/", "--token-file", tokenFile)
		out, err := clientCmd(t, env, "npm", "view", "@corp/secret", "version")
		if err != nil || strings.TrimSpace(out) != "1.0.0" {
			t.Errorf("npm view with the token: %v\n%s", err, out)
		}
		anon := clientEnv(t.TempDir(), "npm_config_cafile="+caFile, "npm_config_update_notifier=false", "npm_config_registry="+base+"/npm/", "npm_config_fetch_retries=0")
		out, err = clientCmd(t, anon, "npm", "view", "@corp/secret", "version")
		if err == nil || !strings.Contains(out, "E401") {
			t.Errorf("npm view without the token: %v, want E401\n%s", err, out)
		}
	})

	t.Run("pip", func(t *testing.T) {
		if _, err := exec.LookPath("pip3"); err != nil {
			t.Skip("pip3 is not installed")
		}
		home := t.TempDir()
		conf := filepath.Join(home, "pip.conf")
		env := clientEnv(home, "PIP_CONFIG_FILE="+conf, "PIP_CERT="+caFile, "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1", "PIP_RETRIES=0")
		gomirrorUse(t, env, "pip", base+"/pypi/simple/", "--token-file", tokenFile)
		dl := filepath.Join(home, "dl")
		out, err := clientCmd(t, env, "pip3", "download", "--no-deps", "--no-cache-dir", "-d", dl, "corp-secret==1.0")
		if err != nil {
			t.Fatalf("pip download with credentials in the index URL: %v\n%s", err, out)
		}
		if got, err := os.ReadFile(filepath.Join(dl, fake.wheelName)); err != nil || !bytes.Equal(got, fake.wheel) {
			t.Errorf("pip downloaded %d bytes (%v), want the wheel", len(got), err)
		}
		anon := clientEnv(t.TempDir(), "PIP_CERT="+caFile, "PIP_INDEX_URL="+base+"/pypi/simple/", "PIP_DISABLE_PIP_VERSION_CHECK=1", "PIP_NO_INPUT=1", "PIP_RETRIES=0")
		out, err = clientCmd(t, anon, "pip3", "download", "--no-deps", "--no-cache-dir", "-d", t.TempDir(), "corp-secret==1.0")
		if err == nil || strings.Contains(out, "Saved") {
			t.Errorf("pip download without credentials succeeded:\n%s", out)
		}
		// pip reports a 401 from an index as "no versions": the audit log
		// says what happened.
		if data, _ := os.ReadFile(auditFile); !strings.Contains(string(data), `"event":"denied","user":"","remote":"127.0.0.1","method":"GET","path":"/pypi/simple/corp-secret/"`) {
			t.Errorf("no denial of pip's anonymous request in the audit log:\n%s", data)
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
		authFile := filepath.Join(home, "auth.json")
		env := clientEnv(home, "REGISTRY_AUTH_FILE="+authFile, "XDG_RUNTIME_DIR="+home)
		gomirrorUse(t, env, "docker", base, "--file", filepath.Join(home, "daemon.json"), "--token-file", tokenFile)
		ref := "docker://" + strings.TrimPrefix(base, "https://") + "/corp/app:v1"
		for _, args := range [][]string{
			{"inspect", "--cert-dir", certDir, "--authfile", authFile, ref},
			{"inspect", "--cert-dir", certDir, "--creds", "alice:" + token, ref},
		} {
			out, err := clientCmd(t, env, "skopeo", args...)
			if err != nil {
				t.Errorf("skopeo %s: %v\n%s", args[len(args)-2], err, out)
				continue
			}
			var info struct{ Digest, Architecture string }
			if err := json.Unmarshal([]byte(out), &info); err != nil || info.Digest != fake.manifestDg || info.Architecture != "amd64" {
				t.Errorf("skopeo inspect: got %+v (%v), want digest %s\n%s", info, err, fake.manifestDg, out)
			}
		}
		out, err := clientCmd(t, clientEnv(t.TempDir(), "REGISTRY_AUTH_FILE="+filepath.Join(t.TempDir(), "none.json")), "skopeo", "inspect", "--cert-dir", certDir, ref)
		if err == nil || !strings.Contains(strings.ToLower(out), "unauthorized") {
			t.Errorf("skopeo without credentials: %v, want unauthorized\n%s", err, out)
		}
		out, err = clientCmd(t, env, "skopeo", "inspect", "--cert-dir", certDir, "--creds", "alice:wrong", ref)
		if err == nil || !strings.Contains(strings.ToLower(out), "unauthorized") {
			t.Errorf("skopeo with wrong credentials: %v, want unauthorized\n%s", err, out)
		}
	})

	data, err := os.ReadFile(auditFile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), token) {
		t.Errorf("the audit log holds the token")
	}
}
