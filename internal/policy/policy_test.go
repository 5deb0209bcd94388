package policy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.yaml.in/yaml/v3"

	"github.com/gomirror/gomirror/internal/policy"
	"github.com/gomirror/gomirror/internal/vulndb"
	"github.com/gomirror/gomirror/internal/vulndb/vulndbtest"
)

// fakeVulns is a vulnerability database of another ecosystem.
type fakeVulns map[string][]vulndb.Finding

func (f fakeVulns) Affected(name, version string) []vulndb.Finding { return f[name+"@"+version] }

// npmVersions compares versions without a "v", as npm writes them, well
// enough for the tests: major.minor.patch of small numbers.
type npmVersions struct{}

func (npmVersions) Valid(v string) bool { return policy.Semver{}.Valid("v" + v) }
func (npmVersions) Compare(a, b string) int {
	return policy.Semver{}.Compare("v"+a, "v"+b)
}

const config = `
deny-vulnerable: true
deny:
  - name: example.com/abandoned
    reason: unmaintained, use example.com/kept
  - name: github.com/corp/*,*.corp.example
    versions: ">=v1.0.0 <v1.4.0"
  - name: example.com/exact
    versions: v1.2.3
  - name: left-pad
    ecosystem: npm
    versions: "<1.3.0 || 2.0.0"
allow:
  - name: golang.org/x/text
    versions: v0.3.5
    reason: not reachable from our code
  - name: github.com/corp/blessed
`

func newPolicy(t *testing.T, cfgText string, log *slog.Logger, reg prometheus.Registerer) *policy.Policy {
	t.Helper()
	var cfg policy.Config
	if err := yaml.Unmarshal([]byte(cfgText), &cfg); err != nil {
		t.Fatal(err)
	}
	p, err := policy.New(cfg, policy.Options{
		Ecosystems: map[string]policy.Ecosystem{
			policy.Go: {Versioning: policy.Semver{}, Vulns: vulndbtest.SampleDB(t)},
			"npm":     {Versioning: npmVersions{}, Vulns: fakeVulns{"minimist@1.2.5": {{ID: "GHSA-xvch-5gv4-984h", Fixed: "1.2.6"}}}},
		},
		Logger:     log,
		Registerer: reg,
	})
	if err != nil {
		t.Fatalf("policy.New: %v", err)
	}
	return p
}

