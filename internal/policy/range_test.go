package policy_test

import (
	"testing"

	"github.com/gomirror/gomirror/internal/policy"
)

func TestRange(t *testing.T) {
	tests := []struct {
		rng   string
		canon string
		in    []string
		out   []string
	}{
		{"", "*", []string{"v0.0.1", "v9.9.9", "", "master"}, nil},
		{" * ", "*", []string{"v1.0.0"}, nil},
		{"<v1.2.3", "<v1.2.3", []string{"v1.2.2", "v1.2.3-rc.1", "v0.0.0-20200101000000-abcdefabcdef"}, []string{"v1.2.3", "v1.3.0", "", "latest"}},
		{"<=v1.2.3", "<=v1.2.3", []string{"v1.2.3"}, []string{"v1.2.4"}},
		{">v1.2.3", ">v1.2.3", []string{"v1.2.4", "v2.0.0+incompatible"}, []string{"v1.2.3"}},
		{">= v1.0.0  < v1.4.0", ">=v1.0.0 <v1.4.0", []string{"v1.0.0", "v1.3.99"}, []string{"v0.9.9", "v1.4.0"}},
		{"v1.2.3", "=v1.2.3", []string{"v1.2.3"}, []string{"v1.2.4", "v1.2.3-pre"}},
		{"=v1.2", "=v1.2", []string{"v1.2.0"}, []string{"v1.2.1"}},
		{"!=v1.2.3", "!=v1.2.3", []string{"v1.2.4"}, []string{"v1.2.3"}},
		{"<v1.0.0 || >=v2.0.0 <v2.1.0 || v3.0.0", "<v1.0.0 || >=v2.0.0 <v2.1.0 || =v3.0.0",
			[]string{"v0.1.0", "v2.0.5", "v3.0.0"}, []string{"v1.0.0", "v2.1.0", "v3.0.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.rng, func(t *testing.T) {
			r, err := policy.ParseRange(tt.rng, policy.Semver{})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.String(); got != tt.canon {
				t.Errorf("got String %q, want %q", got, tt.canon)
			}
			for _, v := range tt.in {
				if !r.Contains(v) {
					t.Errorf("%q does not contain %q, want it to", tt.rng, v)
				}
			}
			for _, v := range tt.out {
				if r.Contains(v) {
					t.Errorf("%q contains %q, want it not to", tt.rng, v)
				}
			}
		})
	}
	var zero policy.Range
	if !zero.All() || !zero.Contains("v1.0.0") {
		t.Error("the zero Range does not hold every version")
	}
}

// FuzzParseRange checks that ParseRange never panics, that what it accepts
// prints in a form it reads back the same, and that Contains agrees.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"", "*", "<v1.2.3", ">= v1.0.0 <v1.4.0", "v1.2.3", "!=v1.0.0 || =v2.0.0", "||", ">=", "<<v1", "v1.2.3 ||"} {
		f.Add(s, "v1.2.3")
	}
	f.Fuzz(func(t *testing.T, s, v string) {
		r, err := policy.ParseRange(s, policy.Semver{})
		if err != nil {
			return
		}
		r2, err := policy.ParseRange(r.String(), policy.Semver{})
		if err != nil {
			t.Fatalf("ParseRange(%q).String() = %q, which does not parse: %v", s, r.String(), err)
		}
		if r2.String() != r.String() {
			t.Errorf("ParseRange(%q): String %q reads back as %q", s, r.String(), r2.String())
		}
		if r.Contains(v) != r2.Contains(v) {
			t.Errorf("%q and its String %q disagree on %q", s, r.String(), v)
		}
	})
}
