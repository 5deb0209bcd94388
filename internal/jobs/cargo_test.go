package jobs

import (
	"slices"
	"strings"
	"testing"
)

func TestCargo(t *testing.T) {
	f := newFakeMirror()
	line := func(name, vers string, yanked bool) string {
		y := "false"
		if yanked {
			y = "true"
		}
		return `{"name":"` + name + `","vers":"` + vers + `","deps":[],"cksum":"00","features":{},"yanked":` + y + `}`
	}
	f.set("/cargo/index/se/rd/serde", strings.Join([]string{
		line("serde", "1.0.9", false), line("serde", "1.0.10", false), line("serde", "1.0.11", true),
		line("serde", "2.0.0-rc.1", false), line("serde", "1.0.2", false),
	}, "\n")+"\n")
	f.set("/cargo/index/3/a/abc", line("Abc", "0.1.0", false)+"\n")
	for _, p := range []string{"/cargo/api/v1/crates/serde/1.0.10/download", "/cargo/api/v1/crates/serde/1.0.9/download", "/cargo/api/v1/crates/Abc/0.1.0/download"} {
		f.set(p, "crate")
	}
	r := newTestRunner(t, f, newFakeClock(t0), "",
		Spec{Name: "rust", Kind: "cargo", Schedule: "1h", Cargo: &Packages{Packages: []string{"serde", "ABC"}, Newest: 2}})
	if st := runOnce(t, r, "rust"); st.Result != Success {
		t.Fatalf("got %s (%s), want success", st.Result, st.Error)
	}
	want := []string{"/cargo/api/v1/crates/Abc/0.1.0/download", "/cargo/api/v1/crates/serde/1.0.10/download",
		"/cargo/api/v1/crates/serde/1.0.9/download", "/cargo/index/3/a/abc", "/cargo/index/se/rd/serde"}
	if got := f.requested(); !slices.Equal(got, want) {
		t.Errorf("requested:\ngot  %q\nwant %q", got, want)
	}
}

func TestCargoSpec(t *testing.T) {
	for _, tt := range []struct {
		name    string
		spec    Spec
		wantErr string
	}{
		{"bad crate name", Spec{Name: "x", Kind: "cargo", Schedule: "1h", Cargo: &Packages{Packages: []string{"../x"}}}, `"../x" is not a crate name`},
		{"no section", Spec{Name: "x", Kind: "cargo", Schedule: "1h"}, "cargo: missing section"},
		{"no crates", Spec{Name: "x", Kind: "cargo", Schedule: "1h", Cargo: &Packages{}}, "packages: empty"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.spec.compile()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}
