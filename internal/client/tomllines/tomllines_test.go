package tomllines

import (
	"fmt"
	"testing"
)

func TestDotted(t *testing.T) {
	for _, tt := range []struct {
		in, want string
		ok       bool
	}{
		{"source.crates-io", "source.crates-io", true},
		{` source . "crates-io" `, "source.crates-io", true},
		{`'a.b'.c`, "a.b.c", true},
		{`"a\"b"`, `a"b`, true},
		{"a..b", "", false},
		{`"a"b`, "", false},
		{`"a`, "", false},
		{"", "", false},
	} {
		got, ok := dotted(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("dotted(%q): got %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestScan(t *testing.T) {
	in := "top = 1\n[[index]]\nurl = \"a\"\n[tool.x]\ny = [\n  1,\n]\n[[index]] # two\nurl = 'b'\n[[other]]\nz = { a = 1 }\nw = \"\"\"\n[not.a.header]\n\"\"\"\n"
	headers, entries, complete := Parse([]byte(in)).Scan()
	if !complete {
		t.Errorf("complete: got false, want true")
	}
	var got []string
	for _, h := range headers {
		got = append(got, fmt.Sprintf("[%s %v %d @%d]", h.Table, h.Array, h.Block, h.Line))
	}
	for _, e := range entries {
		got = append(got, fmt.Sprintf("%s/%d/%s=%s@%d", e.Table, e.Block, e.Key, e.Value, e.Line))
	}
	want := []string{
		"[index true 0 @1]", "[tool.x false -1 @3]", "[index true 1 @7]", "[other true 0 @9]",
		"/-1/top=1@0", `index/0/url="a"@2`, "tool.x/-1/y=[@4", "index/1/url='b'@8", "other/0/z={ a = 1 }@10", `other/0/w="""@11`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q,\nwant %q", got, want)
	}
	if _, _, complete := Parse([]byte("a = [\n")).Scan(); complete {
		t.Errorf("an unterminated array: got complete, want not")
	}
}

func TestEdit(t *testing.T) {
	tests := []struct {
		name, in    string
		edit        func(f *File) bool
		want        string
		wantChanged bool
	}{
		{"set keeps spacing and comment", "[a]\nk  =  'x'   # c\r\n", func(f *File) bool { return f.Set("a", "k", `"y"`) }, "[a]\nk  =  \"y\"   # c\r\n", true},
		{"set with one space before the comment", "k = 'x'   # c\n", func(f *File) bool { f.CommentSpace = " "; return f.Set("", "k", "1") }, "k = 1 # c\n", true},
		{"set same value", "[a]\nk = \"y\"\n", func(f *File) bool { return f.Set("a", "k", `"y"`) }, "[a]\nk = \"y\"\n", false},
		{"set under header", "[a]", func(f *File) bool { return f.Set("a", "k", "1") }, "[a]\nk = 1\n", true},
		{"set new table", "x = 1", func(f *File) bool { return f.Set("a", "k", "1") }, "x = 1\n\n[a]\nk = 1\n", true},
		{"set over a multi-line value", "k = [\n 1,\n]\nz = 2\n", func(f *File) bool { return f.Set("", "k", "[]") }, "k = []\nz = 2\n", true},
		{"append crlf", "x = 1\r\n\r\n", func(f *File) bool { f.Append("[[i]]", "u = 1"); return true }, "x = 1\r\n\r\n[[i]]\r\nu = 1\r\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Parse([]byte(tt.in))
			if changed := tt.edit(f); changed != tt.wantChanged {
				t.Errorf("changed: got %v, want %v", changed, tt.wantChanged)
			}
			if got := string(f.Bytes()); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestQuote(t *testing.T) {
	if got, want := Quote("a\"b\\c\x01"), `"a\"b\\c\u0001"`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// FuzzSet checks that a file reads back byte for byte, that Set never
// panics, that what it set reads back, and that setting it again changes
// nothing.
func FuzzSet(f *testing.F) {
	for _, s := range []string{"", "[a]\nk = 1 # c\n", "[[a]]\nk = [\n1,\n]\n", "k = '''\n", "[ \"a\" . b ]\r\n'k' = \"v\"\r\n", "a = { b = 1 }\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		file := Parse([]byte(in))
		if got := string(file.Bytes()); got != in {
			t.Fatalf("round trip: got %q, want %q", got, in)
		}
		if _, _, complete := file.Scan(); !complete {
			return
		}
		file.Set("a", "k", `"v"`)
		out := file.Bytes()
		again := Parse(out)
		if v, ok := again.Get("a", "k"); !ok || v != `"v"` {
			t.Fatalf("after Set on %q: got %q, %v; want \"v\"", in, v, ok)
		}
		if again.Set("a", "k", `"v"`) {
			t.Fatalf("a second Set changed %q", out)
		}
	})
}
