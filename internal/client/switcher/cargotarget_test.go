package switcher

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/client/mirrors"
)

func TestCargoRegistry(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"http://mirror.example:8080", "sparse+http://mirror.example:8080/cargo/index/"},
		{"http://mirror.example:8080/", "sparse+http://mirror.example:8080/cargo/index/"},
		{"https://m.example/cargo", "sparse+https://m.example/cargo/index/"},
		{"https://m.example/cargo/index/", "sparse+https://m.example/cargo/index/"},
		{"sparse+https://m.example/crates.io-index", "sparse+https://m.example/crates.io-index/"},
		{"https://m.example/base/cargo/", "sparse+https://m.example/base/cargo/index/"},
	} {
		got, err := CargoRegistry(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("CargoRegistry(%q): got %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := CargoRegistry("ftp://m.example/"); err == nil {
		t.Errorf("CargoRegistry of an ftp URL succeeded")
	}
}

// TestUseRestoreCargo switches cargo in an existing config.toml under
// CARGO_HOME and in a new ~/.cargo/config.toml, and checks that restore
// puts the first back byte for byte and removes the second.
func TestUseRestoreCargo(t *testing.T) {
	const mirror = "http://mirror.example:8080"
	const want = `registry = "sparse+http://mirror.example:8080/cargo/index/"`
	tests := []struct {
		name      string
		cargoHome string // relative to HOME; "" means unset
		file      string // relative to HOME
		original  string // "" means no file
	}{
		{"existing file", "rust/cargo", "rust/cargo/config.toml",
			"# mine\r\n[source.crates-io]\r\nreplace-with = 'ustc'\r\n\r\n[source.ustc]\r\nregistry = \"sparse+https://mirrors.ustc.edu.cn/crates.io-index/\"\r\n\r\n[net]\r\ngit-fetch-with-cli = true\r\n"},
		{"legacy name", "", ".cargo/config", "[build]\njobs = 2\n"},
		{"no file", "", ".cargo/config.toml", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			env := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, ".config")}
			if tt.cargoHome != "" {
				env["CARGO_HOME"] = filepath.Join(home, tt.cargoHome)
			}
			file := filepath.Join(home, tt.file)
			if tt.original != "" {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(tt.original), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			s := &Switcher{Getenv: func(k string) string { return env[k] }, Out: &out}
			if err := s.Use(t.Context(), UseOptions{Target: mirrors.Cargo, Mirror: mirror}); err != nil {
				t.Fatalf("use cargo: %v", err)
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), want) || !strings.Contains(string(data), `replace-with = "gomirror"`) {
				t.Errorf("%s: got %q, want replace-with = \"gomirror\" and %s", tt.file, data, want)
			}
			out.Reset()
			if err := s.Use(t.Context(), UseOptions{Target: mirrors.Cargo, Mirror: mirror + "/cargo/index/"}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "nothing to change") {
				t.Errorf("second use: got %q, want nothing to change", out.String())
			}
			if err := s.Restore(t.Context(), mirrors.Cargo, "", false); err != nil {
				t.Fatalf("restore cargo: %v", err)
			}
			got, err := os.ReadFile(file)
			switch {
			case tt.original == "" && err == nil:
				t.Errorf("%s, which gomirror created, is still there", tt.file)
			case tt.original != "" && string(got) != tt.original:
				t.Errorf("restored %s: got %q, want %q", tt.file, got, tt.original)
			}
		})
	}
}

func TestUseCargoRefusesToken(t *testing.T) {
	home := t.TempDir()
	s := &Switcher{Getenv: func(k string) string { return map[string]string{"HOME": home}[k] }, Out: &bytes.Buffer{}}
	if err := s.Use(t.Context(), UseOptions{Target: mirrors.Cargo, Mirror: "https://m.example", Token: "secret"}); err == nil {
		t.Errorf("use cargo with a token succeeded")
	}
	if _, err := os.Stat(filepath.Join(home, ".cargo", "config.toml")); err == nil {
		t.Errorf("use cargo with a token wrote config.toml")
	}
}
