package policy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/module"

	"github.com/gomirror/gomirror/internal/vulndb"
)

// Go is the ecosystem of Go modules, and the one a rule that names none is
// about.
const Go = "go"

// RuleVulnerable is the rule that denies versions affected by a known
// vulnerability, as Decision.Rule and the metric's rule label name it.
const RuleVulnerable = "deny-vulnerable"

// Config is the policy: which package versions are denied. Its zero value
// allows everything. Keys are named as in gomirror's YAML file.
type Config struct {
	// Deny lists the rules that deny versions.
	Deny []Rule `yaml:"deny,omitempty" json:"deny,omitempty"`
	// Allow lists exceptions: a version an allow rule matches is allowed
	// whatever the deny rules and deny-vulnerable say.
	Allow []Rule `yaml:"allow,omitempty" json:"allow,omitempty"`
	// DenyVulnerable denies the versions that the ecosystem's
	// vulnerability database says are affected by a vulnerability.
	DenyVulnerable bool `yaml:"deny-vulnerable,omitempty" json:"deny-vulnerable,omitempty"`
}

// Rule matches versions of packages.
type Rule struct {
	// Ecosystem is the ecosystem of the packages; "" is "go".
	Ecosystem string `yaml:"ecosystem,omitempty" json:"ecosystem,omitempty"`
	// Name is a comma-separated list of glob patterns, as in GOPRIVATE:
	// a package matches a pattern when a prefix of its name of as many
	// slash-separated elements matches it with path.Match, so
	// "github.com/corp" matches github.com/corp/tool and "*.corp.example"
	// matches git.corp.example/x. Required.
	Name string `yaml:"name" json:"name"`
	// Versions is the range of versions the rule matches (see Range):
	// "<v1.2.3", ">=v1.0.0 <v1.4.0", "v1.2.3"; "" or "*" for all.
	Versions string `yaml:"versions,omitempty" json:"versions,omitempty"`
	// Reason is told to the client with a denial.
	Reason string `yaml:"reason,omitempty" json:"reason,omitempty"`
	// Vulns, in an allow rule only, narrows the exception to these
	// vulnerabilities (GO-IDs or their CVE or GHSA aliases): the versions
	// the rule matches stay denied by deny rules and by any other
	// vulnerability. It is how a team accepts one known risk.
	Vulns []string `yaml:"vulns,omitempty" json:"vulns,omitempty"`
}

// Vulns is a vulnerability database of one ecosystem. *vulndb.DB and
// *vulndb.Latest are ones for Go.
type Vulns interface {
	// Affected returns the known vulnerabilities that affect version of
	// the package name.
	Affected(name, version string) []vulndb.Finding
}

// Ecosystem is what the policy needs to know of an ecosystem.
type Ecosystem struct {
	// Versioning compares its versions. Required.
	Versioning Versioning
	// Vulns is its vulnerability database; nil when it has none, and
	// then deny-vulnerable denies nothing in it.
	Vulns Vulns
}

// Options are the parts a Policy works with.
type Options struct {
	// Ecosystems are the ecosystems rules can name, by name. nil is Go
	// alone, with Semver versioning and no vulnerability database.
	Ecosystems map[string]Ecosystem
	// Logger receives a "policy denied" record for each denial. nil logs
	// nothing.
	Logger *slog.Logger
	// Registerer is where gomirror_policy_denials_total is registered.
	// nil exports no metric.
	Registerer prometheus.Registerer
}

// Policy decides which versions may be served. It is safe for concurrent
// use.
type Policy struct {
	deny, allow    []rule
	denyVulnerable bool
	ecosystems     map[string]Ecosystem
	log            *slog.Logger
	denials        *prometheus.CounterVec
}

type rule struct {
	id        string // "deny[0]"
	ecosystem string
	patterns  string
	versions  Range
	reason    string
	vulns     map[string]bool // allow rules only: the vulnerabilities excepted; nil for all of them
	text      string          // "name example.com/bad, versions <v1.3.0"
}

// Validate checks the rules of c as New does, for the ecosystems whose
// versionings are given (nil is Go alone, with Semver), without needing a
// vulnerability database: configuration loading can call it before the
// database is there. Errors name the bad key.
func (c Config) Validate(versionings map[string]Versioning) error {
	if versionings == nil {
		versionings = map[string]Versioning{Go: Semver{}}
	}
	ecosystems := make(map[string]Ecosystem, len(versionings))
	for name, v := range versionings {
		ecosystems[name] = Ecosystem{Versioning: v}
	}
	if _, err := compile("deny", c.Deny, ecosystems); err != nil {
		return err
	}
	_, err := compile("allow", c.Allow, ecosystems)
	return err
}