func TestDecide(t *testing.T) {
	p := newPolicy(t, config, nil, nil)
	tests := []struct {
		name                    string
		ecosystem, pkg, version string
		allowed                 bool
		rule, reason            string
	}{
		// deny rules
		{"deny every version", "go", "example.com/abandoned", "v1.0.0", false, "deny[0]",
			"example.com/abandoned@v1.0.0 is denied by policy: deny[0] (name example.com/abandoned): unmaintained, use example.com/kept"},
		{"deny covers the package itself", "go", "example.com/abandoned", "", false, "deny[0]",
			"example.com/abandoned is denied by policy: deny[0] (name example.com/abandoned): unmaintained, use example.com/kept"},
		{"deny by prefix", "go", "example.com/abandoned/v2", "v2.0.0", false, "deny[0]",
			"example.com/abandoned/v2@v2.0.0 is denied by policy: deny[0] (name example.com/abandoned): unmaintained, use example.com/kept"},
		{"prefix is by element", "go", "example.com/abandonedware", "v1.0.0", true, "", ""},
		{"glob in range", "go", "github.com/corp/tool", "v1.3.9", false, "deny[1]",
			"github.com/corp/tool@v1.3.9 is denied by policy: deny[1] (name github.com/corp/*,*.corp.example, versions >=v1.0.0 <v1.4.0)"},
		{"glob below range", "go", "github.com/corp/tool", "v0.9.0", true, "", ""},
		{"glob at range end", "go", "github.com/corp/tool", "v1.4.0", true, "", ""},
		{"glob on first element", "go", "git.corp.example/x/y", "v1.0.0", false, "deny[1]",
			"git.corp.example/x/y@v1.0.0 is denied by policy: deny[1] (name github.com/corp/*,*.corp.example, versions >=v1.0.0 <v1.4.0)"},
		{"range needs a version", "go", "github.com/corp/tool", "", true, "", ""},
		{"range and a bad version", "go", "github.com/corp/tool", "master", true, "", ""},
		{"exact", "go", "example.com/exact", "v1.2.3", false, "deny[2]",
			"example.com/exact@v1.2.3 is denied by policy: deny[2] (name example.com/exact, versions =v1.2.3)"},
		{"not exact", "go", "example.com/exact", "v1.2.4", true, "", ""},
		// allow rules win
		{"allow wins over a deny", "go", "github.com/corp/blessed", "v1.2.0", true, "allow[1]",
			"github.com/corp/blessed@v1.2.0 is allowed by policy: allow[1] (name github.com/corp/blessed)"},
		{"allow wins over deny-vulnerable", "go", "golang.org/x/text", "v0.3.5", true, "allow[0]",
			"golang.org/x/text@v0.3.5 is allowed by policy: allow[0] (name golang.org/x/text, versions =v0.3.5): not reachable from our code"},
		// deny-vulnerable
		{"vulnerable", "go", "golang.org/x/text", "v0.3.6", false, "deny-vulnerable",
			"golang.org/x/text@v0.3.6 is denied by policy: GO-2021-0113 (fixed in v0.3.7), GO-2022-1059 (fixed in v0.3.8)"},
		{"vulnerable once", "go", "golang.org/x/text", "v0.3.7", false, "deny-vulnerable",
			"golang.org/x/text@v0.3.7 is denied by policy: GO-2022-1059 (fixed in v0.3.8)"},
		{"fixed", "go", "golang.org/x/text", "v0.3.8", true, "", ""},
		{"never fixed", "go", "example.com/all", "v9.0.0", false, "deny-vulnerable",
			"example.com/all@v9.0.0 is denied by policy: GO-2099-0001 (no fixed version)"},
		{"withdrawn entry denies nothing", "go", "k8s.io/kubernetes", "v1.0.0", true, "", ""},
		{"no version, no vulnerability", "go", "golang.org/x/text", "", true, "", ""},
		// other ecosystems
		{"npm range", "npm", "left-pad", "1.2.9", false, "deny[3]",
			"left-pad@1.2.9 is denied by policy: deny[3] (name left-pad, versions <1.3.0 || =2.0.0)"},
		{"npm second alternative", "npm", "left-pad", "2.0.0", false, "deny[3]",
			"left-pad@2.0.0 is denied by policy: deny[3] (name left-pad, versions <1.3.0 || =2.0.0)"},
		{"npm between", "npm", "left-pad", "1.3.0", true, "", ""},
		{"npm rule is not go's", "go", "left-pad", "v1.0.0", true, "", ""},
		{"go rule is not npm's", "npm", "example.com/abandoned", "1.0.0", true, "", ""},
		{"npm vulnerable", "npm", "minimist", "1.2.5", false, "deny-vulnerable",
			"minimist@1.2.5 is denied by policy: GHSA-xvch-5gv4-984h (fixed in 1.2.6)"},
		{"unknown ecosystem", "pypi", "example.com/abandoned", "1.0.0", true, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Decide(t.Context(), tt.ecosystem, tt.pkg, tt.version)
			if d.Allowed != tt.allowed || d.Rule != tt.rule || d.Reason != tt.reason {
				t.Errorf("got allowed=%v rule=%q reason=%q\nwant allowed=%v rule=%q reason=%q", d.Allowed, d.Rule, d.Reason, tt.allowed, tt.rule, tt.reason)
			}
			err := d.Err()
			switch {
			case tt.allowed && err != nil:
				t.Errorf("got error %v, want nil", err)
			case !tt.allowed && (!errors.Is(err, policy.ErrDenied) || err.Error() != tt.reason):
				t.Errorf("got error %v, want the reason, matching ErrDenied", err)
			}
		})
	}
}

