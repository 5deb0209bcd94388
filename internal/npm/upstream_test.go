package npm

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/pull/pulltest"
)

// withTarballURL makes the registry list name@version's tarball at u.
func (f *fakeRegistry) withTarballURL(name, version, u string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pkgs[name].versions[version]["dist"].(map[string]any)["tarball"] = u
}

func TestUpstreamHung(t *testing.T) {
	up := newFakeRegistry(t)
	up.publish("pkg", "1.0.0", nil)
	hung := pulltest.Hung(t)
	up.withTarballURL("pkg", "1.0.0", hung.URL+"/pkg/-/pkg-1.0.0.tgz")
	bounds := &pull.HTTPUpstream{Client: pulltest.LoopbackClient(t), HeaderTimeout: 200 * time.Millisecond, IdleTimeout: 200 * time.Millisecond}
	tests := []struct {
		name     string
		upstream string
		path     string
	}{
		{"packument", hung.URL, "/npm/pkg"},
		{"tarball", up.srv.URL, "/npm/pkg/-/pkg-1.0.0.tgz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMirror(t, Config{Upstream: Upstream{URL: tt.upstream}, HTTPUpstream: bounds.For(nil, nil)})
			resp, data := m.get(t, tt.path)
			if resp.StatusCode != http.StatusGatewayTimeout {
				t.Errorf("got %d %s, want 504", resp.StatusCode, data)
			}
		})
	}
}

func TestTarballElsewhereRefused(t *testing.T) {
	var hits atomic.Int32
	inside := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write([]byte("internal data"))
	}))
	defer inside.Close()
	_, port, _ := net.SplitHostPort(inside.Listener.Addr().String())
	redirector := httptest.NewServer(http.RedirectHandler("http://localhost:"+port+"/pkg/-/pkg-1.0.0.tgz", http.StatusFound))
	defer redirector.Close()
	_, rport, _ := net.SplitHostPort(redirector.Listener.Addr().String())
	tests := []struct {
		name    string
		tarball string
		allow   []string
		reason  string
	}{
		{"other host", "http://localhost:" + port + "/pkg/-/pkg-1.0.0.tgz", nil, "neither a configured upstream nor on the allow-list"},
		{"allowed host at a loopback address", "http://localhost:" + port + "/pkg/-/pkg-1.0.0.tgz", []string{"localhost"}, "non-public address"},
		{"redirect to other host", "http://127.0.0.1:" + rport + "/pkg/-/pkg-1.0.0.tgz", nil, "redirect refused"},
		{"link-local address", "http://169.254.169.254/pkg/-/pkg-1.0.0.tgz", []string{"169.254.169.254"}, "non-public address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits.Store(0)
			up := newFakeRegistry(t)
			up.publish("pkg", "1.0.0", nil)
			up.withTarballURL("pkg", "1.0.0", tt.tarball)
			m := newMirror(t, Config{Upstream: Upstream{URL: up.srv.URL}, HTTPUpstream: &pull.HTTPUpstream{Client: http.DefaultClient, Allow: tt.allow}})
			resp, data := m.get(t, "/npm/pkg/-/pkg-1.0.0.tgz")
			if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(data), tt.reason) {
				t.Errorf("got %d %s, want 502 saying %q", resp.StatusCode, data, tt.reason)
			}
			if n := hits.Load(); n != 0 {
				t.Errorf("the internal server got %d requests, want 0", n)
			}
		})
	}
}

func TestTokenNeverShown(t *testing.T) {
	corp := newFakeRegistry(t)
	corp.token = "s3cret-token"
	corp.publish("@corp/pkg", "1.0.0", nil)
	m := newMirror(t, Config{
		Upstream:     Upstream{URL: corp.srv.URL, Token: "s3cret-token"},
		Scopes:       map[string]Upstream{"@corp": {URL: corp.srv.URL, Token: "s3cret-token"}},
		HTTPUpstream: &pull.HTTPUpstream{Client: pulltest.LoopbackClient(t), Retries: 1},
	})
	corp.down.Store(true)
	for _, p := range []string{"/npm/@corp/pkg", "/npm/@corp/pkg/-/pkg-1.0.0.tgz", "/npm/other", "/npm/-/npm/v1/keys"} {
		resp, data := m.get(t, p)
		if resp.StatusCode < 500 || strings.Contains(string(data), "s3cret") {
			t.Errorf("%s: got %d %s, want a 5xx without the token", p, resp.StatusCode, data)
		}
	}
	if strings.Contains(m.log.String(), "s3cret") {
		t.Errorf("the log shows the token:\n%s", m.log.String())
	}
}

// TestPackumentMemoryReserved: decoding and rendering a packument reserve
// memory for its size from the budget, so that large ones at once wait
// for each other rather than add up.
func TestPackumentMemoryReserved(t *testing.T) {
	up := newFakeRegistry(t)
	for _, v := range []string{"1.0.0", "1.0.1", "1.1.0"} {
		up.publish("pkg", v, nil)
	}
	mem := pull.NewMemory(1 << 30)
	m := newMirror(t, Config{Upstream: Upstream{URL: up.srv.URL}, Memory: mem})
	resp, data := m.get(t, "/npm/pkg")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got %d %s", resp.StatusCode, data)
	}
	if got, want := mem.Peak(), int64(pull.MemoryFactor*len(data)/2); got < want || got > 1<<30 {
		t.Errorf("peak reservation: got %d bytes, want at least %d (the packument is %d bytes)", got, want, len(data))
	}
}
