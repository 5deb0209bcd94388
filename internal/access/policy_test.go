package access

import (
	"strings"
	"testing"
)

const testRules = `
groups:
  dev: [alice, bob]
rules:
  - groups: [dev]
    ecosystem: go
    paths: [corp.example.com]
    allow: true
  - users: [carol]
    ecosystem: [oci]
    paths: ["ghcr.io/corp/*"]
    allow: true
  - paths: [corp.example.com, "ghcr.io/corp"]
    allow: false
  - groups: [ci]
    ecosystem: [ops, admin]
    allow: true
  - groups: [authenticated]
    ecosystem: npm
    allow: true
  - groups: [all]
    ecosystem: ["go", sumdb, oci]
    allow: true
`

func TestDecide(t *testing.T) {
	r, err := ParseRules([]byte(testRules))
	if err != nil {
		t.Fatal(err)
	}
	anon := &Identity{}
	alice := &Identity{User: "alice"}
	carol := &Identity{User: "carol"}
	ci := &Identity{User: "robot", Groups: []string{"ci"}}
	tests := []struct {
		name string
		id   *Identity
		s    Subject
		want bool
		rule int
	}{
		{"dev reads private", alice, Subject{Ecosystem: "go", Name: "corp.example.com/lib", Private: true}, true, 0},
		{"dev reads private, other case", alice, Subject{Ecosystem: "go", Name: "Corp.Example.com/lib", Private: true}, true, 0},
		{"anonymous private", anon, Subject{Ecosystem: "go", Name: "corp.example.com/lib", Private: true}, false, 2},
		{"case trick", anon, Subject{Ecosystem: "go", Name: "CORP.example.com/lib", Private: true}, false, 2},
		{"private not named by any rule", anon, Subject{Ecosystem: "go", Name: "secret.example.com/x", Private: true}, false, -1},
		{"anonymous public", anon, Subject{Ecosystem: "go", Name: "golang.org/x/text"}, true, 5},
		{"prefix is by element", anon, Subject{Ecosystem: "go", Name: "corp.example.company/x"}, true, 5},
		{"oci for carol", carol, Subject{Ecosystem: "oci", Name: "ghcr.io/corp/app"}, true, 1},
		{"oci for others", alice, Subject{Ecosystem: "oci", Name: "ghcr.io/corp/app"}, false, 2},
		{"oci probe", anon, Subject{Ecosystem: "oci", Probe: true}, true, 5},
		{"ops for ci", ci, Subject{Ecosystem: "ops", Name: "metrics"}, true, 3},
		{"ops not for all", anon, Subject{Ecosystem: "ops", Name: "metrics"}, false, -1},
		{"admin not by catch-all", alice, Subject{Ecosystem: "admin", Name: "jobs/x"}, false, -1},
		{"npm signed in", alice, Subject{Ecosystem: "npm", Name: "left-pad"}, true, 4},
		{"npm anonymous", anon, Subject{Ecosystem: "npm", Name: "left-pad"}, false, -1},
		{"unrouted ecosystem", anon, Subject{Ecosystem: "pypi", Name: "requests"}, false, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := r.Decide(tt.id, tt.s)
			if d.Allow != tt.want || d.Rule != tt.rule {
				t.Errorf("got %+v, want allow %v by rule %d", d, tt.want, tt.rule)
			}
		})
	}
	for _, p := range []string{"corp.example.com", "corp.example.com/*", "ghcr.io/corp/x"} {
		if !r.Covers("go", p) {
			t.Errorf("Covers(go, %q): got false, want true", p)
		}
	}
	if r.Covers("go", "other.example.com") {
		t.Error("Covers(go, other.example.com): got true")
	}
}

func TestParseRulesErrors(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{"no allow", "rules:\n  - users: [a]\n", "rules[0]: allow is missing"},
		{"bad glob", "rules:\n  - paths: [\"a[\"]\n    allow: true\n", "rules[0]: bad path glob"},
		{"unknown key", "rules:\n  - user: [a]\n    allow: true\n", "field user not found"},
		{"unknown top key", "rule: []\n", "field rule not found"},
		{"built-in group", "groups:\n  all: [a]\n", "groups: \"all\" is built in"},
		{"map as list", "rules:\n  - users: {a: b}\n    allow: true\n", "want a string or a list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseRules([]byte(tt.file))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
	r, err := ParseRules(nil)
	if err != nil || len(r.Rules) != 0 {
		t.Errorf("an empty file: got %+v, %v; want no rules", r, err)
	}
}
