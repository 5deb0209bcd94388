package cargo

import (
	"strings"
	"testing"
)

const cksumA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

func TestParseIndex(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []string // versions kept
		wantErr string
	}{
		{"two versions", `{"name":"Foo","vers":"1.0.0","cksum":"` + cksumA + `"}` + "\n" + `{"name":"foo","vers":"1.1.0","cksum":"` + cksumA + `"}` + "\n", []string{"1.0.0", "1.1.0"}, ""},
		{"blank lines", "\n\n" + `{"name":"foo","vers":"1.0.0","cksum":"` + cksumA + `"}`, []string{"1.0.0"}, ""},
		{"bad cksum skipped", `{"name":"foo","vers":"1.0.0","cksum":"xyz"}`, nil, ""},
		{"upper-case cksum skipped", `{"name":"foo","vers":"1.0.0","cksum":"` + strings.ToUpper(cksumA) + `"}`, nil, ""},
		{"bad version skipped", `{"name":"foo","vers":"../1","cksum":"` + cksumA + `"}`, nil, ""},
		{"another crate", `{"name":"bar","vers":"1.0.0","cksum":"` + cksumA + `"}`, nil, `line 1 names the crate "bar"`},
		{"not JSON", "<html>oops</html>", nil, "line 1"},
		{"empty", "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseIndex("foo", []byte(tt.body))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d versions %v, want %v", len(got), got, tt.want)
			}
			for _, v := range tt.want {
				if _, ok := got[v]; !ok {
					t.Errorf("got no version %s, want it", v)
				}
			}
		})
	}
}

func TestExpandDL(t *testing.T) {
	rel := release{Name: "Serde_Json", Vers: "1.0.0", Cksum: cksumA}
	tests := []struct{ dl, want string }{
		{"https://static.crates.io/crates", "https://static.crates.io/crates/Serde_Json/1.0.0/download"},
		{"https://static.crates.io/crates/", "https://static.crates.io/crates/Serde_Json/1.0.0/download"},
		{"https://h/{crate}/{crate}-{version}.crate", "https://h/Serde_Json/Serde_Json-1.0.0.crate"},
		{"https://h/{prefix}/{lowerprefix}/{sha256-checksum}", "https://h/Se/rd/se/rd/" + cksumA},
	}
	for _, tt := range tests {
		if got := expandDL(tt.dl, rel); got != tt.want {
			t.Errorf("expandDL(%q): got %q, want %q", tt.dl, got, tt.want)
		}
	}
}

// FuzzParseIndex checks that the index parser never panics and keeps only
// releases of the crate with usable versions and digests.
func FuzzParseIndex(f *testing.F) {
	f.Add("foo", `{"name":"foo","vers":"1.0.0","cksum":"`+cksumA+`"}`+"\n")
	f.Add("foo", `{"name":"FOO","vers":"1.0.0+x","cksum":"`+cksumA+`","deps":[],"features":{},"yanked":true}`)
	f.Add("foo", "\n\n{}\n")
	f.Add("foo", `{"name":"foo","vers":1}`)
	f.Add("a", `[1,2]`)
	f.Fuzz(func(t *testing.T, name, body string) {
		rels, err := parseIndex(name, []byte(body))
		if err != nil {
			return
		}
		for v, r := range rels {
			if v != r.Vers || !strings.EqualFold(r.Name, name) || CheckName(r.Name) != nil || checkVersion(v) != nil || !isSHA256(r.Cksum) {
				t.Fatalf("parseIndex(%q, %q) kept %+v", name, body, r)
			}
		}
	})
}
