package npm

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzRewrite checks the packument rewriter on any input: it never
// panics, what it accepts renders to JSON in both forms, every tarball it
// can serve points at the mirror, and integrity and signatures are kept.
func FuzzRewrite(f *testing.F) {
	for _, s := range []string{
		`{"name":"x","versions":{"1.0.0":{"dist":{"tarball":"https://r.example/x/-/x-1.0.0.tgz","integrity":"sha512-AAAA","signatures":[{"keyid":"k","sig":"s"}]}}}}`,
		`{"name":"x","dist-tags":{"latest":"1.0.0"},"time":{"modified":"2020"},"versions":{"1.0.0":{"scripts":{"install":"x"},"dist":{"tarball":"http://h/x-1.0.0.tgz?a=b"}}}}`,
		`{"name":"x","versions":{"1.0.0":{"dist":{"tarball":"ftp://h/x.tgz"}}}}`,
		`{"name":"x","versions":{"1.0.0":{"dist":{"tarball":"https://h/../../.tgz"}}}}`,
		`{"name":"x","versions":null}`, `{"name":"x"}`, `{"name":"x","versions":{"1":{"dist":null}}}`,
		`{"name":"x","versions":{"1":{"dist":{"tarball":"https://h/x-1.tgz","integrity":"<&>"}}}}`,
		`[]`, `null`, `{"name":1}`, `{"name":"x","dist-tags":[]}`,
	} {
		f.Add(s)
	}
	const base = "https://mirror.example"
	f.Fuzz(func(t *testing.T, body string) {
		p, err := parsePackument("x", []byte(body))
		if err != nil {
			return
		}
		for _, abbreviated := range []bool{false, true} {
			out, err := p.render(base, abbreviated)
			if err != nil {
				t.Fatalf("render(%v) of %q: %v", abbreviated, body, err)
			}
			var doc struct {
				Name     string `json:"name"`
				Versions map[string]struct {
					Dist map[string]json.RawMessage `json:"dist"`
				} `json:"versions"`
			}
			if err := json.Unmarshal(out, &doc); err != nil {
				t.Fatalf("render(%v) of %q gave invalid JSON %q: %v", abbreviated, body, out, err)
			}
			if doc.Name != "x" {
				t.Fatalf("render lost the name: %q", out)
			}
			for v, d := range p.dists {
				got := doc.Versions[v].Dist
				var u string
				json.Unmarshal(got["tarball"], &u)
				if !strings.HasPrefix(u, base+"/npm/x/-/") || !strings.HasSuffix(u, ".tgz") {
					t.Fatalf("version %q: tarball %q not on the mirror", v, u)
				}
				var orig map[string]json.RawMessage
				json.Unmarshal(p.versions[v]["dist"], &orig)
				for _, k := range []string{"integrity", "shasum", "signatures", "attestations"} {
					if !jsonEqual(orig[k], got[k]) {
						t.Fatalf("version %q: %s changed from %s to %s", v, k, orig[k], got[k])
					}
				}
				if req, err := parsePath("/npm/x/-/" + d.file); err != nil || req.file != d.file {
					t.Fatalf("version %q: the mirror's tarball URL %q does not parse: %v", v, u, err)
				}
			}
		}
	})
}

func jsonEqual(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return string(ja) == string(jb)
}

func TestWant(t *testing.T) {
	for _, tt := range []struct {
		name, integrity, shasum, alg string
	}{
		{"sha512", "sha512-" + strings.Repeat("A", 86) + "==", "", "sha512"},
		{"strongest of several", "sha1-" + strings.Repeat("A", 27) + "= sha512-" + strings.Repeat("A", 86) + "==", "", "sha512"},
		{"shasum only", "", strings.Repeat("ab", 20), "sha1"},
		{"bad integrity falls back to shasum", "sha512-!!", strings.Repeat("ab", 20), "sha1"},
		{"none", "", "", ""},
		{"short shasum", "", "abcd", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &dist{version: "1.0.0", integrity: tt.integrity, shasum: tt.shasum}
			got, err := d.want("x")
			switch {
			case tt.alg == "" && err == nil:
				t.Errorf("want() = %+v, want an error", got)
			case tt.alg != "" && (err != nil || got.Algorithm != tt.alg):
				t.Errorf("want() = %+v, %v; want %s", got, err, tt.alg)
			}
		})
	}
}
