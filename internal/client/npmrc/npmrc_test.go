package npmrc

import (
	"strings"
	"testing"
)

func TestSet(t *testing.T) {
	const r = "https://m.example/"
	tests := []struct {
		name, in, want string
		changed        bool
	}{
		{"empty", "", "registry=https://m.example/\n", true},
		{"append keeps others", "@corp:registry=https://npm.corp\n# note\nstrict-ssl=true", "@corp:registry=https://npm.corp\n# note\nstrict-ssl=true\nregistry=https://m.example/\n", true},
		{"replace", "registry = https://old.example/\nsave-exact=true\n", "registry=https://m.example/\nsave-exact=true\n", true},
		{"same", "registry=https://m.example/\n", "registry=https://m.example/\n", false},
		{"before section", "a=1\n[x]\nregistry=y\n", "a=1\nregistry=https://m.example/\n[x]\nregistry=y\n", true},
		{"later duplicate dropped", "registry=https://m.example/\nregistry=https://b/\n", "registry=https://m.example/\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Parse([]byte(tt.in))
			changed := f.Set("registry", r)
			if got := string(f.Bytes()); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if changed != tt.changed {
				t.Errorf("changed = %v, want %v", changed, tt.changed)
			}
		})
	}
}

func FuzzSet(f *testing.F) {
	for _, s := range []string{"", "registry=x\n", "a=b\r\n[s]\nregistry=y", "; c\n=\n", "registry"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := string(Parse([]byte(s)).Bytes()); got != s {
			t.Fatalf("round trip: got %q, want %q", got, s)
		}
		const r = "https://m.example/"
		p := Parse([]byte(s))
		p.Set("registry", r)
		p2 := Parse(p.Bytes())
		if v, ok := p2.Get("registry"); !ok || v != r {
			t.Fatalf("after Set on %q: Get = %q, %v", s, v, ok)
		}
		if p2.Set("registry", r) {
			t.Fatalf("second Set on %q changed it", s)
		}
	})
}

func TestScopedRegistries(t *testing.T) {
	f := Parse([]byte("registry=https://r/\n@corp:registry = https://npm.corp/\n; @x:registry=https://c/\n@a:registry=https://a/\n//npm.corp/:_authToken=${TOKEN}\n[s]\n@b:registry=https://b/\n"))
	got := f.ScopedRegistries()
	want := map[string]string{"@corp": "https://npm.corp/", "@a": "https://a/"}
	if len(got) != len(want) || got["@corp"] != want["@corp"] || got["@a"] != want["@a"] {
		t.Errorf("got %v, want %v", got, want)
	}
	if f.Set(ScopeKey("corp"), "http://m/npm/"); f.ScopedRegistries()["@corp"] != "http://m/npm/" {
		t.Errorf("after Set: %v", f.ScopedRegistries())
	}
	if !strings.Contains(string(f.Bytes()), "//npm.corp/:_authToken=${TOKEN}\n") {
		t.Errorf("the token line changed: %q", f.Bytes())
	}
}
