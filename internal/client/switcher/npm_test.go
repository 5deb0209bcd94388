package switcher

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/client/mirrors"
)

// TestUseRestoreNodeTools switches npm, pnpm and yarn, with scopes, and
// checks that restore puts every file back byte for byte, and removes the
// files it created.
func TestUseRestoreNodeTools(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, ".config")}
	getenv := func(k string) string { return env[k] }
	originals := map[string]string{
		".npmrc":      "; mine\r\nregistry=https://registry.npmjs.org/\r\n@corp:registry=https://npm.corp.example/\r\n//npm.corp.example/:_authToken=${CORP_TOKEN}\r\n",
		".yarnrc.yml": "# berry\nnodeLinker: node-modules\nnpmScopes:\n  corp:\n    npmAlwaysAuth: true # keep\n",
	}
	for name, content := range originals {
		if err := os.WriteFile(filepath.Join(home, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var out bytes.Buffer
	s := &Switcher{Getenv: getenv, Out: &out}
	const mirror = "http://mirror.example:8080/npm/"
	for _, target := range []mirrors.Target{mirrors.Npm, mirrors.Pnpm, mirrors.Yarn} {
		if err := s.Use(t.Context(), UseOptions{Target: target, Mirror: mirror, Scopes: []string{"@corp"}}); err != nil {
			t.Fatalf("use %s: %v", target, err)
		}
	}
	read := func(p string) string {
		data, err := os.ReadFile(filepath.Join(home, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	for _, c := range []struct{ file, want string }{
		{".npmrc", "registry=" + mirror + "\r\n@corp:registry=" + mirror + "\r\n//npm.corp.example/:_authToken=${CORP_TOKEN}\r\n"},
		{".config/pnpm/rc", "registry=" + mirror + "\n@corp:registry=" + mirror + "\n"},
		{".yarnrc.yml", "nodeLinker: node-modules\nnpmScopes:\n  corp:\n    npmRegistryServer: \"" + mirror + "\"\n    npmAlwaysAuth: true # keep\nnpmRegistryServer: \"" + mirror + "\"\nunsafeHttpWhitelist:\n  - \"mirror.example\"\n"},
		{".yarnrc", "registry \"" + mirror + "\"\n\"@corp:registry\" \"" + mirror + "\"\n"},
	} {
		if got := read(c.file); !strings.Contains(got, c.want) {
			t.Errorf("%s: got %q, want it to contain %q", c.file, got, c.want)
		}
	}
	// Running use again changes nothing.
	out.Reset()
	if err := s.Use(t.Context(), UseOptions{Target: mirrors.Yarn, Mirror: mirror, Scopes: []string{"corp"}}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(out.String(), "nothing to change") != 2 {
		t.Errorf("second use yarn: %s", out.String())
	}
	for _, target := range []mirrors.Target{mirrors.Npm, mirrors.Pnpm, mirrors.Yarn} {
		if err := s.Restore(t.Context(), target, "", false); err != nil {
			t.Fatalf("restore %s: %v", target, err)
		}
	}
	for name, content := range originals {
		if got := read(name); got != content {
			t.Errorf("restored %s: got %q, want %q", name, got, content)
		}
	}
	for _, p := range []string{".yarnrc", ".config/pnpm/rc", ".config/pnpm"} {
		if _, err := os.Stat(filepath.Join(home, p)); err == nil {
			t.Errorf("%s, which gomirror created, is still there", p)
		}
	}
	if err := s.Use(t.Context(), UseOptions{Target: mirrors.Npm, Mirror: mirror, Scopes: []string{"@bad/scope"}}); err == nil {
		t.Errorf("use npm with an invalid scope succeeded")
	}
	if err := s.Use(t.Context(), UseOptions{Target: mirrors.Pip, Mirror: mirror, Scopes: []string{"@corp"}}); err == nil {
		t.Errorf("use pip with a scope succeeded")
	}
}

func TestNpmScopeNote(t *testing.T) {
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, ".npmrc"), []byte("@corp:registry=https://npm.corp.example/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	s := &Switcher{Getenv: func(k string) string { return map[string]string{"HOME": home}[k] }, Out: &out}
	if err := s.Use(t.Context(), UseOptions{Target: mirrors.Npm, Mirror: "https://m.example/npm/"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "@corp packages still come from https://npm.corp.example/") {
		t.Errorf("no note about the scoped registry:\n%s", out.String())
	}
}
