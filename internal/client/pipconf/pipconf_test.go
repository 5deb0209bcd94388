package pipconf

import (
	"testing"
)

func TestSet(t *testing.T) {
	tests := []struct {
		name, in, want string
		changed        bool
	}{
		{"empty file", "", "[global]\nindex-url = https://m.example/simple\n", true},
		{"no final newline", "[install]\nno-cache-dir = true", "[install]\nno-cache-dir = true\n\n[global]\nindex-url = https://m.example/simple\n", true},
		{
			"replace keeps key spelling and spacing",
			"[global]\nindex_url=https://old.example/simple\ntimeout = 60\n",
			"[global]\nindex_url=https://m.example/simple\ntimeout = 60\n", true,
		},
		{
			"replace continuation lines",
			"[global]\nindex-url =\n    https://old.example/simple\ntimeout = 60\n",
			"[global]\nindex-url =https://m.example/simple\ntimeout = 60\n", true,
		},
		{
			"append to section before next",
			"# mine\n[global]\ntimeout = 60\n\n[install]\nuser = true\n",
			"# mine\n[global]\ntimeout = 60\nindex-url = https://m.example/simple\n\n[install]\nuser = true\n", true,
		},
		{"unchanged", "[global]\nindex-url = https://m.example/simple\n", "[global]\nindex-url = https://m.example/simple\n", false},
		{"crlf", "[global]\r\ntimeout = 60\r\n", "[global]\r\ntimeout = 60\r\nindex-url = https://m.example/simple\r\n", true},
		{"other section only", "[install]\nindex-url = https://x.example\n", "[install]\nindex-url = https://x.example\n\n[global]\nindex-url = https://m.example/simple\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Parse([]byte(tt.in))
			changed := f.Set("global", "index-url", "https://m.example/simple")
			if got := string(f.Bytes()); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if changed != tt.changed {
				t.Errorf("changed = %v, want %v", changed, tt.changed)
			}
		})
	}
}

func TestAddToList(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"absent", "[global]\n", "[global]\ntrusted-host = m.example\n"},
		{"single line", "[global]\ntrusted-host = a.example\n", "[global]\ntrusted-host = a.example m.example\n"},
		{"multi line", "[global]\ntrusted-host =\n    a.example\n    b.example\n", "[global]\ntrusted-host =\n    a.example\n    b.example\n    m.example\n"},
		{"present", "[global]\ntrusted-host = m.example a.example\n", "[global]\ntrusted-host = m.example a.example\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Parse([]byte(tt.in))
			f.AddToList("global", "trusted-host", "m.example")
			if got := string(f.Bytes()); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGet(t *testing.T) {
	tests := []struct {
		name, in, want string
		ok             bool
	}{
		{"single line", "[global]\nindex-url = https://a.example\n", "https://a.example", true},
		{"continuation", "[global]\nindex-url =\n  a\n  b\n", "\na\nb", true},
		{"indented comment is not the value", "[global]\nindex-url = a\n #000\n", "a", true},
		{"empty value then indented comment", "[global]\nindex-url=\n #000", "", true},
		{"comment inside a value", "[global]\nindex-url =\n  a\n; note\n  b\n", "\na\nb", true},
		{"other section", "[install]\nindex-url = a\n", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Parse([]byte(tt.in)).Get("global", "index-url")
			if got != tt.want || ok != tt.ok {
				t.Errorf("Get: got %q, %v; want %q, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestEditTwice checks that the edit gomirror makes is idempotent: a
// second run on its output changes nothing.
func TestEditTwice(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{
			// Found by FuzzSet: the added index-url took the comment as
			// its continuation line.
			"empty key then indented comment",
			"[global]\ntrusted-host=\n #000",
			"[global]\ntrusted-host= m.example\nindex-url = https://m.example/simple\n #000",
		},
		{
			"comment between values",
			"[global]\ntrusted-host =\n  a.example\n # mine\n  b.example\n",
			"[global]\ntrusted-host =\n  a.example\n # mine\n  b.example\n  m.example\nindex-url = https://m.example/simple\n",
		},
	}
	const url = "https://m.example/simple"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Parse([]byte(tt.in))
			f.Set("global", "index-url", url)
			f.AddToList("global", "trusted-host", "m.example")
			if got := string(f.Bytes()); got != tt.want {
				t.Fatalf("first edit: got %q, want %q", got, tt.want)
			}
			again := Parse(f.Bytes())
			if v, ok := again.Get("global", "index-url"); v != url || !ok {
				t.Errorf("Get after the edit: got %q, %v; want %q", v, ok, url)
			}
			if again.Set("global", "index-url", url) || again.AddToList("global", "trusted-host", "m.example") {
				t.Errorf("second edit: changed %q to %q, want no change", f.Bytes(), again.Bytes())
			}
		})
	}
}

func FuzzSet(f *testing.F) {
	for _, s := range []string{"", "[global]\nindex-url = x\n", "[global]\r\ntrusted-host =\n  a\n  b", "key=v\n[global]\n;c\n", "[", "=\n\t=\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got := string(Parse([]byte(s)).Bytes()); got != s {
			t.Fatalf("round trip: got %q, want %q", got, s)
		}
		const url = "https://m.example/simple"
		p := Parse([]byte(s))
		p.Set("global", "index-url", url)
		p.AddToList("global", "trusted-host", "m.example")
		once := p.Bytes()
		p2 := Parse(once)
		if v, ok := p2.Get("global", "index-url"); !ok || v != url {
			t.Fatalf("after Set on %q: Get = %q, %v; want %q", s, v, ok, url)
		}
		if p2.Set("global", "index-url", url) || p2.AddToList("global", "trusted-host", "m.example") {
			t.Fatalf("second edit of %q changed %q", s, once)
		}
	})
}