// New checks cfg and returns its Policy. Errors name the bad key, such as
// "policy.deny[1].versions".
func New(cfg Config, opts Options) (*Policy, error) {
	ecosystems := opts.Ecosystems
	if ecosystems == nil {
		ecosystems = map[string]Ecosystem{Go: {Versioning: Semver{}}}
	}
	for name, e := range ecosystems {
		if e.Versioning == nil {
			return nil, fmt.Errorf("policy: ecosystem %q has no versioning", name)
		}
	}
	p := &Policy{denyVulnerable: cfg.DenyVulnerable, ecosystems: ecosystems, log: opts.Logger}
	if p.log == nil {
		p.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var err error
	if p.deny, err = compile("deny", cfg.Deny, ecosystems); err != nil {
		return nil, err
	}
	if p.allow, err = compile("allow", cfg.Allow, ecosystems); err != nil {
		return nil, err
	}
	if cfg.DenyVulnerable {
		found := false
		for _, e := range ecosystems {
			found = found || e.Vulns != nil
		}
		if !found {
			return nil, errors.New("policy.deny-vulnerable: no ecosystem has a vulnerability database")
		}
	}
	p.denials = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gomirror_policy_denials_total",
		Help: "Versions the policy denied, by ecosystem and by the rule that denied them.",
	}, []string{"ecosystem", "rule"})
	if opts.Registerer != nil {
		if err := opts.Registerer.Register(p.denials); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, fmt.Errorf("policy: registering metrics: %w", err)
			}
			existing, ok := are.ExistingCollector.(*prometheus.CounterVec)
			if !ok {
				return nil, fmt.Errorf("policy: registering metrics: %w", err)
			}
			// A policy made again, on a new configuration, counts on.
			p.denials = existing
		}
	}
	return p, nil
}

func compile(kind string, rules []Rule, ecosystems map[string]Ecosystem) ([]rule, error) {
	var out []rule
	for i, r := range rules {
		id := fmt.Sprintf("%s[%d]", kind, i)
		key := "policy." + id
		eco := r.Ecosystem
		if eco == "" {
			eco = Go
		}
		e, ok := ecosystems[eco]
		if !ok {
			return nil, fmt.Errorf("%s.ecosystem: unknown ecosystem %q", key, eco)
		}
		if strings.TrimSpace(strings.ReplaceAll(r.Name, ",", "")) == "" {
			return nil, fmt.Errorf("%s.name: required: a package name or glob pattern", key)
		}
		for pat := range strings.SplitSeq(r.Name, ",") {
			if pat == "" {
				continue
			}
			if _, err := path.Match(pat, ""); err != nil {
				return nil, fmt.Errorf("%s.name: %q: %w", key, pat, err)
			}
		}
		vr, err := ParseRange(r.Versions, e.Versioning)
		if err != nil {
			return nil, fmt.Errorf("%s.versions: %w", key, err)
		}
		if strings.ContainsAny(r.Reason, "\r\n") {
			return nil, fmt.Errorf("%s.reason: must be one line", key)
		}
		var vulns map[string]bool
		if len(r.Vulns) > 0 {
			if kind != "allow" {
				return nil, fmt.Errorf("%s.vulns: only allow rules name vulnerabilities", key)
			}
			vulns = make(map[string]bool)
			for _, v := range r.Vulns {
				if strings.TrimSpace(v) == "" || strings.ContainsAny(v, " ,\t\r\n") {
					return nil, fmt.Errorf("%s.vulns: %q is not a vulnerability ID", key, v)
				}
				vulns[v] = true
			}
		}
		text := "name " + r.Name
		if !vr.All() {
			text += ", versions " + vr.String()
		}
		if len(r.Vulns) > 0 {
			text += ", vulns " + strings.Join(r.Vulns, ",")
		}
		out = append(out, rule{id: id, ecosystem: eco, patterns: r.Name, versions: vr, reason: r.Reason, vulns: vulns, text: text})
	}
	return out, nil
}

func (r *rule) matches(ecosystem, name, version string) bool {
	return r.ecosystem == ecosystem && module.MatchPrefixPatterns(r.patterns, name) && r.versions.Contains(version)
}

// Decision is the answer of the policy for one version.
type Decision struct {
	// Allowed says whether the version may be served.
	Allowed bool
	// Rule names the rule that decided: "deny[0]", "allow[2]" or
	// "deny-vulnerable"; "" when no rule matched and the version is
	// allowed.
	Rule string
	// Reason says why in one line, for the client and the log, such as
	// "golang.org/x/text@v0.3.5 is denied by policy: GO-2021-0113 (fixed
	// in v0.3.7)"; "" when no rule matched.
	Reason string
	// Findings are the vulnerabilities that denied the version, with
	// deny-vulnerable.
	Findings []vulndb.Finding
}

