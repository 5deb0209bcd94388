package access

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/module"
)

// Built-in groups that rules may name.
const (
	GroupAll           = "all"           // everyone, signed in or not
	GroupAuthenticated = "authenticated" // every signed-in user
	GroupAnonymous     = "anonymous"     // clients that did not sign in
)

// Ecosystems that only rules naming them reach: a rule for every
// ecosystem ("*" or none given) does not open them.
const (
	EcosystemOps   = "ops"   // /metrics
	EcosystemAdmin = "admin" // /-/..., the administrative endpoints
)

// Rules is a parsed access rules file.
type Rules struct {
	// Groups lists the members of each group.
	Groups map[string][]string `yaml:"groups"`
	// Rules are tried in order; the first that matches a request decides.
	// A request that no rule matches is denied.
	Rules []Rule `yaml:"rules"`
}

// Rule says whether some users may read some content.
type Rule struct {
	// Users and Groups name who the rule is for. When both are empty, it
	// is for everyone.
	Users  strList `yaml:"users"`
	Groups strList `yaml:"groups"`
	// Ecosystems names the routes it covers ("go", "sumdb", "golang",
	// "vuln", "oci", "pypi", "npm", "ops", "admin"). Empty or "*" means
	// every ecosystem but ops and admin. The YAML key is "ecosystem".
	Ecosystems strList `yaml:"ecosystem"`
	// Paths are globs on the subject, matched against it or a leading
	// part of it as GOPRIVATE patterns are (path.Match, element by
	// element), ignoring case: module paths for go, repositories for oci
	// ("docker.io/library/*"), project names for pypi, packages or
	// scopes for npm ("@corp"). "*" also matches requests without a
	// subject (an index, the /v2/ probe). Empty means every subject that
	// is not private: private content is only ever granted by a rule
	// whose paths name it.
	Paths strList `yaml:"paths"`
	// Allow grants (true) or denies (false). It must be given.
	Allow *bool `yaml:"allow"`
}

// strList is a YAML list of strings that may also be written as one
// string.
type strList []string

func (l *strList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		*l = strList{n.Value}
		return nil
	case yaml.SequenceNode:
		var s []string
		if err := n.Decode(&s); err != nil {
			return err
		}
		*l = s
		return nil
	}
	return fmt.Errorf("line %d: want a string or a list of strings", n.Line)
}

// ParseRules parses an access rules file (YAML). Unknown keys, a rule
// without allow, and bad globs are errors that name the rule.
func ParseRules(data []byte) (*Rules, error) {
	var r Rules
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&r); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	for g, members := range r.Groups {
		if g == GroupAll || g == GroupAuthenticated || g == GroupAnonymous {
			return nil, fmt.Errorf("groups: %q is built in and cannot be defined", g)
		}
		for _, m := range members {
			if m == "" {
				return nil, fmt.Errorf("groups: %s: empty member", g)
			}
		}
	}
	for i, rule := range r.Rules {
		if rule.Allow == nil {
			return nil, fmt.Errorf("rules[%d]: allow is missing: say true or false", i)
		}
		for _, p := range rule.Paths {
			if p == "" {
				return nil, fmt.Errorf("rules[%d]: empty path", i)
			}
			if _, err := path.Match(strings.ToLower(p), ""); err != nil {
				return nil, fmt.Errorf("rules[%d]: bad path glob %q: %v", i, p, err)
			}
		}
		for _, e := range rule.Ecosystems {
			if e == "" {
				return nil, fmt.Errorf("rules[%d]: empty ecosystem", i)
			}
		}
	}
	return &r, nil
}

// Decision is the outcome of the rules for one request.
type Decision struct {
	Allow bool
	// Rule is the index of the rule that decided, or -1 when none matched
	// (and the request is denied).
	Rule int
}

// Decide applies the rules to a request by id for s.
func (r *Rules) Decide(id *Identity, s Subject) Decision {
	for i := range r.Rules {
		if r.Rules[i].matches(r, id, s) {
			return Decision{Allow: *r.Rules[i].Allow, Rule: i}
		}
	}
	return Decision{Rule: -1}
}

func (rule *Rule) matches(r *Rules, id *Identity, s Subject) bool {
	return rule.forWho(r, id) && rule.forEcosystem(s.Ecosystem) && rule.forName(s)
}

func (rule *Rule) forWho(r *Rules, id *Identity) bool {
	if len(rule.Users) == 0 && len(rule.Groups) == 0 {
		return true
	}
	if !id.Anonymous() && slices.Contains(rule.Users, id.User) {
		return true
	}
	for _, g := range rule.Groups {
		switch {
		case g == GroupAll,
			g == GroupAuthenticated && !id.Anonymous(),
			g == GroupAnonymous && id.Anonymous(),
			!id.Anonymous() && (id.InGroup(g) || slices.Contains(r.Groups[g], id.User)):
			return true
		}
	}
	return false
}

func (rule *Rule) forEcosystem(eco string) bool {
	if slices.Contains(rule.Ecosystems, eco) {
		return true
	}
	if eco == EcosystemOps || eco == EcosystemAdmin {
		return false
	}
	return len(rule.Ecosystems) == 0 || slices.Contains(rule.Ecosystems, "*")
}

func (rule *Rule) forName(s Subject) bool {
	if len(rule.Paths) == 0 {
		return !s.Private
	}
	name := strings.ToLower(s.Name)
	for _, p := range rule.Paths {
		if name == "" {
			if p == "*" {
				return true
			}
			continue
		}
		if module.MatchPrefixPatterns(strings.ToLower(p), name) {
			return true
		}
	}
	return false
}

// Covers reports whether some rule for ecosystem eco has a path glob that
// covers every subject that pattern, a GOPRIVATE pattern, matches: the
// check that private modules are not served by accident.
func (r *Rules) Covers(eco, pattern string) bool {
	pattern = strings.ToLower(pattern)
	for i := range r.Rules {
		rule := &r.Rules[i]
		if !rule.forEcosystem(eco) {
			continue
		}
		for _, p := range rule.Paths {
			if module.MatchPrefixPatterns(strings.ToLower(p), pattern) {
				return true
			}
		}
	}
	return false
}
