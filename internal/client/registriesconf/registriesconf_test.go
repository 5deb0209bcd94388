package registriesconf

import (
	"strings"
	"testing"
)

func TestUseMirror(t *testing.T) {
	tests := []struct{ name, registry, mirror, in, want string }{
		{
			name: "new file", registry: "docker.io", mirror: "https://mirror.example/",
			want: `[[registry]]
prefix = "docker.io"
location = "docker.io"

[[registry.mirror]]
location = "mirror.example/docker.io"
`,
		},
		{
			name: "Debian's default file, plain http", registry: "ghcr.io", mirror: "http://10.0.0.5:8080",
			in: `# For more information on this configuration file, see containers-registries.conf(5).
unqualified-search-registries = ["docker.io"]
`,
			want: `# For more information on this configuration file, see containers-registries.conf(5).
unqualified-search-registries = ["docker.io"]

[[registry]]
prefix = "ghcr.io"
location = "ghcr.io"

[[registry.mirror]]
location = "10.0.0.5:8080/ghcr.io"
insecure = true
`,
		},
		{
			name: "existing table and mirror", registry: "docker.io", mirror: "https://m.example",
			in: `unqualified-search-registries = ["docker.io"]

[[registry]]
prefix = "docker.io"
location = "docker.io"
blocked = false

[[registry.mirror]]
location = "other.example/dockerhub"

[[registry]]
location = "quay.io"

[aliases]
"fedora" = "registry.fedoraproject.org/fedora"
`,
			want: `unqualified-search-registries = ["docker.io"]

[[registry]]
prefix = "docker.io"
location = "docker.io"
blocked = false

[[registry.mirror]]
location = "m.example/docker.io"

[[registry.mirror]]
location = "other.example/dockerhub"

[[registry]]
location = "quay.io"

[aliases]
"fedora" = "registry.fedoraproject.org/fedora"
`,
		},
		{
			name: "table matched by location, followed by another table", registry: "quay.io", mirror: "https://m.example",
			in: `[[registry]]
location = "quay.io"
[aliases]
"x" = "quay.io/x"`,
			want: `[[registry]]
location = "quay.io"

[[registry.mirror]]
location = "m.example/quay.io"

[aliases]
"x" = "quay.io/x"
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			changed, err := f.UseMirror(tt.registry, tt.mirror)
			if err != nil || !changed {
				t.Fatalf("got %v, %v; want a change", changed, err)
			}
			if got := string(f.Bytes()); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			f, err = Parse(f.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if changed, err := f.UseMirror(tt.registry, tt.mirror); changed || err != nil {
				t.Errorf("second use: got %v, %v; want no change", changed, err)
			}
			var found bool
			for _, r := range f.Registries() {
				if r.matches(tt.registry) {
					found = len(r.Mirrors) > 0 && strings.HasSuffix(r.Mirrors[0].Location, "/"+tt.registry)
				}
			}
			if !found {
				t.Errorf("the mirror is not first: %+v", f.Registries())
			}
		})
	}
}

func TestUseMirrorRefuses(t *testing.T) {
	tests := []struct{ name, registry, mirror, in, want string }{
		{"version 1 file", "docker.io", "https://m.example", "[registries.search]\nregistries = ['docker.io']\n", "version 1"},
		{"mirror with a path", "docker.io", "https://m.example/oci", "", "has a path"},
		{"not a URL", "docker.io", "m.example", "", "invalid mirror URL"},
		{"listed second", "docker.io", "https://m.example", `[[registry]]
prefix = "docker.io"
[[registry.mirror]]
location = "a.example"
[[registry.mirror]]
location = "m.example/docker.io"
`, "already mirror 2 of 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.in))
			if err == nil {
				_, err = f.UseMirror(tt.registry, tt.mirror)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// FuzzUseMirror checks that any registries.conf that parses comes back
// byte for byte, and that a mirror added to it is the registry's first.
func FuzzUseMirror(f *testing.F) {
	f.Add("unqualified-search-registries = [\"docker.io\"]\n[[registry]]\nprefix = \"docker.io\"\nlocation = \"docker.io\"\n[[registry.mirror]]\nlocation = \"a.example\"\n")
	f.Add("[[registry]]\nlocation = 'docker.io' # hub\n[aliases]\n")
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		f, err := Parse([]byte(in))
		if err != nil {
			return
		}
		if !strings.Contains(in, "\r") && string(f.Bytes()) != in {
			t.Fatalf("round trip: got %q, want %q", f.Bytes(), in)
		}
		if _, err := f.UseMirror("docker.io", "https://m.example"); err != nil {
			return
		}
		g, err := Parse(f.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range g.Registries() {
			if r.matches("docker.io") {
				if len(r.Mirrors) == 0 || r.Mirrors[0].Location != "m.example/docker.io" {
					t.Fatalf("the mirror is not first: %+v\n%s", r, f.Bytes())
				}
				return
			}
		}
		t.Fatalf("no docker.io table after UseMirror:\n%s", f.Bytes())
	})
}
