package pypi

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/pull/pulltest"
	"github.com/gomirror/gomirror/internal/redact"
)

// onePage is an index that serves one project, demo, whose one file is at
// fileURL with the sha256 of data.
func onePage(t *testing.T, fileURL string, data []byte) *httptest.Server {
	s := sha256.Sum256(data)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/simple/demo/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", ContentTypeJSON)
		fmt.Fprintf(w, `{"meta":{"api-version":"1.1"},"name":"demo","files":[{"filename":"demo-1.0.tar.gz","url":%q,"hashes":{"sha256":%q}}]}`,
			fileURL, hex.EncodeToString(s[:]))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func filePath(data []byte) string {
	s := sha256.Sum256(data)
	return "/pypi/files/demo/" + hex.EncodeToString(s[:]) + "/demo-1.0.tar.gz"
}

func TestUpstreamHung(t *testing.T) {
	hung := pulltest.Hung(t)
	data := []byte("demo sdist")
	page := onePage(t, hung.URL+"/demo-1.0.tar.gz", data)
	tests := []struct {
		name  string
		index string
		path  string
	}{
		{"project page", hung.URL + "/simple/", "/pypi/simple/demo/"},
		{"file", page.URL + "/simple/", filePath(data)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMirror(t, Config{Indexes: []string{tt.index}, HTTPUpstream: &pull.HTTPUpstream{HeaderTimeout: 200 * time.Millisecond}})
			if tt.path != "/pypi/simple/demo/" {
				if resp, body := m.get(t, "/pypi/simple/demo/", pipAccept); resp.StatusCode != 200 {
					t.Fatalf("page: got %s %s", resp.Status, body)
				}
			}
			resp, body := m.get(t, tt.path, pipAccept)
			if resp.StatusCode != http.StatusGatewayTimeout {
				t.Errorf("got %s %s, want 504", resp.Status, body)
			}
		})
	}
}

func TestFileElsewhereRefused(t *testing.T) {
	var hits atomic.Int32
	secret := []byte("internal data")
	inside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(secret)
	}))
	defer inside.Close()
	_, port, _ := net.SplitHostPort(inside.Listener.Addr().String())
	redirector := httptest.NewServer(http.RedirectHandler("http://localhost:"+port+"/demo-1.0.tar.gz", http.StatusFound))
	defer redirector.Close()
	tests := []struct {
		name    string
		fileURL string
		allow   []string
		reason  string
	}{
		{"other host", "http://localhost:" + port + "/demo-1.0.tar.gz", nil, "neither a configured upstream nor on the allow-list"},
		{"allowed host at a loopback address", "http://localhost:" + port + "/demo-1.0.tar.gz", []string{"localhost"}, "non-public address"},
		{"redirect to other host", redirector.URL + "/demo-1.0.tar.gz", nil, "redirect refused"},
		{"metadata service", "http://169.254.169.254/demo-1.0.tar.gz", []string{"169.254.169.254"}, "non-public address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits.Store(0)
			// The listed hash is of the secret: a mirror that fetched it
			// would serve it.
			ix := onePage(t, tt.fileURL, secret)
			m := newMirror(t, Config{Indexes: []string{ix.URL + "/simple/"}, HTTPUpstream: &pull.HTTPUpstream{Allow: tt.allow}})
			if resp, body := m.get(t, "/pypi/simple/demo/", pipAccept); resp.StatusCode != 200 {
				t.Fatalf("page: got %s %s", resp.Status, body)
			}
			resp, body := m.get(t, filePath(secret), "")
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), tt.reason) {
				t.Errorf("got %s %s, want 502 saying %q", resp.Status, body, tt.reason)
			}
			if n := hits.Load(); n != 0 {
				t.Errorf("the internal server got %d requests, want 0", n)
			}
		})
	}
}

func TestIndexCredentialsNeverShown(t *testing.T) {
	var auth atomic.Value
	auth.Store("")
	release := make(chan struct{})
	defer close(release)
	idx := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pw, _ := r.BasicAuth()
		auth.Store(user + ":" + pw)
		switch r.URL.Path {
		case "/simple/broken/":
			http.Error(w, "broken", http.StatusInternalServerError)
		case "/simple/hung/":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/simple/away/":
			http.Redirect(w, r, "http://elsewhere.invalid/simple/away/", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	defer idx.Close()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()
	host := strings.TrimPrefix(idx.URL, "http://")
	settings := &pull.HTTPUpstream{HeaderTimeout: 300 * time.Millisecond, Retries: 1}
	tests := []struct {
		index, path string
	}{
		{"http://bob:s3cret@" + host + "/simple/", "/pypi/simple/broken/"},
		{"http://bob:s3cret@" + host + "/simple/", "/pypi/simple/hung/"},
		{"http://bob:s3cret@" + host + "/simple/", "/pypi/simple/away/"},
		{"http://bob:s3cret@" + host + "/simple/", "/pypi/simple/missing/"},
		{"http://bob:s3cret@" + closedAddr + "/simple/", "/pypi/simple/demo/"},
	}
	for _, tt := range tests {
		t.Run(tt.path+" on "+redact.BareString(tt.index), func(t *testing.T) {
			m := newMirror(t, Config{Indexes: []string{tt.index}, HTTPUpstream: settings.For(nil, nil)})
			resp, body := m.get(t, tt.path, pipAccept)
			if resp.StatusCode == 200 || strings.Contains(string(body), "s3cret") || strings.Contains(string(body), "bob") {
				t.Errorf("got %s %s, want a failure without the credentials", resp.Status, body)
			}
			if strings.Contains(m.logs.String(), "s3cret") {
				t.Errorf("the log shows the password:\n%s", m.logs.String())
			}
		})
	}
	if got := auth.Load(); got != "bob:s3cret" {
		t.Errorf("the index got credentials %q, want bob:s3cret", got)
	}
}

// TestPageMemoryReserved: decoding a project page reserves memory for
// its size from the budget.
func TestPageMemoryReserved(t *testing.T) {
	data := []byte("demo sdist")
	ix := onePage(t, "/demo-1.0.tar.gz", data)
	mem := pull.NewMemory(1 << 30)
	m := newMirror(t, Config{Indexes: []string{ix.URL + "/simple/"}, Memory: mem})
	resp, body := m.get(t, "/pypi/simple/demo/", pipAccept)
	if resp.StatusCode != 200 {
		t.Fatalf("got %s %s", resp.Status, body)
	}
	if got, want := mem.Peak(), int64(pull.MemoryFactor*100); got < want || got > 1<<30 {
		t.Errorf("peak reservation: got %d bytes, want at least %d", got, want)
	}
}
