package dockerconf

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestUseMirror(t *testing.T) {
	const m = "https://m.example"
	tests := []struct {
		name, in, want string
		changed        bool
	}{
		{"empty", "", "{\n  \"registry-mirrors\": [\n    \"https://m.example\"\n  ]\n}\n", true},
		{
			"keeps keys in order",
			"{\n    \"log-driver\": \"json-file\",\n    \"debug\": true\n}\n",
			"{\n    \"log-driver\": \"json-file\",\n    \"debug\": true,\n    \"registry-mirrors\": [\n        \"https://m.example\"\n    ]\n}\n", true,
		},
		{
			"prepends and dedupes",
			"{\"registry-mirrors\": [\"https://a.example\", \"https://m.example/\"]}",
			"{\n  \"registry-mirrors\": [\n    \"https://m.example\",\n    \"https://a.example\"\n  ]\n}\n", true,
		},
		{"already first", "{\"registry-mirrors\": [\"https://m.example\", \"https://a.example\"]}", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			changed, err := c.UseMirror(m)
			if err != nil {
				t.Fatal(err)
			}
			if changed != tt.changed {
				t.Errorf("changed = %v, want %v", changed, tt.changed)
			}
			if tt.changed {
				if got := string(c.Bytes()); got != tt.want {
					t.Errorf("got %q, want %q", got, tt.want)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, in string }{
		{"array", "[]"},
		{"bad json", "{"},
		{"duplicate", `{"a":1,"a":2}`},
		{"trailing", `{} {}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.in)); err == nil {
				t.Errorf("Parse(%q): got no error, want one", tt.in)
			}
		})
	}
	c, err := Parse([]byte(`{"registry-mirrors": "https://x"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.UseMirror("https://m"); err == nil {
		t.Errorf("UseMirror on a non-list: got no error, want one")
	}
}

func FuzzUseMirror(f *testing.F) {
	for _, s := range []string{"", "{}", `{"registry-mirrors":["https://a"],"x":{"y":[1,2]}}`, `{"a":1e3,"b":null}`, "[1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse([]byte(s))
		if err != nil {
			return
		}
		before := map[string]any{}
		_ = json.Unmarshal([]byte(s), &before)
		if _, err := c.UseMirror("https://m.example"); err != nil {
			return
		}
		out := c.Bytes()
		c2, err := Parse(out)
		if err != nil {
			t.Fatalf("output of %q does not parse: %v\n%s", s, err, out)
		}
		list, err := c2.Mirrors()
		if err != nil || len(list) == 0 || list[0] != "https://m.example" {
			t.Fatalf("mirrors after UseMirror on %q: %v, %v", s, list, err)
		}
		if changed, _ := c2.UseMirror("https://m.example"); changed {
			t.Fatalf("second UseMirror on %q changed it", s)
		}
		for k := range before {
			if !slices.Contains(c2.Keys(), k) {
				t.Fatalf("key %q of %q lost", k, s)
			}
		}
	})
}
