package oci

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/pull/pulltest"
	"github.com/gomirror/gomirror/internal/store/disk"
)

// mirrorOf returns a mirror of the one registry reg.test at upstream.
func mirrorOf(t *testing.T, upstream string, settings *pull.HTTPUpstream) *httptest.Server {
	return mirrorOfRegistry(t, Registry{Host: "reg.test", URL: upstream}, settings)
}

// mirrorOfRegistry returns a mirror of the one registry reg.
func mirrorOfRegistry(t *testing.T, reg Registry, settings *pull.HTTPUpstream) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	st, err := disk.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cache, err := pull.New(pull.Config{Store: st, TempDir: filepath.Join(dir, disk.TempDir), HotCacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Config{Cache: cache, Registries: []Registry{reg}, DefaultRegistry: reg.Host, HTTPUpstream: settings})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

const someDigest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"

func TestUpstreamHung(t *testing.T) {
	hung := pulltest.Hung(t)
	m := mirrorOf(t, hung.URL, &pull.HTTPUpstream{HeaderTimeout: 200 * time.Millisecond})
	for _, p := range []string{"/v2/team/app/manifests/latest", "/v2/team/app/blobs/" + someDigest, "/v2/team/app/tags/list"} {
		if code, body := get(t, m.URL+p); code != http.StatusGatewayTimeout {
			t.Errorf("%s: got %d %s, want 504", p, code, body)
		}
	}
}

func TestBlobRedirectElsewhereRefused(t *testing.T) {
	var hits atomic.Int32
	inside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "internal data")
	}))
	defer inside.Close()
	_, port, _ := net.SplitHostPort(inside.Listener.Addr().String())
	reg := httptest.NewServer(http.RedirectHandler("http://localhost:"+port+"/blob", http.StatusTemporaryRedirect))
	defer reg.Close()
	tests := []struct {
		allow  []string
		reason string
	}{
		{nil, "neither a configured upstream nor on the allow-list"},
		{[]string{"localhost"}, "non-public address"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.allow), func(t *testing.T) {
			m := mirrorOf(t, reg.URL, &pull.HTTPUpstream{Allow: tt.allow})
			code, body := get(t, m.URL+"/v2/team/app/blobs/"+someDigest)
			if code != http.StatusBadGateway || !strings.Contains(body, tt.reason) {
				t.Errorf("got %d %s, want 502 saying %q", code, body, tt.reason)
			}
			if n := hits.Load(); n != 0 {
				t.Errorf("the internal server got %d requests, want 0", n)
			}
		})
	}
}

func TestRegistryCredentialsNeverShown(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var tokenHost string
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.Contains(r.URL.Path, "/broken/"):
			http.Error(w, `{"errors":[{"code":"UNKNOWN","message":"broken"}]}`, http.StatusInternalServerError)
		case strings.Contains(r.URL.Path, "/hung/"):
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case strings.Contains(r.URL.Path, "/token/"):
			// The token service is down.
			w.Header().Set("WWW-Authenticate", `Bearer realm="http://`+tokenHost+`/token?access_token=s3cret",service="reg"`)
			w.WriteHeader(http.StatusUnauthorized)
		default:
			w.Header().Set("WWW-Authenticate", `Basic realm="reg"`)
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer reg.Close()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	tokenHost = closed.Addr().String()
	closed.Close()
	m := mirrorOfRegistry(t, Registry{Host: "reg.test", URL: reg.URL, Username: "bob", Password: "s3cret"},
		&pull.HTTPUpstream{HeaderTimeout: 300 * time.Millisecond, Retries: 1})
	for _, p := range []string{"/v2/broken/app/manifests/latest", "/v2/hung/app/blobs/" + someDigest, "/v2/token/app/tags/list", "/v2/denied/app/manifests/v1"} {
		code, body := get(t, m.URL+p)
		if code < 400 || strings.Contains(body, "s3cret") || strings.Contains(body, "bob") {
			t.Errorf("%s: got %d %s, want a failure without the credentials", p, code, body)
		}
	}
}

func TestTokenRealmElsewhereRefused(t *testing.T) {
	var hits atomic.Int32
	inside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, `{"token":"t"}`)
	}))
	defer inside.Close()
	_, port, _ := net.SplitHostPort(inside.Listener.Addr().String())
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="http://localhost:`+port+`/token",service="reg"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer reg.Close()
	m := mirrorOf(t, reg.URL, nil)
	code, body := get(t, m.URL+"/v2/team/app/manifests/latest")
	if code != http.StatusBadGateway || !strings.Contains(body, "token realm") {
		t.Errorf("got %d %s, want 502 refusing the token realm", code, body)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the internal server got %d requests, want 0", n)
	}
}
