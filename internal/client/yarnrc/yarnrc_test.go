package yarnrc

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestBerrySet(t *testing.T) {
	const u = "http://m.example/npm/"
	tests := []struct {
		name, in string
		path     []string
		want     string
		changed  bool
	}{
		{"empty", "", []string{"npmRegistryServer"}, "npmRegistryServer: \"http://m.example/npm/\"\n", true},
		{"replace keeps comment", "# mine\nnpmRegistryServer: 'https://old/' # old one\nnodeLinker: node-modules\n", []string{"npmRegistryServer"},
			"# mine\nnpmRegistryServer: \"http://m.example/npm/\" # old one\nnodeLinker: node-modules\n", true},
		{"same", "npmRegistryServer: \"http://m.example/npm/\"\n", []string{"npmRegistryServer"}, "npmRegistryServer: \"http://m.example/npm/\"\n", false},
		{"same plain", "npmRegistryServer: http://m.example/npm/\n", []string{"npmRegistryServer"}, "npmRegistryServer: http://m.example/npm/\n", false},
		{"append without final newline", "nodeLinker: pnp", []string{"npmRegistryServer"}, "nodeLinker: pnp\nnpmRegistryServer: \"http://m.example/npm/\"\n", true},
		{"crlf", "nodeLinker: pnp\r\n", []string{"npmRegistryServer"}, "nodeLinker: pnp\r\nnpmRegistryServer: \"http://m.example/npm/\"\r\n", true},
		{"new scope", "npmRegistryServer: x\n", []string{"npmScopes", "corp", "npmRegistryServer"},
			"npmRegistryServer: x\nnpmScopes:\n  corp:\n    npmRegistryServer: \"http://m.example/npm/\"\n", true},
		{"scope beside another", "npmScopes:\n    other:\n        npmAlwaysAuth: true\n", []string{"npmScopes", "corp", "npmRegistryServer"},
			"npmScopes:\n    corp:\n      npmRegistryServer: \"http://m.example/npm/\"\n    other:\n        npmAlwaysAuth: true\n", true},
		{"scope without server", "npmScopes:\n  corp:\n    npmAuthToken: t\n", []string{"npmScopes", "corp", "npmRegistryServer"},
			"npmScopes:\n  corp:\n    npmRegistryServer: \"http://m.example/npm/\"\n    npmAuthToken: t\n", true},
		{"empty scopes", "npmScopes:\nx: 1\n", []string{"npmScopes", "corp", "npmRegistryServer"},
			"npmScopes:\n  corp:\n    npmRegistryServer: \"http://m.example/npm/\"\nx: 1\n", true},
		{"empty value", "npmRegistryServer:\n", []string{"npmRegistryServer"}, "npmRegistryServer: \"http://m.example/npm/\"\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseBerry([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			changed, err := b.Set(u, tt.path...)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(b.Bytes()); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if changed != tt.changed {
				t.Errorf("changed = %v, want %v", changed, tt.changed)
			}
			if v, ok := b.Get(tt.path...); !ok || v != u {
				t.Errorf("Get = %q, %v", v, ok)
			}
		})
	}
	for _, bad := range []string{"npmRegistryServer: |\n  x\n", "npmScopes: {corp: {}}\n", "npmScopes: 3\n"} {
		b, err := ParseBerry([]byte(bad))
		if err != nil {
			continue
		}
		if _, err := b.Set(u, "npmScopes", "corp", "npmRegistryServer"); err == nil && strings.HasPrefix(bad, "npmScopes") {
			t.Errorf("Set on %q succeeded", bad)
		}
		if _, err := b.Set(u, "npmRegistryServer"); err == nil && strings.HasPrefix(bad, "npmRegistryServer") {
			t.Errorf("Set on %q succeeded", bad)
		}
	}
	if _, err := ParseBerry([]byte("- a\n")); err == nil {
		t.Errorf("ParseBerry of a list succeeded")
	}
}