func TestDecideFindings(t *testing.T) {
	p := newPolicy(t, config, nil, nil)
	d := p.Decide(t.Context(), "go", "golang.org/x/text", "v0.3.6")
	if len(d.Findings) != 2 || d.Findings[0].ID != "GO-2021-0113" || d.Findings[0].Summary == "" {
		t.Errorf("got findings %+v, want GO-2021-0113 and GO-2022-1059 with summaries", d.Findings)
	}
	many := fakeVulns{"m@1.0.0": {{ID: "A-1"}, {ID: "A-2", Fixed: "1.0.1"}, {ID: "A-3"}, {ID: "A-4"}, {ID: "A-5"}}}
	p2, err := policy.New(policy.Config{DenyVulnerable: true}, policy.Options{Ecosystems: map[string]policy.Ecosystem{"npm": {Versioning: npmVersions{}, Vulns: many}}})
	if err != nil {
		t.Fatal(err)
	}
	want := "m@1.0.0 is denied by policy: A-1 (no fixed version), A-2 (fixed in 1.0.1), A-3 (no fixed version), and 2 more"
	if got := p2.Decide(t.Context(), "npm", "m", "1.0.0").Reason; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestAudit checks that each denial is logged and counted, and nothing
// else is.
func TestAudit(t *testing.T) {
	var logBuf bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logBuf, nil))
	reg := prometheus.NewPedanticRegistry()
	p := newPolicy(t, config, log, reg)

	p.Decide(t.Context(), "go", "golang.org/x/text", "v0.3.6")     // deny-vulnerable
	p.Decide(t.Context(), "go", "golang.org/x/text", "v0.3.7")     // deny-vulnerable
	p.Decide(t.Context(), "go", "example.com/abandoned", "v1.0.0") // deny[0]
	p.Decide(t.Context(), "npm", "left-pad", "1.0.0")              // deny[3]
	p.Decide(t.Context(), "go", "golang.org/x/text", "v0.3.5")     // allowed by allow[0]
	p.Decide(t.Context(), "go", "golang.org/x/text", "v0.3.8")     // allowed

	want := `
# HELP gomirror_policy_denials_total Versions the policy denied, by ecosystem and by the rule that denied them.
# TYPE gomirror_policy_denials_total counter
gomirror_policy_denials_total{ecosystem="go",rule="deny-vulnerable"} 2
gomirror_policy_denials_total{ecosystem="go",rule="deny[0]"} 1
gomirror_policy_denials_total{ecosystem="npm",rule="deny[3]"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "gomirror_policy_denials_total"); err != nil {
		t.Error(err)
	}

	var records []map[string]any
	for line := range strings.Lines(logBuf.String()) {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		records = append(records, r)
	}
	if len(records) != 4 {
		t.Fatalf("got %d log records, want 4, one per denial:\n%s", len(records), logBuf.String())
	}
	got := records[2]
	for k, v := range map[string]string{
		"msg": "policy denied", "level": "INFO", "ecosystem": "go", "name": "example.com/abandoned", "version": "v1.0.0", "rule": "deny[0]",
		"reason": "example.com/abandoned@v1.0.0 is denied by policy: deny[0] (name example.com/abandoned): unmaintained, use example.com/kept",
	} {
		if got[k] != v {
			t.Errorf("log record %s: got %v, want %q", k, got[k], v)
		}
	}
	if got := records[0]["rule"]; got != "deny-vulnerable" {
		t.Errorf("first record: got rule %v, want deny-vulnerable", got)
	}

	// A policy made again on the same registry counts on.
	p2 := newPolicy(t, config, nil, reg)
	p2.Decide(t.Context(), "go", "example.com/abandoned", "v1.0.0")
	if got := testutil.ToFloat64(mustCounter(t, reg)); got != 2 {
		t.Errorf("got deny[0] count %v after a second policy, want 2", got)
	}
}

func mustCounter(t *testing.T, reg *prometheus.Registry) prometheus.Collector {
	t.Helper()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gomirror_policy_denials_total",
		Help: "Versions the policy denied, by ecosystem and by the rule that denied them.",
	}, []string{"ecosystem", "rule"})
	var are prometheus.AlreadyRegisteredError
	if err := reg.Register(c); !errors.As(err, &are) {
		t.Fatalf("got %v registering the counter again, want AlreadyRegisteredError", err)
	}
	return are.ExistingCollector.(*prometheus.CounterVec).WithLabelValues("go", "deny[0]")
}

func TestNewRefuses(t *testing.T) {
	withVulns := map[string]policy.Ecosystem{policy.Go: {Versioning: policy.Semver{}, Vulns: vulndbtest.SampleDB(t)}}
	tests := []struct {
		name       string
		cfg        string
		ecosystems map[string]policy.Ecosystem
		want       string
	}{
		{"no name", "deny: [{versions: v1.0.0}]", nil, "policy.deny[0].name: required: a package name or glob pattern"},
		{"only commas", "allow: [{name: ','}]", nil, "policy.allow[0].name: required: a package name or glob pattern"},
		{"bad glob", "deny: [{name: ok}, {name: 'example.com/[x'}]", nil, `policy.deny[1].name: "example.com/[x": syntax error in pattern`},
		{"version without v", "deny: [{name: m, versions: '<1.2.3'}]", nil, `policy.deny[0].versions: "<1.2.3": "1.2.3" is not a valid version (Go versions start with v: v1.2.3)`},
		{"bad operator", "deny: [{name: m, versions: '=>v1.2.3'}]", nil, `policy.deny[0].versions: "=>v1.2.3": ">v1.2.3" is not a valid version`},
		{"dangling operator", "allow: [{name: m, versions: '>='}]", nil, `policy.allow[0].versions: ">=": >= with no version`},
		{"empty alternative", "deny: [{name: m, versions: 'v1.0.0 ||'}]", nil, `policy.deny[0].versions: "v1.0.0 ||": empty alternative around ||`},
		{"unknown ecosystem", "deny: [{name: m, ecosystem: cargo}]", nil, `policy.deny[0].ecosystem: unknown ecosystem "cargo"`},
		{"go rule without go", "deny: [{name: m}]", map[string]policy.Ecosystem{"npm": {Versioning: npmVersions{}}}, `policy.deny[0].ecosystem: unknown ecosystem "go"`},
		{"multi-line reason", "deny: [{name: m, reason: \"a\\nb\"}]", nil, "policy.deny[0].reason: must be one line"},
		{"deny-vulnerable without a database", "deny-vulnerable: true", nil, "policy.deny-vulnerable: no ecosystem has a vulnerability database"},
		{"vulns in a deny rule", "deny: [{name: m, vulns: [GO-2021-0113]}]", withVulns, "policy.deny[0].vulns: only allow rules name vulnerabilities"},
		{"blank vuln", "allow: [{name: m, vulns: [' ']}]", nil, `policy.allow[0].vulns: " " is not a vulnerability ID`},
		{"ecosystem without versioning", "", map[string]policy.Ecosystem{"go": {}}, `policy: ecosystem "go" has no versioning`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg policy.Config
			if err := yaml.Unmarshal([]byte(tt.cfg), &cfg); err != nil {
				t.Fatal(err)
			}
			_, err := policy.New(cfg, policy.Options{Ecosystems: tt.ecosystems})
			if err == nil || err.Error() != tt.want {
				t.Errorf("got error %v, want %q", err, tt.want)
			}
		})
	}
	t.Run("Validate", func(t *testing.T) {
		cfg := policy.Config{DenyVulnerable: true, Allow: []policy.Rule{{Name: "m", Versions: "<1.0.0"}}}
		want := `policy.allow[0].versions: "<1.0.0": "1.0.0" is not a valid version (Go versions start with v: v1.0.0)`
		if err := cfg.Validate(nil); err == nil || err.Error() != want {
			t.Errorf("got %v, want %q", err, want)
		}
		cfg.Allow[0].Versions = "<v1.0.0"
		if err := cfg.Validate(nil); err != nil {
			t.Errorf("got %v for a good config with deny-vulnerable and no database, want nil", err)
		}
		if err := cfg.Validate(map[string]policy.Versioning{"npm": npmVersions{}}); err == nil || !strings.Contains(err.Error(), `unknown ecosystem "go"`) {
			t.Errorf("got %v, want go unknown when only npm is given", err)
		}
	})
	t.Run("deny-vulnerable with a database", func(t *testing.T) {
		if _, err := policy.New(policy.Config{DenyVulnerable: true}, policy.Options{Ecosystems: withVulns}); err != nil {
			t.Errorf("got %v, want no error", err)
		}
	})
	t.Run("zero config", func(t *testing.T) {
		p, err := policy.New(policy.Config{}, policy.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if d := p.Decide(t.Context(), "go", "golang.org/x/text", "v0.3.5"); !d.Allowed || d.Rule != "" || d.Reason != "" {
			t.Errorf("got %+v, want allowed by no rule", d)
		}
	})
}

// TestLatestVulns checks that a policy follows the database a
// vulndb.Latest holds as it changes.
func TestLatestVulns(t *testing.T) {
	var latest vulndb.Latest
	p, err := policy.New(policy.Config{DenyVulnerable: true}, policy.Options{
		Ecosystems: map[string]policy.Ecosystem{policy.Go: {Versioning: policy.Semver{}, Vulns: &latest}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := p.Decide(t.Context(), "go", "golang.org/x/text", "v0.3.5"); !d.Allowed {
		t.Errorf("with no database yet: got %+v, want allowed", d)
	}
	latest.Set(vulndbtest.SampleDB(t))
	if d := p.Decide(t.Context(), "go", "golang.org/x/text", "v0.3.5"); d.Allowed ||
		d.Reason != "golang.org/x/text@v0.3.5 is denied by policy: GO-2021-0113 (fixed in v0.3.7), GO-2022-1059 (fixed in v0.3.8)" {
		t.Errorf("with the database: got %+v, want denied for GO-2021-0113 and GO-2022-1059", d)
	}
}

// TestAllowVulns checks allow rules that accept named vulnerabilities only.
func TestAllowVulns(t *testing.T) {
	p := newPolicy(t, `
