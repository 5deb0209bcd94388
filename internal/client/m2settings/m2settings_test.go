package m2settings

import (
	"strings"
	"testing"
)

const url = "https://mirror.example/maven2/"

func TestUseMirror(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{
			name: "missing file",
			in:   "",
			want: `<?xml version="1.0" encoding="UTF-8"?>
<settings xmlns="http://maven.apache.org/SETTINGS/1.2.0" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://maven.apache.org/SETTINGS/1.2.0 https://maven.apache.org/xsd/settings-1.2.0.xsd">
  <mirrors>
    <mirror>
      <id>gomirror</id>
      <mirrorOf>central</mirrorOf>
      <url>https://mirror.example/maven2/</url>
    </mirror>
  </mirrors>
</settings>
`,
		},
		{
			name: "no mirrors, four-space indent, comments kept",
			in:   "<?xml version=\"1.0\"?>\n<!-- mine -->\n<settings>\n    <localRepository>/data/m2</localRepository> <!-- keep -->\n</settings>\n",
			want: "<?xml version=\"1.0\"?>\n<!-- mine -->\n<settings>\n    <mirrors>\n        <mirror>\n            <id>gomirror</id>\n            <mirrorOf>central</mirrorOf>\n            <url>https://mirror.example/maven2/</url>\n        </mirror>\n    </mirrors>\n    <localRepository>/data/m2</localRepository> <!-- keep -->\n</settings>\n",
		},
		{
			name: "other mirrors: ours first",
			in:   "<settings>\n\t<mirrors>\n\t\t<mirror><id>corp</id><mirrorOf>corp-releases</mirrorOf><url>https://nexus/</url></mirror>\n\t</mirrors>\n</settings>",
			want: "<settings>\n\t<mirrors>\n\t\t<mirror>\n\t\t\t<id>gomirror</id>\n\t\t\t<mirrorOf>central</mirrorOf>\n\t\t\t<url>https://mirror.example/maven2/</url>\n\t\t</mirror>\n\t\t<mirror><id>corp</id><mirrorOf>corp-releases</mirrorOf><url>https://nexus/</url></mirror>\n\t</mirrors>\n</settings>",
		},
		{
			name: "ours replaced in place",
			in:   "<settings>\n  <mirrors>\n    <mirror><id>x</id></mirror>\n    <mirror> <id> gomirror </id><url>http://old/</url></mirror>\n  </mirrors>\n</settings>\n",
			want: "<settings>\n  <mirrors>\n    <mirror><id>x</id></mirror>\n    <mirror>\n      <id>gomirror</id>\n      <mirrorOf>central</mirrorOf>\n      <url>https://mirror.example/maven2/</url>\n    </mirror>\n  </mirrors>\n</settings>\n",
		},
		{
			name: "self-closing settings",
			in:   "<settings xmlns=\"http://maven.apache.org/SETTINGS/1.0.0\"/>\n",
			want: "<settings xmlns=\"http://maven.apache.org/SETTINGS/1.0.0\">\n  <mirrors>\n    <mirror>\n      <id>gomirror</id>\n      <mirrorOf>central</mirrorOf>\n      <url>https://mirror.example/maven2/</url>\n    </mirror>\n  </mirrors>\n</settings>\n",
		},
		{
			name: "self-closing mirrors",
			in:   "<settings>\n  <mirrors/>\n</settings>",
			want: "<settings>\n  <mirrors>\n    <mirror>\n      <id>gomirror</id>\n      <mirrorOf>central</mirrorOf>\n      <url>https://mirror.example/maven2/</url>\n    </mirror>\n  </mirrors>\n</settings>",
		},
		{
			name: "mirrors inside a profile are not the settings' mirrors",
			in:   "<settings>\n  <profiles><profile><mirrors/></profile></profiles>\n</settings>",
			want: "<settings>\n  <mirrors>\n    <mirror>\n      <id>gomirror</id>\n      <mirrorOf>central</mirrorOf>\n      <url>https://mirror.example/maven2/</url>\n    </mirror>\n  </mirrors>\n  <profiles><profile><mirrors/></profile></profiles>\n</settings>",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			changed, err := f.UseMirror("gomirror", "central", url)
			if err != nil || !changed {
				t.Fatalf("UseMirror: got %v, %v; want a change", changed, err)
			}
			if got := string(f.Bytes()); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			again, err := f.UseMirror("gomirror", "central", url)
			if err != nil || again {
				t.Errorf("UseMirror again: got %v, %v; want no change", again, err)
			}
		})
	}
}

func TestSetServer(t *testing.T) {
	f, _ := Parse([]byte("<settings>\n  <servers>\n    <server><id>corp</id></server>\n  </servers>\n</settings>\n"))
	if changed, err := f.SetServer("gomirror", "ci", "a<b&c"); err != nil || !changed {
		t.Fatalf("SetServer: %v %v", changed, err)
	}
	want := "<settings>\n  <servers>\n    <server>\n      <id>gomirror</id>\n      <username>ci</username>\n      <password>a&lt;b&amp;c</password>\n    </server>\n    <server><id>corp</id></server>\n  </servers>\n</settings>\n"
	if got := string(f.Bytes()); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestParseRefuses(t *testing.T) {
	for _, in := range []string{
		"<project/>",
		"<settings>",
		"<settings></settings><settings/>",
		"not xml",
		"<settings>&nbsp;</settings>",
		"<settings></mirrors>",
	} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q): got no error", in)
		}
	}
}

func FuzzUseMirror(f *testing.F) {
	for _, s := range []string{
		"",
		"<settings/>",
		"<settings>\n  <mirrors>\n    <mirror><id>gomirror</id></mirror>\n  </mirrors>\n</settings>",
		"<?xml version=\"1.0\"?><!-- c --><settings><mirrors/><servers><server><id>gomirror</id></server></servers></settings>",
		"<settings><profiles><profile><mirrors><mirror><id>gomirror</id></mirror></mirrors></profile></profiles></settings>",
		"<settings><mirrors><mirror><id>a</id></mirror><mirror><id>gomirror</id><![CDATA[x]]></mirror></mirrors></settings>",
		"<s:settings xmlns:s=\"x\"><s:mirrors/></s:settings>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		file, err := Parse([]byte(in))
		if err != nil {
			return
		}
		if _, err := file.UseMirror("gomirror", "*", url); err != nil {
			return
		}
		if _, err := file.SetServer("gomirror", "u", "p&<"); err != nil {
			t.Fatalf("SetServer after UseMirror on %q: %v", in, err)
		}
		out := file.Bytes()
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("the edit of %q does not parse: %v\n%s", in, err, out)
		}
		found := false
		for _, m := range again.Mirrors() {
			if m.ID == "gomirror" {
				found = m.MirrorOf == "*" && m.URL == url
				break
			}
		}
		if !found && !strings.Contains(in, ":mirrors") {
			t.Fatalf("the edit of %q has no gomirror mirror first of its id:\n%s", in, out)
		}
		if c1, err1 := again.UseMirror("gomirror", "*", url); err1 != nil || c1 {
			t.Fatalf("a second UseMirror on the edit of %q: changed %v, %v", in, c1, err1)
		}
	})
}
