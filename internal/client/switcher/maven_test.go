package switcher

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/client/mirrors"
)

// TestUseRestoreMaven switches Maven's settings.xml, with and without a
// file there, and checks that restore puts it back byte for byte.
func TestUseRestoreMaven(t *testing.T) {
	for _, tt := range []struct {
		name     string
		original *string // nil: no file
		mirrorOf string
	}{
		{"no settings.xml", nil, ""},
		{"settings.xml of its own", ptr("<?xml version=\"1.0\"?>\r\n<settings>\r\n  <!-- corp -->\r\n  <mirrors>\r\n    <mirror><id>corp</id><mirrorOf>corp</mirrorOf><url>https://nexus.corp.example/</url></mirror>\r\n  </mirrors>\r\n</settings>\r\n"), "*"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			env := map[string]string{"HOME": home, "XDG_CONFIG_HOME": filepath.Join(home, ".config")}
			file := filepath.Join(home, ".m2", "settings.xml")
			if tt.original != nil {
				os.MkdirAll(filepath.Dir(file), 0o755)
				if err := os.WriteFile(file, []byte(*tt.original), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			s := &Switcher{Getenv: func(k string) string { return env[k] }, Out: &out}
			opts := UseOptions{Target: mirrors.Maven, Mirror: "https://mirror.example", MirrorOf: tt.mirrorOf, Token: "tok"}
			if err := s.Use(t.Context(), opts); err != nil {
				t.Fatalf("use maven: %v", err)
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			wantOf := tt.mirrorOf
			if wantOf == "" {
				wantOf = "central"
			}
			for _, want := range []string{"<id>gomirror</id>", "<mirrorOf>" + wantOf + "</mirrorOf>", "<url>https://mirror.example/maven2/</url>", "<password>tok</password>"} {
				if !strings.Contains(string(data), want) {
					t.Errorf("settings.xml lacks %s:\n%s", want, data)
				}
			}
			if strings.Contains(out.String(), "tok<") {
				t.Errorf("the token was printed: %s", out.String())
			}
			if tt.original != nil && !strings.Contains(string(data), "<!-- corp -->") {
				t.Errorf("the user's comment was dropped:\n%s", data)
			}
			out.Reset()
			if err := s.Use(t.Context(), opts); err != nil || !strings.Contains(out.String(), "nothing to change") {
				t.Errorf("second use: %v, %s", err, out.String())
			}
			if err := s.Restore(t.Context(), mirrors.Maven, "", false); err != nil {
				t.Fatalf("restore maven: %v", err)
			}
			data, err = os.ReadFile(file)
			switch {
			case tt.original == nil && err == nil:
				t.Errorf("restore left the settings.xml it created: %s", data)
			case tt.original == nil:
				if _, err := os.Stat(filepath.Dir(file)); err == nil {
					t.Errorf("restore left the ~/.m2 it created")
				}
			case err != nil || string(data) != *tt.original:
				t.Errorf("restored settings.xml: got %q, %v; want %q", data, err, *tt.original)
			}
		})
	}
}

func TestMavenRepositoryURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://mirror.example":                "https://mirror.example/maven2/",
		"https://mirror.example/":               "https://mirror.example/maven2/",
		"https://mirror.example/maven2":         "https://mirror.example/maven2/",
		"https://repo.maven.apache.org/maven2/": "https://repo.maven.apache.org/maven2/",
		"http://10.0.0.7:8080/gomirror":         "http://10.0.0.7:8080/gomirror/maven2/",
	} {
		if got := MavenRepositoryURL(in); got != want {
			t.Errorf("MavenRepositoryURL(%q): got %q, want %q", in, got, want)
		}
	}
}

func ptr(s string) *string { return &s }
