package cargoconf

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

const reg = "sparse+http://mirror.example:8080/cargo/index/"

func TestUseMirror(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    string
		changed bool
		wantErr string
	}{
		{"empty", "", "[source.crates-io]\nreplace-with = \"gomirror\"\n\n[source.gomirror]\nregistry = \"" + reg + "\"\n", true, ""},
		{"other settings", "[net]\ngit-fetch-with-cli = true", "[net]\ngit-fetch-with-cli = true\n\n[source.crates-io]\nreplace-with = \"gomirror\"\n\n[source.gomirror]\nregistry = \"" + reg + "\"\n", true, ""},
		{"another mirror",
			"[source.crates-io]\nreplace-with = 'tuna' # the old one\n\n[source.tuna]\nregistry = \"sparse+https://mirrors.tuna.tsinghua.edu.cn/crates.io-index/\"\n",
			"[source.crates-io]\nreplace-with = \"gomirror\" # the old one\n\n[source.tuna]\nregistry = \"sparse+https://mirrors.tuna.tsinghua.edu.cn/crates.io-index/\"\n\n[source.gomirror]\nregistry = \"" + reg + "\"\n",
			true, ""},
		{"quoted header", "[ source . \"crates-io\" ]\n\"replace-with\" = \"x\"\n", "[ source . \"crates-io\" ]\n\"replace-with\" = \"gomirror\"\n\n[source.gomirror]\nregistry = \"" + reg + "\"\n", true, ""},
		{"header without the key", "[source.crates-io]\n# nothing yet\n", "[source.crates-io]\nreplace-with = \"gomirror\"\n# nothing yet\n\n[source.gomirror]\nregistry = \"" + reg + "\"\n", true, ""},
		{"already", "[source.crates-io]\nreplace-with = \"gomirror\"\n[source.gomirror]\nregistry = \"" + reg + "\"\n", "", false, ""},
		{"crlf", "[net]\r\nretry = 2\r\n", "[net]\r\nretry = 2\r\n\r\n[source.crates-io]\r\nreplace-with = \"gomirror\"\r\n\r\n[source.gomirror]\r\nregistry = \"" + reg + "\"\r\n", true, ""},
		{"header text in a string", "[alias]\nx = \"\"\"\n[source.crates-io]\nreplace-with = \"no\"\n\"\"\"\n",
			"[alias]\nx = \"\"\"\n[source.crates-io]\nreplace-with = \"no\"\n\"\"\"\n\n[source.crates-io]\nreplace-with = \"gomirror\"\n\n[source.gomirror]\nregistry = \"" + reg + "\"\n", true, ""},
		{"dotted key", "source.crates-io.replace-with = \"x\"\n", "", false, "in a form gomirror does not edit"},
		{"inline table", "[source]\ncrates-io = { replace-with = \"x\" }\n", "", false, "in a form gomirror does not edit"},
		{"another kind of source", "[source.gomirror]\ndirectory = \"vendor\"\n", "", false, "already has directory"},
		{"unterminated", "[alias]\nx = '''\nnever closed\n", "", false, ErrUnterminated.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Parse([]byte(tt.in))
			changed, err := f.UseMirror(reg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				if got := string(f.Bytes()); got != tt.in {
					t.Errorf("a refused edit changed the file: got %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if !tt.changed {
				want = tt.in
			}
			if changed != tt.changed || string(f.Bytes()) != want {
				t.Errorf("got changed %v,\n%q\nwant %v,\n%q", changed, f.Bytes(), tt.changed, want)
			}
		})
	}
}

// FuzzUseMirror checks that an edit never panics, that an edited file
// reads back with both settings, that a second edit changes nothing, and
// that a file the edit refuses is left as it was.
func FuzzUseMirror(f *testing.F) {
	for _, s := range []string{
		"", "[net]\nretry = 2\n", "[source.crates-io]\nreplace-with = 'x'\n", "source.crates-io.replace-with = 'x'",
		"[source]\ncrates-io = {}\n", "a = \"\"\"\n[source.gomirror]\n", "[source.gomirror] # c\nregistry = [\n 1,\n]\n",
		"[[source.crates-io]]\nx=1\n", "\r\n[x]\r\n", "[source.\"crates-io\"]\n'replace-with' = \"a\" # c\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		file := Parse([]byte(in))
		_, err := file.UseMirror(reg)
		if err != nil {
			if !bytes.Equal(file.Bytes(), []byte(in)) {
				t.Fatalf("a refused edit changed %q to %q", in, file.Bytes())
			}
			return
		}
		out := file.Bytes()
		again := Parse(out)
		if v, ok := again.Get("source.crates-io", "replace-with"); !ok || v != `"gomirror"` {
			t.Fatalf("edited %q: replace-with reads %q, %v", in, v, ok)
		}
		if v, ok := again.Get("source.gomirror", "registry"); !ok || v != Quote(reg) {
			t.Fatalf("edited %q: registry reads %q, %v", in, v, ok)
		}
		changed, err := again.UseMirror(reg)
		if err != nil || changed {
			t.Fatalf("a second edit of %q: changed %v, %v", out, changed, err)
		}
	})
}

func TestErrUnterminatedIs(t *testing.T) {
	_, err := Parse([]byte("x = [\n")).UseMirror(reg)
	if !errors.Is(err, ErrUnterminated) {
		t.Errorf("got %v, want ErrUnterminated", err)
	}
}