func TestBerryAddToList(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"absent", "a: 1\n", "a: 1\nunsafeHttpWhitelist:\n  - \"m.example\"\n"},
		{"block", "unsafeHttpWhitelist:\n  - localhost\nb: 2\n", "unsafeHttpWhitelist:\n  - localhost\n  - \"m.example\"\nb: 2\n"},
		{"flow", "unsafeHttpWhitelist: [localhost] # hosts\n", "unsafeHttpWhitelist: [localhost, \"m.example\"] # hosts\n"},
		{"empty flow", "unsafeHttpWhitelist: []\n", "unsafeHttpWhitelist: [\"m.example\"]\n"},
		{"present", "unsafeHttpWhitelist:\n  - m.example\n", "unsafeHttpWhitelist:\n  - m.example\n"},
		{"null", "unsafeHttpWhitelist:\n", "unsafeHttpWhitelist:\n  - \"m.example\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseBerry([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.AddToList("unsafeHttpWhitelist", "m.example"); err != nil {
				t.Fatal(err)
			}
			if got := string(b.Bytes()); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClassicSet(t *testing.T) {
	tests := []struct {
		name, in, key, want string
		changed             bool
	}{
		{"empty", "", "registry", "registry \"http://m/\"\n", true},
		{"replace", "# yarn lockfile v1\nregistry \"https://registry.yarnpkg.com\"\nlastUpdateCheck 1\n", "registry", "# yarn lockfile v1\nregistry \"http://m/\"\nlastUpdateCheck 1\n", true},
		{"same unquoted", "registry http://m/\n", "registry", "registry http://m/\n", false},
		{"scoped", "registry x\n", "@corp:registry", "registry x\n\"@corp:registry\" \"http://m/\"\n", true},
		{"scoped replace", "\"@corp:registry\" \"https://npm.corp/\"\n", "@corp:registry", "\"@corp:registry\" \"http://m/\"\n", true},
		{"duplicate dropped", "registry a\nregistry b\n", "registry", "registry \"http://m/\"\n", true},
		{"nested ignored", "x:\n  registry a\n", "registry", "x:\n  registry a\nregistry \"http://m/\"\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ParseClassic([]byte(tt.in))
			changed := c.Set(tt.key, "http://m/")
			if got := string(c.Bytes()); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if changed != tt.changed {
				t.Errorf("changed = %v, want %v", changed, tt.changed)
			}
		})
	}
}

func FuzzBerry(f *testing.F) {
	for _, s := range []string{"", "npmRegistryServer: x\n", "npmScopes:\n  corp:\n    a: b\n", "a: [1]\n", "unsafeHttpWhitelist: [a]\n", "# c\r\nx: 1", "npmScopes:\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseBerry([]byte(s))
		if err != nil {
			return
		}
		if got := string(b.Bytes()); got != s {
			t.Fatalf("round trip: got %q, want %q", got, s)
		}
		const u = "http://m.example/npm/"
		for _, path := range [][]string{{"npmRegistryServer"}, {"npmScopes", "corp", "npmRegistryServer"}} {
			if _, err := b.Set(u, path...); err != nil {
				continue
			}
			var any map[string]any
			if err := yaml.Unmarshal(b.Bytes(), &any); err != nil {
				t.Fatalf("after Set(%v) on %q: invalid YAML %q: %v", path, s, b.Bytes(), err)
			}
			if v, ok := b.Get(path...); !ok || v != u {
				t.Fatalf("after Set(%v) on %q: Get = %q, %v; file %q", path, s, v, ok, b.Bytes())
			}
			if changed, err := b.Set(u, path...); err != nil || changed {
				t.Fatalf("second Set(%v) on %q: changed %v, %v", path, s, changed, err)
			}
		}
	})
}

func FuzzClassic(f *testing.F) {
	for _, s := range []string{"", "registry x\n", "\"@a:registry\" \"y\"\r\n", "# c\n  registry z", "registry"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := ParseClassic([]byte(s))
		if got := string(c.Bytes()); got != s {
			t.Fatalf("round trip: got %q, want %q", got, s)
		}
		c.Set("registry", "http://m/")
		c2 := ParseClassic(c.Bytes())
		if v, ok := c2.Get("registry"); !ok || v != "http://m/" {
			t.Fatalf("after Set on %q: Get = %q, %v", s, v, ok)
		}
		if c2.Set("registry", "http://m/") {
			t.Fatalf("second Set on %q changed it", s)
		}
	})
}
