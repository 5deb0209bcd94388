package switcher

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/client/mirrors"
)

func TestUseRestoreUv(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	var out bytes.Buffer
	s := &Switcher{Getenv: func(k string) string { return env[k] }, Out: &out}
	ctx := t.Context()
	mirror, err := mirrors.Resolve(mirrors.Uv, "tuna")
	if err != nil || mirror != "https://pypi.tuna.tsinghua.edu.cn/simple" {
		t.Fatalf("Resolve(uv, tuna): got %q, %v; want pip's tuna URL", mirror, err)
	}

	t.Run("created and removed", func(t *testing.T) {
		file := filepath.Join(home, ".config", "uv", "uv.toml")
		if err := s.Use(ctx, UseOptions{Target: mirrors.Uv, Mirror: mirror}); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(file)
		want := "[[index]]\nname = \"gomirror\"\nurl = \"" + mirror + "\"\ndefault = true\n"
		if err != nil || string(got) != want {
			t.Fatalf("uv.toml: got %q, %v; want %q", got, err, want)
		}
		if err := s.Restore(ctx, mirrors.Uv, "", false); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(home, ".config", "uv")); err == nil {
			t.Errorf("restore left %s, which use created", filepath.Dir(file))
		}
	})

	t.Run("existing file restored byte for byte", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "uv.toml")
		orig := "# mine\r\nnative-tls = true\r\nindex-url = \"https://old.example/simple\"   # legacy\r\n\r\n[[index]]\r\nname = \"torch\"\r\nurl = \"https://download.pytorch.org/whl/cpu\"\r\n"
		os.WriteFile(file, []byte(orig), 0o600)
		env["UV_DEFAULT_INDEX"] = "https://env.example/simple"
		defer delete(env, "UV_DEFAULT_INDEX")
		out.Reset()
		if err := s.Use(ctx, UseOptions{Target: mirrors.Uv, Mirror: "http://127.0.0.1:8080/pypi/simple/", File: file}); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(file)
		for _, want := range []string{"index-url = \"http://127.0.0.1:8080/pypi/simple/\" # legacy\r\n", "url = \"https://download.pytorch.org/whl/cpu\"\r\n", "\r\n[[index]]\r\nname = \"gomirror\"\r\nurl = \"http://127.0.0.1:8080/pypi/simple/\"\r\ndefault = true\r\n"} {
			if !strings.Contains(string(got), want) {
				t.Errorf("uv.toml lacks %q:\n%s", want, got)
			}
		}
		if !strings.Contains(out.String(), "UV_DEFAULT_INDEX") {
			t.Errorf("no warning about UV_DEFAULT_INDEX:\n%s", out.String())
		}
		if fi, _ := os.Stat(file); fi.Mode().Perm() != 0o600 {
			t.Errorf("mode: got %v, want 0600", fi.Mode().Perm())
		}
		out.Reset()
		if err := s.Use(ctx, UseOptions{Target: mirrors.Uv, Mirror: "http://127.0.0.1:8080/pypi/simple/", File: file}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "nothing to change") {
			t.Errorf("second use: got %q, want nothing to change", out.String())
		}
		if err := s.Use(ctx, UseOptions{Target: mirrors.Uv, Mirror: mirror, File: file}); err != nil {
			t.Fatal(err)
		}
		if err := s.Restore(ctx, mirrors.Uv, file, false); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(file); string(got) != orig {
			t.Errorf("restored: got %q, want %q", got, orig)
		}
	})

	t.Run("unterminated file left alone", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "uv.toml")
		orig := "constraint-dependencies = [\n  \"a\",\n"
		os.WriteFile(file, []byte(orig), 0o644)
		if err := s.Use(ctx, UseOptions{Target: mirrors.Uv, Mirror: mirror, File: file}); err == nil {
			t.Errorf("use on an unterminated file: got no error")
		}
		if got, _ := os.ReadFile(file); string(got) != orig {
			t.Errorf("file changed: %q", got)
		}
	})
}