// ErrDenied is what the error of a denial matches.
var ErrDenied = errors.New("denied by policy")

// DeniedError is the error of a denial: its message is the decision's
// reason, and it matches ErrDenied.
type DeniedError struct{ Decision Decision }

// Error returns the decision's reason.
func (e *DeniedError) Error() string { return e.Decision.Reason }

// Unwrap returns ErrDenied.
func (e *DeniedError) Unwrap() error { return ErrDenied }

// Err returns nil when d allows, and a *DeniedError otherwise.
func (d Decision) Err() error {
	if d.Allowed {
		return nil
	}
	return &DeniedError{Decision: d}
}

// maxNamed bounds the vulnerabilities a reason names.
const maxNamed = 3

// Decide says whether version of the package name of ecosystem may be
// served. name is written as the ecosystem writes it: for Go, the module
// path, not case-encoded. Allow rules are tried first, in order, then deny rules, then
// deny-vulnerable; the first that matches decides. An allow rule that names
// vulnerabilities only takes those out of what deny-vulnerable finds. version "" (a request
// about the package, not a version) matches only rules for every version.
// A package of an ecosystem the policy does not know is allowed.
//
// A denial is logged at Info level with the message "policy denied" and
// the attributes ecosystem, name, version, rule and reason, and counted in
// gomirror_policy_denials_total.
func (p *Policy) Decide(ctx context.Context, ecosystem, name, version string) Decision {
	subject := name
	if version != "" {
		subject += "@" + version
	}
	for i := range p.allow {
		if r := &p.allow[i]; r.vulns == nil && r.matches(ecosystem, name, version) {
			return Decision{Allowed: true, Rule: r.id, Reason: subject + " is allowed by policy: " + r.describe()}
		}
	}
	for i := range p.deny {
		if r := &p.deny[i]; r.matches(ecosystem, name, version) {
			return p.denied(ctx, ecosystem, name, version, Decision{Rule: r.id, Reason: subject + " is denied by policy: " + r.describe()})
		}
	}
	if e := p.ecosystems[ecosystem]; p.denyVulnerable && e.Vulns != nil && version != "" {
		if found := e.Vulns.Affected(name, version); len(found) > 0 {
			left, excepted := p.except(ecosystem, name, version, found)
			if len(left) == 0 {
				return Decision{Allowed: true, Rule: excepted.id, Reason: subject + " is allowed by policy: " + excepted.describe()}
			}
			return p.denied(ctx, ecosystem, name, version, Decision{
				Rule:     RuleVulnerable,
				Reason:   subject + " is denied by policy: " + describeFindings(left),
				Findings: left,
			})
		}
	}
	return Decision{Allowed: true}
}

// except takes out of found the vulnerabilities that allow rules naming
// them except for this version. last is the rule that excepted the last
// one, if any did.
func (p *Policy) except(ecosystem, name, version string, found []vulndb.Finding) (left []vulndb.Finding, last *rule) {
	for _, f := range found {
		var by *rule
		for i := range p.allow {
			r := &p.allow[i]
			if r.vulns == nil || !r.matches(ecosystem, name, version) {
				continue
			}
			if r.vulns[f.ID] || slices.ContainsFunc(f.Aliases, func(a string) bool { return r.vulns[a] }) {
				by = r
				break
			}
		}
		if by == nil {
			left = append(left, f)
		} else {
			last = by
		}
	}
	return left, last
}

func (r *rule) describe() string {
	s := r.id + " (" + r.text + ")"
	if r.reason != "" {
		s += ": " + r.reason
	}
	return s
}

// describeFindings names the first few findings and their fixes:
// "GO-2021-0113 (fixed in v0.3.7), GO-2022-1059 (fixed in v0.3.8)".
func describeFindings(found []vulndb.Finding) string {
	var parts []string
	for i, f := range found {
		if i == maxNamed {
			parts = append(parts, fmt.Sprintf("and %d more", len(found)-maxNamed))
			break
		}
		if f.Fixed != "" {
			parts = append(parts, f.ID+" (fixed in "+f.Fixed+")")
		} else {
			parts = append(parts, f.ID+" (no fixed version)")
		}
	}
	return strings.Join(parts, ", ")
}

func (p *Policy) denied(ctx context.Context, ecosystem, name, version string, d Decision) Decision {
	p.denials.WithLabelValues(ecosystem, d.Rule).Inc()
	p.log.LogAttrs(ctx, slog.LevelInfo, "policy denied",
		slog.String("ecosystem", ecosystem),
		slog.String("name", name),
		slog.String("version", version),
		slog.String("rule", d.Rule),
		slog.String("reason", d.Reason),
	)
	return d
}
