package uvconf

import (
	"strings"
	"testing"
)

const mirror = "https://m.example/pypi/simple/"

func TestSetDefaultIndex(t *testing.T) {
	block := "[[index]]\nname = \"gomirror\"\nurl = \"" + mirror + "\"\ndefault = true\n"
	tests := []struct {
		name, in, want string
		changed        bool
	}{
		{"empty file", "", block, true},
		{"settings kept", "native-tls = true\n", "native-tls = true\n\n" + block, true},
		{"no final newline", "offline = false", "offline = false\n\n" + block, true},
		{
			"default index replaced, comment kept",
			"[[index]]\nname = \"corp\"\nurl  =  \"https://old.example/simple\"  # ours\ndefault = true\n",
			"[[index]]\nname = \"corp\"\nurl  =  \"" + mirror + "\" # ours\ndefault = true\n", true,
		},
		{
			"extra index left, default added",
			"[[index]]\nname = \"torch\"\nurl = \"https://download.pytorch.org/whl/cpu\"\n",
			"[[index]]\nname = \"torch\"\nurl = \"https://download.pytorch.org/whl/cpu\"\n\n" + block, true,
		},
		{
			"second index is the default",
			"[[index]]\nurl = \"https://a.example/\"\n\n[[index]]\nurl = \"https://b.example/\"\ndefault = true\n",
			"[[index]]\nurl = \"https://a.example/\"\n\n[[index]]\nurl = \"" + mirror + "\"\ndefault = true\n", true,
		},
		{
			"default without url",
			"[[index]]\ndefault = true\n",
			"[[index]]\nurl = \"" + mirror + "\"\ndefault = true\n", true,
		},
		{
			"legacy index-url also set",
			"index-url = \"https://pypi.org/simple\"\n[pip]\nindex-url = 'https://x.example/simple'\n",
			"index-url = \"" + mirror + "\"\n[pip]\nindex-url = \"" + mirror + "\"\n\n" + block, true,
		},
		{
			"multi-line values stepped over",
			"exclude-newer = \"\"\"\n[[index]]\ndefault = true\n\"\"\"\nconstraint-dependencies = [\n  \"a\", # [x\n  \"b\",\n]\n",
			"exclude-newer = \"\"\"\n[[index]]\ndefault = true\n\"\"\"\nconstraint-dependencies = [\n  \"a\", # [x\n  \"b\",\n]\n\n" + block, true,
		},
		{"unchanged", block, block, false},
		{"crlf", "offline = false\r\n", "offline = false\r\n\r\n" + strings.ReplaceAll(block, "\n", "\r\n"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Parse([]byte(tt.in))
			changed, err := f.SetDefaultIndex(mirror)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(f.Bytes()); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if changed != tt.changed {
				t.Errorf("changed = %v, want %v", changed, tt.changed)
			}
			if v, ok := Parse(f.Bytes()).DefaultIndex(); !ok || v != `"`+mirror+`"` {
				t.Errorf("DefaultIndex after: got %q, %v", v, ok)
			}
		})
	}
}

func TestUnterminated(t *testing.T) {
	for _, in := range []string{"a = [\n  \"x\",\n", "b = \"\"\"\ntext\n"} {
		f := Parse([]byte(in))
		if _, err := f.SetDefaultIndex(mirror); err != ErrUnterminated {
			t.Errorf("%q: got %v, want ErrUnterminated", in, err)
		}
		if string(f.Bytes()) != in {
			t.Errorf("%q changed into %q", in, f.Bytes())
		}
	}
}

func FuzzSetDefaultIndex(f *testing.F) {
	for _, s := range []string{"", "[[index]]\nurl = \"x\"\ndefault = true\n", "index-url='a'\r\n[pip]\n", "a = [\n[\n", "b = \"\"\"\n", "[[index]]\ndefault = true # c\nurl = \"a\" # d", "[[ index ]]\n'default' = true\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := string(Parse([]byte(s)).Bytes()); got != s {
			t.Fatalf("round trip: got %q, want %q", got, s)
		}
		p := Parse([]byte(s))
		if _, err := p.SetDefaultIndex(mirror); err != nil {
			if string(p.Bytes()) != s {
				t.Fatalf("SetDefaultIndex failed (%v) but changed %q", err, s)
			}
			return
		}
		once := p.Bytes()
		p2 := Parse(once)
		if changed, err := p2.SetDefaultIndex(mirror); changed || err != nil {
			t.Fatalf("second SetDefaultIndex on %q changed %q into %q", s, once, p2.Bytes())
		}
		if v, ok := p2.DefaultIndex(); !ok || v != `"`+mirror+`"` {
			t.Fatalf("after SetDefaultIndex on %q: DefaultIndex = %q, %v", s, v, ok)
		}
	})
}
