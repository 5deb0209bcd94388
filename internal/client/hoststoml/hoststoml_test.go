package hoststoml

import (
	"slices"
	"strings"
	"testing"
)

func TestUseMirror(t *testing.T) {
	tests := []struct {
		name, registry, mirror, in, want string
	}{
		{
			name: "new file", registry: "docker.io", mirror: "https://mirror.example/",
			in: "",
			want: `server = "https://registry-1.docker.io"

[host."https://mirror.example"]
  capabilities = ["pull", "resolve"]
`,
		},
		{
			name: "other registry over http", registry: "ghcr.io", mirror: "http://10.0.0.5:8080",
			in: "",
			want: `server = "https://ghcr.io"

[host."http://10.0.0.5:8080"]
  capabilities = ["pull", "resolve"]
`,
		},
		{
			name: "mirror under a path", registry: "docker.io", mirror: "https://proxy.example/oci",
			in: "",
			want: `server = "https://registry-1.docker.io"

[host."https://proxy.example/oci/v2"]
  capabilities = ["pull", "resolve"]
  override_path = true
`,
		},
		{
			name: "existing hosts stay, after the mirror", registry: "docker.io", mirror: "https://mirror.example",
			in: `# managed by hand
server = "https://docker.io"

[host."https://other.example"]
  capabilities = ["pull"]
  skip_verify = true
  [host."https://other.example".header]
    x-custom = "1"
`,
			want: `# managed by hand
server = "https://docker.io"

[host."https://mirror.example"]
  capabilities = ["pull", "resolve"]

[host."https://other.example"]
  capabilities = ["pull"]
  skip_verify = true
  [host."https://other.example".header]
    x-custom = "1"
`,
		},
		{
			name: "no server, no final newline", registry: "quay.io", mirror: "https://m.example",
			in: `[host."https://other.example"]`,
			want: `server = "https://quay.io"

[host."https://m.example"]
  capabilities = ["pull", "resolve"]

[host."https://other.example"]
`,
		},
		{
			name: "CRLF kept", registry: "docker.io", mirror: "https://m.example",
			in:   "server = \"https://registry-1.docker.io\"\r\n",
			want: "server = \"https://registry-1.docker.io\"\r\n\r\n[host.\"https://m.example\"]\r\n  capabilities = [\"pull\", \"resolve\"]\r\n",
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
				t.Fatalf("got changed %v, %v; want a change", changed, err)
			}
			if got := string(f.Bytes()); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			// Again: nothing to change.
			f, err = Parse(f.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if changed, err := f.UseMirror(tt.registry, tt.mirror); changed || err != nil {
				t.Errorf("second use: got changed %v, %v; want no change", changed, err)
			}
			if got := f.Hosts(); len(got) == 0 || !slices.Equal(got[0].Capabilities, []string{"pull", "resolve"}) {
				t.Errorf("hosts: got %+v", got)
			}
		})
	}
}

func TestUseMirrorRefuses(t *testing.T) {
	tests := []struct{ name, registry, mirror, in, want string }{
		{"listed second", "docker.io", "https://m.example", "[host.\"https://a.example\"]\n[host.\"https://m.example\"]\n", "already listed as host 2"},
		{"bad registry", "Docker.IO/x", "https://m.example", "", "invalid registry"},
		{"bad mirror", "docker.io", "m.example", "", "invalid mirror URL"},
		{"mirror with query", "docker.io", "https://m.example/?x=1", "", "invalid mirror URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.UseMirror(tt.registry, tt.mirror); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := Parse([]byte("[host.unquoted]\n")); err == nil {
		t.Errorf("an unreadable host header parsed")
	}
}

func TestHosts(t *testing.T) {
	f, err := Parse([]byte(`server = 'https://registry-1.docker.io' # upstream
[host."https://a.example"]
  capabilities = ['pull']
[host."https://b.example/v2"]
  override_path = true
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Server(); got != "https://registry-1.docker.io" {
		t.Errorf("server: got %q", got)
	}
	got := f.Hosts()
	if len(got) != 2 || got[0].URL != "https://a.example" || !slices.Equal(got[0].Capabilities, []string{"pull"}) ||
		got[1].URL != "https://b.example/v2" || got[1].Capabilities != nil || !got[1].OverridePath {
		t.Errorf("got %+v", got)
	}
}

// FuzzUseMirror checks that any hosts.toml that parses comes back byte for
// byte, and that a mirror added to it is its first host.
func FuzzUseMirror(f *testing.F) {
	f.Add("server = \"https://registry-1.docker.io\"\n[host.\"https://a.example\"]\n  capabilities = [\"pull\"]\n")
	f.Add("[host.'x']\r\n[host.\"y\".header]\r\n")
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
			t.Fatalf("after UseMirror, the file does not parse: %v\n%s", err, f.Bytes())
		}
		if h := g.Hosts(); len(h) == 0 || h[0].URL != "https://m.example" {
			t.Fatalf("after UseMirror the mirror is not first: %+v\n%s", h, f.Bytes())
		}
	})
}
