package pull

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestHTTPUpstreamRetries(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := hits.Add(1)
		switch r.URL.Path {
		case "/flaky": // Fails twice, then answers.
			if n <= 2 {
				w.Header().Set("Retry-After", "0")
				http.Error(w, "try again", http.StatusServiceUnavailable)
				return
			}
			io.WriteString(w, "ok")
		case "/down":
			http.Error(w, "down", http.StatusBadGateway)
		case "/missing":
			http.NotFound(w, r)
		case "/patient":
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	defer srv.Close()
	tests := []struct {
		path     string
		retries  int
		method   string
		wantErr  bool
		wantHits int32
	}{
		{"/flaky", 2, http.MethodGet, false, 3},
		{"/flaky", 1, http.MethodGet, true, 2},
		{"/flaky", 0, http.MethodGet, true, 1},
		{"/flaky", -1, http.MethodGet, true, 1},
		{"/down", 3, http.MethodGet, true, 4},
		{"/down", 3, http.MethodHead, true, 4},
		{"/down", 3, http.MethodPost, true, 1},
		{"/missing", 3, http.MethodGet, true, 1},
		{"/patient", 3, http.MethodGet, true, 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s retries=%d", tt.method, tt.path, tt.retries), func(t *testing.T) {
			hits.Store(0)
			u := &HTTPUpstream{Client: srv.Client(), Retries: tt.retries, RetryDelay: time.Millisecond}
			req, _ := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, nil)
			resp, err := u.Do(t.Context(), req)
			if err == nil {
				resp.Body.Close()
			}
			if (err != nil) != tt.wantErr {
				t.Errorf("got error %v, want error: %v", err, tt.wantErr)
			}
			if got := hits.Load(); got != tt.wantHits {
				t.Errorf("got %d requests, want %d", got, tt.wantHits)
			}
		})
	}
}

func TestHTTPUpstreamRetriesConnectionErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var accepted atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close() // Reset before any header.
		}
	}()
	defer l.Close()
	u := &HTTPUpstream{Retries: 2, Client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
	_, err = u.Get(t.Context(), "http://"+l.Addr().String()+"/x", nil)
	if !errors.Is(err, ErrUpstream) || Status(err) != http.StatusBadGateway {
		t.Errorf("got %v (status %d), want a 502", err, Status(err))
	}
	// The transport retries a request on a fresh connection once by itself
	// when nothing was written back, so each attempt may be two accepts.
	if got := accepted.Load(); got < 3 || got > 6 {
		t.Errorf("got %d connections, want 3 attempts", got)
	}
}

func TestHTTPUpstreamGuard(t *testing.T) {
	// other is a server the configured upstream's answers point at.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "internal secret")
	}))
	defer other.Close()
	_, otherPort, _ := net.SplitHostPort(other.Listener.Addr().String())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			io.WriteString(w, "ok")
		case "/to-localhost":
			http.Redirect(w, r, "http://localhost:"+otherPort+"/", http.StatusFound)
		case "/to-self":
			http.Redirect(w, r, "/ok", http.StatusFound)
		}
	}))
	defer srv.Close()
	tests := []struct {
		name   string
		allow  []string
		url    string
		want   string // "" for success
		reason string
	}{
		{"configured host", nil, srv.URL + "/ok", "", ""},
		{"configured host, other port", nil, other.URL + "/", "", ""},
		{"redirect on the configured host", nil, srv.URL + "/to-self", "", ""},
		{"other host", nil, "http://localhost:" + otherPort + "/", "refused", "neither a configured upstream nor on the allow-list"},
		{"redirect to other host", nil, srv.URL + "/to-localhost", "refused", "redirect refused"},
		{"allowed host at a loopback address", []string{"localhost"}, "http://localhost:" + otherPort + "/", "refused", "non-public address"},
		{"redirect to allowed host at a loopback address", []string{"localhost"}, srv.URL + "/to-localhost", "refused", "non-public address"},
		{"file URL", nil, "file:///etc/passwd", "refused", "only http and https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &HTTPUpstream{Client: srv.Client(), Hosts: []string{srv.URL}, Allow: tt.allow}
			body, err := u.Get(t.Context(), tt.url, nil)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("got %v, want success", err)
				}
				body.Close()
				return
			}
			if err == nil {
				body.Close()
				t.Fatalf("got success, want refusal")
			}
			if !errors.Is(err, ErrRefused) || Status(err) != http.StatusBadGateway {
				t.Errorf("got %v (status %d), want a 502 refusal", err, Status(err))
			}
			if !strings.Contains(err.Error(), tt.reason) {
				t.Errorf("error %q does not say %q", err, tt.reason)
			}
			if strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q shows the refused body or is not one line", err)
			}
		})
	}
}

