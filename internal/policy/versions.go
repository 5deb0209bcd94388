package policy

import (
	"fmt"
	"strings"

	"golang.org/x/mod/semver"
)

// Versioning is how an ecosystem writes and orders its versions.
type Versioning interface {
	// Valid reports whether v is a version of the ecosystem.
	Valid(v string) bool
	// Compare returns -1, 0 or +1 as a is older than, the same as or
	// newer than b, both valid.
	Compare(a, b string) int
}

// Semver is the versioning of Go modules: semantic versions with a "v"
// prefix, as golang.org/x/mod/semver reads them ("v1.2.3",
// "v0.0.0-20240102030405-abcdefabcdef", "v2.0.0+incompatible").
type Semver struct{}

// Valid reports whether v is a semantic version with a "v" prefix.
func (Semver) Valid(v string) bool { return semver.IsValid(v) }

// Compare compares a and b as semantic versions.
func (Semver) Compare(a, b string) int { return semver.Compare(a, b) }

// Range is a set of versions written as constraints: "<v1.2.3",
// ">=v1.0.0 <v1.4.0" (every constraint of a group holds), "v1.2.3" or
// "=v1.2.3" (exactly that version), groups joined by "||" (any group
// holds), and "" or "*" for every version. The operators are <, <=, >, >=,
// = and !=. The zero Range holds every version.
type Range struct {
	groups [][]constraint // nil: every version
	vs     Versioning
}

type constraint struct {
	op      string
	version string
}

var ops = []string{"<=", ">=", "!=", "<", ">", "="} // longest first

// MaxRangeLen bounds the length of a range.
const MaxRangeLen = 1024

// ParseRange parses s, whose versions must be valid for vs. The error says
// what is wrong in s.
func ParseRange(s string, vs Versioning) (Range, error) {
	if len(s) > MaxRangeLen {
		return Range{}, fmt.Errorf("longer than %d bytes", MaxRangeLen)
	}
	if t := strings.TrimSpace(s); t == "" || t == "*" {
		return Range{}, nil
	}
	r := Range{vs: vs}
	for group := range strings.SplitSeq(s, "||") {
		fields := strings.Fields(group)
		if len(fields) == 0 {
			return Range{}, fmt.Errorf("%q: empty alternative around ||", s)
		}
		var g []constraint
		for i := 0; i < len(fields); i++ {
			f := fields[i]
			op := ""
			for _, o := range ops {
				if strings.HasPrefix(f, o) {
					op = o
					break
				}
			}
			v := f[len(op):]
			if v == "" && op != "" && i+1 < len(fields) {
				// ">= v1.0.0": the operator stands apart.
				i++
				v = fields[i]
			}
			if op == "" {
				op = "="
			}
			if v == "" {
				return Range{}, fmt.Errorf("%q: %s with no version", s, op)
			}
			if !vs.Valid(v) {
				return Range{}, fmt.Errorf("%q: %q is not a valid version%s", s, v, hint(vs, v))
			}
			g = append(g, constraint{op, v})
		}
		r.groups = append(r.groups, g)
	}
	return r, nil
}

// hint suggests the "v" a Go version lacks.
func hint(vs Versioning, v string) string {
	if _, ok := vs.(Semver); ok && vs.Valid("v"+v) {
		return " (Go versions start with v: v" + v + ")"
	}
	return ""
}

// All reports whether r holds every version.
func (r Range) All() bool { return r.groups == nil }

// Contains reports whether r holds v. A version that is not valid for r's
// versioning, such as "", is held only by a range of every version.
func (r Range) Contains(v string) bool {
	if r.groups == nil {
		return true
	}
	if !r.vs.Valid(v) {
		return false
	}
	for _, g := range r.groups {
		if r.groupContains(g, v) {
			return true
		}
	}
	return false
}

func (r Range) groupContains(g []constraint, v string) bool {
	for _, c := range g {
		cmp := r.vs.Compare(v, c.version)
		ok := false
		switch c.op {
		case "<":
			ok = cmp < 0
		case "<=":
			ok = cmp <= 0
		case ">":
			ok = cmp > 0
		case ">=":
			ok = cmp >= 0
		case "=":
			ok = cmp == 0
		case "!=":
			ok = cmp != 0
		}
		if !ok {
			return false
		}
	}
	return true
}

// String returns r in a canonical form that ParseRange reads back: "*" for
// every version, else groups such as ">=v1.0.0 <v1.4.0 || =v2.0.0".
func (r Range) String() string {
	if r.groups == nil {
		return "*"
	}
	var b strings.Builder
	for i, g := range r.groups {
		if i > 0 {
			b.WriteString(" || ")
		}
		for j, c := range g {
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(c.op + c.version)
		}
	}
	return b.String()
}
