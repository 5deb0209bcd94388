package access

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/store/disk"
)

// secret is the content every test handler serves; no refusal may hold it.
const secret = "PRIVATE-BYTES"

// auditLog collects audit events.
type auditLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (a *auditLog) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.buf.Write(p)
}

func (a *auditLog) events() []map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []map[string]any
	for line := range strings.Lines(a.buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err == nil {
			out = append(out, m)
		}
	}
	return out
}

// has reports whether an event has every given attribute.
func (a *auditLog) has(attrs map[string]any) bool {
	for _, e := range a.events() {
		ok := true
		for k, v := range attrs {
			if fmt.Sprint(e[k]) != fmt.Sprint(v) {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// testSubjects are the subjects of the tests' made-up routes, as the
// ecosystems' own parsers name them (the server wires those parsers in;
// this package knows none): /v2/ (oci), /npm/, /pypi/, /metrics, and Go
// modules under / with private ones under corp.example.com. Any other
// path is a malformed module path.
var testSubjects = map[string]Subject{
	"/healthz":                             {Ecosystem: EcosystemHealth},
	"/metrics":                             {Ecosystem: EcosystemOps, Name: "metrics"},
	"/v2":                                  {Ecosystem: "oci", Probe: true},
	"/v2/":                                 {Ecosystem: "oci", Probe: true},
	"/v2/GHCR.IO/corp/app/manifests/v1":    {Ecosystem: "oci", Name: "ghcr.io/corp/app"},
	"/v2/ghcr.io/corp/app/manifests/v1":    {Ecosystem: "oci", Name: "ghcr.io/corp/app"},
	"/v2/corp/app/manifests/v1?ns=GHCR.IO": {Ecosystem: "oci", Name: "ghcr.io/corp/app"},
	"/v2/corp/app/manifests/v1?ns=ghcr.io": {Ecosystem: "oci", Name: "ghcr.io/corp/app"},
	"/v2/alpine/manifests/latest":          {Ecosystem: "oci", Name: "docker.io/library/alpine"},
	"/npm/":                                {Ecosystem: "npm"},
	"/npm/%40corp%2fsecret":                {Ecosystem: "npm", Name: "@corp/secret"},
	"/npm/@corp%2Fsecret":                  {Ecosystem: "npm", Name: "@corp/secret"},
	"/npm/@corp/secret":                    {Ecosystem: "npm", Name: "@corp/secret"},
	"/npm/left-pad":                        {Ecosystem: "npm", Name: "left-pad"},
	"/pypi/":                               {Ecosystem: "pypi"},
	"/pypi/simple/Corp_Secret/":            {Ecosystem: "pypi", Name: "corp-secret"},
	"/pypi/simple/corp-secret/":            {Ecosystem: "pypi", Name: "corp-secret"},
	"/golang.org/x/text/@v/list":           {Ecosystem: "go", Name: "golang.org/x/text"},
	"/corp.example.com/lib/@v/list":        {Ecosystem: "go", Name: "corp.example.com/lib", Private: true},
	"/corp.example.com/lib/@v/v1.0.0.zip":  {Ecosystem: "go", Name: "corp.example.com/lib", Private: true},
	"/corp.example.com/!lib/@v/list":       {Ecosystem: "go", Name: "corp.example.com/Lib", Private: true},
}

// testErrors stand for the ecosystems' own error writers, which the
// server wires in.
var testErrors = map[string]ErrorWriter{
	"oci": func(w http.ResponseWriter, r *http.Request, code int, reason string) {
		code2 := map[int]string{401: "UNAUTHORIZED", 429: "TOOMANYREQUESTS", 404: "NAME_UNKNOWN"}[code]
		if code2 == "" {
			code2 = "DENIED"
		}
		body, _ := json.Marshal(map[string]any{"errors": []map[string]any{{"code": code2, "message": reason, "detail": nil}}})
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write(append(body, '\n'))
	},
	"npm": func(w http.ResponseWriter, r *http.Request, code int, reason string) {
		body, _ := json.Marshal(map[string]string{"error": reason})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		w.Write(append(body, '\n'))
	},
}

func testClassifier(r *http.Request) Subject {
	key := r.URL.EscapedPath()
	if ns := r.URL.Query().Get("ns"); ns != "" {
		key += "?ns=" + ns
	}
	if s, ok := testSubjects[key]; ok {
		return s
	}
	return Subject{Ecosystem: "go", Invalid: true}
}

const guardRules = `
rules:
  - users: [alice]
    paths: [corp.example.com, "ghcr.io/corp", "@corp", corp-secret]
    allow: true
  - paths: [corp.example.com, "ghcr.io/corp", "@corp", corp-secret]
    allow: false
  - users: [ops]
    ecosystem: ops
    allow: true
  - groups: [all]
    allow: true
`

type guardFixture struct {
	g     *Guard
	h     http.Handler
	audit *auditLog
	clk   *clock
	hits  map[string]int
	mu    sync.Mutex
}

func newGuardFixture(t *testing.T, edit func(*Config)) *guardFixture {
	t.Helper()
	dir := t.TempDir()
	pw, tk := filepath.Join(dir, "htpasswd"), filepath.Join(dir, "tokens")
	os.WriteFile(pw, []byte(bcryptLine(t, "alice", "wonderland")+bcryptLine(t, "bob", "builder")+bcryptLine(t, "ops", "metrics")), 0o600)
	os.WriteFile(tk, []byte("alice "+HashToken("gm_alice")+"\n"), 0o600)
	rules, err := ParseRules([]byte(guardRules))
	if err != nil {
		t.Fatal(err)
	}
	f := &guardFixture{audit: &auditLog{}, clk: newClock(), hits: map[string]int{}}
	auth, err := NewAuthenticator(AuthenticatorConfig{Htpasswd: pw, Tokens: tk, Now: f.clk.now})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{
		Classify: testClassifier, Auth: auth, Rules: func() *Rules { return rules }, Errors: testErrors,
		AuthFailures: Rate{N: 3, Per: time.Minute}, Audit: slog.New(slog.NewJSONHandler(f.audit, nil)), Now: f.clk.now,
	}
	if edit != nil {
		edit(&cfg)
	}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := FromContext(r.Context())
		f.mu.Lock()
		f.hits[r.URL.Path]++
		f.mu.Unlock()
		fmt.Fprintf(w, "%s for %q", secret, id.User)
	})
	f.g, err = New(next, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.h = f.g
	return f
}

func (f *guardFixture) do(method, target string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	r.RemoteAddr = "192.0.2.7:4242"
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

func basic(user, pass string) string { return "Basic " + b64(user+":"+pass) }

func TestGuardDecisions(t *testing.T) {
	f := newGuardFixture(t, nil)
	tests := []struct {
		name, path string
		hdr        []string
		code       int
		user       string // who the handler saw, for 200s
	}{
		{"public anonymous", "/golang.org/x/text/@v/list", nil, 200, ""},
		{"public with password", "/golang.org/x/text/@v/list", []string{"Authorization", basic("bob", "builder")}, 200, "bob"},
		{"private anonymous", "/corp.example.com/lib/@v/list", nil, 401, ""},
		{"private for alice", "/corp.example.com/lib/@v/list", []string{"Authorization", basic("alice", "wonderland")}, 200, "alice"},
		{"private for alice by bearer token", "/corp.example.com/lib/@v/list", []string{"Authorization", "Bearer gm_alice"}, 200, "alice"},
		{"private for alice, token as password", "/corp.example.com/lib/@v/list", []string{"Authorization", basic("x", "gm_alice")}, 200, "alice"},
		{"private for bob", "/corp.example.com/lib/@v/list", []string{"Authorization", basic("bob", "builder")}, 403, ""},
		{"private through case encoding", "/corp.example.com/!lib/@v/list", []string{"Authorization", basic("bob", "builder")}, 403, ""},
		{"oci private for bob", "/v2/ghcr.io/corp/app/manifests/v1", []string{"Authorization", basic("bob", "builder")}, 403, ""},
		{"oci private through ns", "/v2/corp/app/manifests/v1?ns=GHCR.IO", []string{"Authorization", basic("bob", "builder")}, 403, ""},
		{"oci private for alice", "/v2/ghcr.io/corp/app/manifests/v1", []string{"Authorization", basic("alice", "wonderland")}, 200, "alice"},
		{"oci public", "/v2/alpine/manifests/latest", nil, 200, ""},
		{"oci probe without credentials", "/v2/", nil, 401, ""},
		{"oci probe with empty credentials", "/v2/", []string{"Authorization", basic("", "")}, 401, ""},
		{"oci probe with credentials", "/v2/", []string{"Authorization", basic("bob", "builder")}, 200, "bob"},
		{"npm private scope", "/npm/@corp%2Fsecret", nil, 401, ""},
		{"npm private scope by token", "/npm/@corp/secret", []string{"Authorization", "Bearer gm_alice"}, 200, "alice"},
		{"pypi private, other spelling", "/pypi/simple/Corp_Secret/", nil, 401, ""},
		{"metrics for ops", "/metrics", []string{"Authorization", basic("ops", "metrics")}, 200, "ops"},
		{"metrics not for bob", "/metrics", []string{"Authorization", basic("bob", "builder")}, 403, ""},
		{"health for anyone", "/healthz", nil, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do("GET", tt.path, tt.hdr...)
			if w.Code != tt.code {
				t.Fatalf("got %d (%s), want %d", w.Code, w.Body, tt.code)
			}
			if tt.code == 200 {
				if want := fmt.Sprintf("for %q", tt.user); !strings.Contains(w.Body.String(), want) {
					t.Errorf("handler saw %s, want user %q", w.Body, tt.user)
				}
				return
			}
			if strings.Contains(w.Body.String(), secret) {
				t.Errorf("a refusal holds content: %s", w.Body)
			}
		})
	}
	if !f.audit.has(map[string]any{"event": EventPrivateRead, "user": "alice", "subject": "corp.example.com/lib", "remote": "192.0.2.7"}) {
		t.Errorf("no private read event; events: %v", f.audit.events())
	}
	if !f.audit.has(map[string]any{"event": EventDenied, "user": "bob", "subject": "corp.example.com/Lib", "rule": 1}) {
		t.Errorf("no denial event for the case-encoded path; events: %v", f.audit.events())
	}
}

func TestGuardDialects(t *testing.T) {
	f := newGuardFixture(t, nil)
	tests := []struct {
		name, path, ctype, body string
	}{
		{"go", "/corp.example.com/lib/@v/list", "text/plain; charset=utf-8", "authentication required\n"},
		{"pypi", "/pypi/simple/corp-secret/", "text/plain; charset=utf-8", "authentication required\n"},
		{"oci", "/v2/", "application/json", `{"errors":[{"code":"UNAUTHORIZED","detail":null,"message":"authentication required"}]}` + "\n"},
		{"npm", "/npm/@corp/secret", "application/json", `{"error":"authentication required"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do("GET", tt.path)
			if w.Code != 401 || w.Header().Get("WWW-Authenticate") != `Basic realm="gomirror", charset="UTF-8"` {
				t.Errorf("got %d with challenge %q, want 401 with a Basic challenge", w.Code, w.Header().Get("WWW-Authenticate"))
			}
			if got := w.Header().Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type: got %q, want %q", got, tt.ctype)
			}
			if w.Body.String() != tt.body {
				t.Errorf("body: got %q, want %q", w.Body, tt.body)
			}
		})
	}
	if w := f.do("GET", "/v2/"); w.Header().Get("Docker-Distribution-API-Version") != "registry/2.0" {
		t.Errorf("the /v2/ challenge lacks Docker-Distribution-API-Version")
	}
}

func TestGuardBruteForce(t *testing.T) {
	f := newGuardFixture(t, nil)
	for i := range 3 {
		w := f.do("GET", "/golang.org/x/text/@v/list", "Authorization", basic("alice", fmt.Sprint("guess", i)))
		if w.Code != 401 {
			t.Fatalf("guess %d: got %d, want 401", i, w.Code)
		}
	}
	// The budget is spent: even the right password waits, and nothing
	// is checked.
	for _, path := range []string{"/golang.org/x/text/@v/list", "/v2/alpine/manifests/latest", "/npm/left-pad"} {
		w := f.do("GET", path, "Authorization", basic("alice", "wonderland"))
		if w.Code != 429 || w.Header().Get("Retry-After") == "" {
			t.Errorf("%s after 3 failures: got %d, Retry-After %q; want 429 with Retry-After", path, w.Code, w.Header().Get("Retry-After"))
		}
		if strings.Contains(w.Body.String(), secret) {
			t.Errorf("a refusal holds content: %s", w.Body)
		}
	}
	if w := f.do("GET", "/v2/alpine/manifests/latest", "Authorization", basic("alice", "wonderland")); !strings.Contains(w.Body.String(), `"TOOMANYREQUESTS"`) {
		t.Errorf("oci 429 body: %s", w.Body)
	}
	// Anonymous requests are not sign-in attempts.
	if w := f.do("GET", "/golang.org/x/text/@v/list"); w.Code != 200 {
		t.Errorf("anonymous while blocked: got %d, want 200", w.Code)
	}
	// Another address is not blocked.
	r := httptest.NewRequest("GET", "/corp.example.com/lib/@v/list", nil)
	r.RemoteAddr = "198.51.100.1:1"
	r.Header.Set("Authorization", basic("alice", "wonderland"))
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Errorf("another address: got %d, want 200", w.Code)
	}
	// One attempt comes back every 20 seconds.
	f.clk.add(21 * time.Second)
	if w := f.do("GET", "/corp.example.com/lib/@v/list", "Authorization", basic("alice", "wonderland")); w.Code != 200 {
		t.Errorf("after the budget refilled: got %d, want 200", w.Code)
	}
	if !f.audit.has(map[string]any{"event": EventAuthFailed, "claimed_user": "alice", "remote": "192.0.2.7", "reason": "wrong credentials"}) {
		t.Errorf("no failure event; events: %v", f.audit.events())
	}
	if !f.audit.has(map[string]any{"event": EventThrottled, "limit": "failed sign-ins"}) {
		t.Errorf("no throttled event; events: %v", f.audit.events())
	}
	for _, e := range f.audit.events() {
		if b, _ := json.Marshal(e); bytes.Contains(b, []byte("guess")) || bytes.Contains(b, []byte("wonderland")) {
			t.Errorf("an audit event holds a password: %s", b)
		}
	}
}

func TestGuardHostile(t *testing.T) {
	f := newGuardFixture(t, func(c *Config) { c.AuthFailures = Rate{N: 1000, Per: time.Minute} })
	private := "/corp.example.com/lib/@v/v1.0.0.zip"
	tests := []struct {
		name, path string
		hdr        []string
	}{
		{"no scheme", private, []string{"Authorization", "alice:wonderland"}},
		{"bad base64", private, []string{"Authorization", "Basic %%%"}},
		{"no colon", private, []string{"Authorization", "Basic " + b64("alice")}},
		{"NUL in user", private, []string{"Authorization", "Basic " + b64("alice\x00:wonderland")}},
		{"unknown scheme", private, []string{"Authorization", "Negotiate abc"}},
		{"huge", private, []string{"Authorization", "Basic " + strings.Repeat("A", 1<<20)}},
		{"two headers", private, []string{"Authorization", basic("alice", "wonderland"), "Authorization", basic("bob", "builder")}},
		{"token in query", private + "?token=gm_alice", nil},
		{"access_token in query", "/golang.org/x/text/@v/list?access_token=gm_alice", nil},
		{"npm token in query", "/npm/@corp/secret?_authToken=gm_alice", nil},
		{"token in query, odd case", "/v2/ghcr.io/corp/app/manifests/v1?TOKEN=gm_alice", nil},
		{"unparsable query with token", private + "?token=gm_alice;%zz", nil},
		{"traversal", "/golang.org/x/../../corp.example.com/lib/@v/list", nil},
		{"escaped dots", "/golang.org/%2e%2e/corp.example.com/lib/@v/list", nil},
		{"escaped slash", "/corp.example.com%2flib/@v/list", nil},
		{"double escape", "/corp.example.com/lib%252f/@v/list", nil},
		{"case trick", "/Corp.example.com/lib/@v/list", nil},
		{"case encoded", "/corp.example.com/!lib/@v/list", nil},
		{"npm escaped scope", "/npm/%40corp%2fsecret", nil},
		{"oci upper-case host", "/v2/GHCR.IO/corp/app/manifests/v1", nil},
		{"oci docker alias", "/v2/corp/app/manifests/v1?ns=ghcr.io", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := f.do("GET", tt.path, tt.hdr...)
			if w.Code < 400 || w.Code >= 500 {
				t.Fatalf("got %d (%s), want a 4xx", w.Code, w.Body)
			}
			if strings.Contains(w.Body.String(), secret) {
				t.Errorf("a refusal holds content: %s", w.Body)
			}
		})
	}
	if !f.audit.has(map[string]any{"event": EventQueryRefused}) {
		t.Errorf("no event for a token in a query")
	}
}

func TestGuardRequestRate(t *testing.T) {
	f := newGuardFixture(t, func(c *Config) { c.RequestRate = Rate{N: 2, Per: time.Second} })
	for i := range 2 {
		if w := f.do("GET", "/npm/left-pad"); w.Code != 200 {
			t.Fatalf("request %d: got %d, want 200", i, w.Code)
		}
	}
	w := f.do("GET", "/npm/left-pad")
	if w.Code != 429 || w.Header().Get("Retry-After") != "1" || !strings.Contains(w.Body.String(), `"error":"too many requests`) {
		t.Errorf("third request: got %d, Retry-After %q, body %s; want 429 in npm's format", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	// Users are counted apart from their address.
	if w := f.do("GET", "/npm/left-pad", "Authorization", basic("bob", "builder")); w.Code != 200 {
		t.Errorf("a signed-in user from the same address: got %d, want 200", w.Code)
	}
	f.clk.add(time.Second)
	if w := f.do("GET", "/npm/left-pad"); w.Code != 200 {
		t.Errorf("after a second: got %d, want 200", w.Code)
	}
	if !f.audit.has(map[string]any{"event": EventThrottled, "limit": "request rate"}) {
		t.Errorf("no throttled event")
	}
}

func TestGuardOpsElsewhere(t *testing.T) {
	f := newGuardFixture(t, func(c *Config) { c.OpsElsewhere = true })
	for _, p := range []string{"/metrics", "/healthz"} {
		if w := f.do("GET", p, "Authorization", basic("ops", "metrics")); w.Code != 404 {
			t.Errorf("%s on the main listener: got %d, want 404", p, w.Code)
		}
	}
}

// TestGuardAdmit checks the bound on fills in flight, through the core:
// one client's second fill waits its turn, hits are never throttled, and
// another client is not held up.
func TestGuardAdmit(t *testing.T) {
	st, err := disk.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var g *Guard
	cache, err := pull.New(pull.Config{Store: st, TempDir: t.TempDir(), HotCacheSize: -1,
		Admit: func(ctx context.Context) (func(), error) { return g.Admit(ctx) }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cache.Shutdown(context.Background()) })
	gate := make(chan struct{})
	started := make(chan string, 10)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		a := &pull.Artifact{Ecosystem: "test", Kind: "file", Name: "test/" + strings.ReplaceAll(name, "@", "_"), ContentType: "text/plain",
			Fetch: func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
				started <- name
				if strings.Contains(name, "slow") {
					<-gate
				}
				return io.NopCloser(strings.NewReader("content of " + name)), nil
			}}
		if err := cache.Serve(w, r, a); err != nil {
			pull.WriteText(w, pull.Status(err), pull.Reason(err))
		}
	})
	audit := &auditLog{}
	g, err = New(handler, Config{Classify: func(*http.Request) Subject { return Subject{Ecosystem: "go"} }, FillsPerClient: 1,
		Audit: slog.New(slog.NewJSONHandler(audit, nil))})
	if err != nil {
		t.Fatal(err)
	}
	get := func(path, addr string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = addr + ":1"
		w := httptest.NewRecorder()
		g.ServeHTTP(w, r)
		return w
	}
	if w := get("/stored", "192.0.2.1"); w.Code != 200 {
		t.Fatalf("first fill: got %d", w.Code)
	}
	<-started
	// A streamed answer may end before its fill has stored the file and
	// given its place back.
	deadline := time.Now().Add(20 * time.Second)
	for {
		g.fills.mu.Lock()
		n := len(g.fills.n)
		g.fills.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the first fill never gave its place back")
		}
		time.Sleep(time.Millisecond)
	}
	done := make(chan int)
	go func() { done <- get("/slow", "192.0.2.1").Code }()
	<-started
	w := get("/other", "192.0.2.1")
	if w.Code != 429 || w.Header().Get("Retry-After") == "" {
		t.Errorf("a second fill of one client: got %d, Retry-After %q; want 429 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if w := get("/stored", "192.0.2.1"); w.Code != 200 {
		t.Errorf("a hit while the client's fill runs: got %d, want 200", w.Code)
	}
	if w := get("/other", "192.0.2.2"); w.Code != 200 {
		t.Errorf("another client's fill: got %d, want 200", w.Code)
	}
	<-started
	close(gate)
	if code := <-done; code != 200 {
		t.Errorf("the slow fill: got %d", code)
	}
	if !audit.has(map[string]any{"event": EventThrottled, "limit": "fills in flight", "remote": "192.0.2.1"}) {
		t.Errorf("no throttled event: %v", audit.events())
	}
}

func TestAuditHandlerAddsIdentity(t *testing.T) {
	audit := &auditLog{}
	log := slog.New(AuditHandler(slog.NewJSONHandler(audit, nil))).With("part", "policy")
	ctx := WithIdentity(context.Background(), &Identity{User: "alice", Addr: "192.0.2.9"})
	log.InfoContext(ctx, "policy denied", "name", "example.com/vuln")
	log.InfoContext(context.Background(), "policy denied", "name", "example.com/other")
	if !audit.has(map[string]any{"msg": "policy denied", "user": "alice", "remote": "192.0.2.9", "part": "policy", "name": "example.com/vuln"}) {
		t.Errorf("no identity on the record: %v", audit.events())
	}
	if !audit.has(map[string]any{"name": "example.com/other"}) || audit.has(map[string]any{"name": "example.com/other", "user": "alice"}) {
		t.Errorf("a record without an identity: %v", audit.events())
	}
}