func TestGuardAllow(t *testing.T) {
	g := newGuard([]string{"https://Registry.example:8443/v2/"}, []string{"*.cdn.example", "files.example"})
	tests := []struct {
		host string
		want bool
	}{
		{"registry.example", true}, {"REGISTRY.example", true}, {"a.cdn.example", true}, {"a.b.cdn.example", true},
		{"cdn.example", false}, {"evilcdn.example", false}, {"files.example", true}, {"x.files.example", false}, {"other.example", false},
	}
	for _, tt := range tests {
		u := &url.URL{Scheme: "https", Host: tt.host + ":1234", Path: "/"}
		if got := g.check(u) == nil; got != tt.want {
			t.Errorf("%s: got allowed %v, want %v", tt.host, got, tt.want)
		}
	}
}

func TestPublicAddress(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", false}, {"::1", false}, {"10.1.2.3", false}, {"172.16.0.1", false}, {"192.168.1.1", false},
		{"169.254.169.254", false}, {"fe80::1", false}, {"fc00::1", false}, {"0.0.0.0", false}, {"::", false},
		{"100.64.0.1", false}, {"224.0.0.1", false}, {"::ffff:127.0.0.1", false}, {"::ffff:10.0.0.1", false},
		{"8.8.8.8", true}, {"2606:4700::1111", true}, {"151.101.0.223", true},
	}
	for _, tt := range tests {
		a, err := netipParse(tt.addr)
		if err != nil {
			t.Fatal(err)
		}
		if got := publicAddress(a); got != tt.want {
			t.Errorf("publicAddress(%s): got %v, want %v", tt.addr, got, tt.want)
		}
	}
}

// TestHTTPUpstreamHidesCredentials: an upstream with credentials in its
// URL that fails in every way shows them in no error and no log line.
func TestHTTPUpstreamHidesCredentials(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/500":
			http.Error(w, "broken", http.StatusInternalServerError)
		case "/404":
			http.NotFound(w, r)
		case "/hang":
			<-release
		case "/away":
			http.Redirect(w, r, "http://elsewhere.invalid/?token=s3cret", http.StatusFound)
		}
	}))
	defer srv.Close()
	defer close(release)
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()
	var log strings.Builder
	u := &HTTPUpstream{
		Client: srv.Client(), Retries: 1, HeaderTimeout: 200 * time.Millisecond,
		Hosts: []string{srv.URL}, Logger: newTextLogger(&log),
	}
	base, _ := url.Parse(srv.URL)
	for _, path := range []string{"/500", "/404", "/hang", "/away"} {
		target := "http://bob:s3cret@" + base.Host + path + "?token=s3cret"
		_, err := u.Get(t.Context(), target, nil)
		if err == nil || strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "bob") {
			t.Errorf("%s: got %v, want an error without the credentials", path, err)
		}
	}
	_, err := u.Get(t.Context(), "http://bob:s3cret@"+closedAddr+"/x?token=s3cret", nil)
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("refused connection: got %v, want an error without the credentials", err)
	}
	if strings.Contains(log.String(), "s3cret") || !strings.Contains(log.String(), "upstream retrying") {
		t.Errorf("log shows credentials or no retry:\n%s", log.String())
	}
}

func TestStaticAuth(t *testing.T) {
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.URL.Path+" "+r.Header.Get("Authorization"))
		if r.URL.Path == "/scoped/away" {
			http.Redirect(w, r, "http://localhost:"+r.URL.Query().Get("port")+"/landed", http.StatusFound)
		}
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	u := &HTTPUpstream{Client: srv.Client(), Auth: StaticAuth(Bearer(srv.URL+"/", "t1"), Bearer(srv.URL+"/scoped/", "t2"))}
	for _, p := range []string{"/a", "/scoped/b", "/scoped/away?port=" + port} {
		if body, err := u.Get(t.Context(), srv.URL+p, nil); err != nil {
			t.Fatal(err)
		} else {
			body.Close()
		}
	}
	want := []string{"/a Bearer t1", "/scoped/b Bearer t2", "/scoped/away Bearer t2", "/landed "}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("got %q, want %q", got, want)
	}
}

func netipParse(s string) (netip.Addr, error) { return netip.ParseAddr(s) }

func newTextLogger(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }

// FuzzGuardCheck: the guard never allows a host it was not given, and
// never panics.
func FuzzGuardCheck(f *testing.F) {
	for _, s := range []string{"https://registry.example/v2/", "http://evil.example:80/", "https://a.cdn.example/x", "http://[::1]/", "http://registry.example.:443/"} {
		f.Add(s)
	}
	g := newGuard([]string{"https://registry.example"}, []string{"*.cdn.example"})
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		if g.check(u) == nil {
			h := strings.ToLower(u.Hostname())
			if h != "registry.example" && !strings.HasSuffix(h, ".cdn.example") {
				t.Errorf("check(%q): allowed host %q", raw, h)
			}
		}
	})
}
