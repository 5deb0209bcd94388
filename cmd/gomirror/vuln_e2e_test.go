package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
	"github.com/gomirror/gomirror/internal/vulndb/vulndbtest"
)

// TestPolicyDeniesWithTheGoCommand has gomirror refuse a version by rule
// and one by a known vulnerability, and the go command show the reason.
func TestPolicyDeniesWithTheGoCommand(t *testing.T) {
	h := newHermeticSetup(t)
	// example.com/multi v1.1.0 is affected by the sample database's
	// GO-2099-0001, fixed in v1.2.0.
	multi := sumdbtest.NewModule(t, "example.com/multi", "v1.1.0", map[string]string{"m.go": "package multi\n"})
	h.db.Add(multi)
	h.up.add(multi)
	db := vulndbtest.SampleDB(t)
	vulnUp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, ok := db.File(strings.TrimPrefix(r.URL.Path, "/"))
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(data)
	}))
	defer vulnUp.Close()
	conf := filepath.Join(t.TempDir(), "gomirror.yaml")
	os.WriteFile(conf, []byte(`vuln-upstream: `+vulnUp.URL+`
policy:
  deny-vulnerable: true
  deny:
    - name: example.com/hello
      versions: "<v1.1.0"
      reason: "hello v1.0.0 is withdrawn by the platform team"
`), 0o644)
	m := h.start(t, t.TempDir(), "--config", conf)
	waitReady(t, m, "vuln: ok", time.Minute)
	g := h.client(t, m)

	out, err := g.run("mod", "download", "example.com/hello@v1.0.0")
	if err == nil || !strings.Contains(out, "403") || !strings.Contains(out, "hello v1.0.0 is withdrawn by the platform team") {
		t.Errorf("a version denied by rule: go mod download said (err %v):\n%s", err, out)
	}
	out, err = g.run("mod", "download", "example.com/multi@v1.1.0")
	if err == nil || !strings.Contains(out, "GO-2099-0001") || !strings.Contains(out, "v1.2.0") {
		t.Errorf("a vulnerable version: go mod download said (err %v):\n%s", err, out)
	}
	// Versions the policy allows are served, and lists stay whole.
	g.must("mod", "download", "example.com/hello@v1.1.0")
	if code, body := get(t, m.URL+"/example.com/hello/@v/list"); code != 200 || !strings.Contains(string(body), "v1.0.0") {
		t.Errorf("the list of a module with a denied version: got %d %q, want it whole", code, body)
	}
	// Every denial is an audit event in the log, and counted.
	// The log is buffered: wait for each line rather than read it once.
	waitLog(t, m, `msg="policy denied"`)
	for _, want := range []string{"name=example.com/hello", "name=example.com/multi", "GO-2099-0001"} {
		waitLog(t, m, want)
	}
	_, metrics := get(t, m.URL+"/metrics")
	if !strings.Contains(string(metrics), "gomirror_policy_denials_total") {
		t.Error("/metrics does not count the denials")
	}
}

// waitReady waits for /readyz to hold want, for at most limit.
func waitReady(t *testing.T, m *mirror, want string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		_, body := get(t, m.URL+"/readyz")
		if strings.Contains(string(body), want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz never said %q; last:\n%s", want, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGovulncheckThroughGomirror builds the vulnerability database from the
// real golang.org/x/vulndb module through gomirror, from the public Go
// module proxy, and has the real govulncheck read it from gomirror's
// /vuln/, with the vulnerability database's own host out of reach.
func TestGovulncheckThroughGomirror(t *testing.T) {
	proxy := publicProxy(t)
	bin := vulndbtest.BuildGovulncheck(t)
	m := startMirror(t, t.TempDir(), nil, "--upstream", proxy, "--vuln-source", "module",
		"--vuln-upstream", "http://127.0.0.1:9") // pull-through is off; nothing may use it.
	// Fetching, verifying and building the whole database takes seconds,
	// and minutes under the race detector on a busy machine.
	waitReady(t, m, "vuln: ok (golang.org/x/vulndb@", 8*time.Minute)
	modcache := t.TempDir()
	env := []string{"GOPROXY=" + m.URL, "GOFLAGS=-modcacherw", "GOMODCACHE=" + modcache, "GONOSUMDB=", "GOPRIVATE=", "GOSUMDB=sum.golang.org"}
	dir := vulndbtest.VulnerableModule(t, env)
	out := vulndbtest.RunGovulncheck(t, bin, m.URL+"/vuln", dir, append(env, "HTTPS_PROXY=http://127.0.0.1:9"))
	if !strings.Contains(out, vulndbtest.VulnerableID) {
		t.Errorf("govulncheck through gomirror did not report %s:\n%s", vulndbtest.VulnerableID, out)
	}
}