deny-vulnerable: true
deny:
  - name: golang.org/x/text
    versions: v0.3.0
allow:
  - name: golang.org/x/text
    versions: "<v0.3.8"
    vulns: [CVE-2022-32149]
    reason: we never parse Accept-Language
  - name: example.com/all
    vulns: [GO-2099-0001]
`, nil, nil)
	tests := []struct {
		name         string
		pkg, version string
		allowed      bool
		rule, reason string
	}{
		{"accepted by alias", "golang.org/x/text", "v0.3.7", true, "allow[0]",
			"golang.org/x/text@v0.3.7 is allowed by policy: allow[0] (name golang.org/x/text, versions <v0.3.8, vulns CVE-2022-32149): we never parse Accept-Language"},
		{"others still deny", "golang.org/x/text", "v0.3.6", false, "deny-vulnerable",
			"golang.org/x/text@v0.3.6 is denied by policy: GO-2021-0113 (fixed in v0.3.7)"},
		{"deny rules still deny", "golang.org/x/text", "v0.3.0", false, "deny[0]",
			"golang.org/x/text@v0.3.0 is denied by policy: deny[0] (name golang.org/x/text, versions =v0.3.0)"},
		{"accepted by ID", "example.com/all", "v1.0.0", true, "allow[1]",
			"example.com/all@v1.0.0 is allowed by policy: allow[1] (name example.com/all, vulns GO-2099-0001)"},
		{"nothing to accept", "example.com/other", "v1.0.0", true, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Decide(t.Context(), "go", tt.pkg, tt.version)
			if d.Allowed != tt.allowed || d.Rule != tt.rule || d.Reason != tt.reason {
				t.Errorf("got allowed=%v rule=%q reason=%q\nwant allowed=%v rule=%q reason=%q", d.Allowed, d.Rule, d.Reason, tt.allowed, tt.rule, tt.reason)
			}
		})
	}
}
