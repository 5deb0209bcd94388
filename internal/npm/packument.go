package npm

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"strings"

	"github.com/gomirror/gomirror/internal/pull"
)

// dist is what the mirror needs of a version's dist object.
type dist struct {
	version   string
	tarball   string // the upstream's URL
	file      string // the tarball's file name
	integrity string
	shasum    string
}

// packument is a parsed packument.
type packument struct {
	name     string
	top      map[string]json.RawMessage
	versions map[string]map[string]json.RawMessage
	distTags map[string]string
	// files maps a tarball's file name to its version's dist.
	files map[string]*dist
	dists map[string]*dist // by version
}

// parsePackument parses body, the packument of name. It fails when body is
// not a JSON object naming name, or a version is not an object; versions
// whose dist has no usable tarball URL are kept but have no tarball.
func parsePackument(name string, body []byte) (*packument, error) {
	p := &packument{name: name, files: map[string]*dist{}, dists: map[string]*dist{}}
	if err := json.Unmarshal(body, &p.top); err != nil {
		return nil, fmt.Errorf("packument of %s: %w", name, err)
	}
	if p.top == nil {
		return nil, fmt.Errorf("packument of %s: not a JSON object", name)
	}
	var got string
	if err := json.Unmarshal(p.top["name"], &got); err != nil || got != name {
		return nil, fmt.Errorf("packument of %s: names %q", name, pull.OneLine(trunc(got)))
	}
	if raw, ok := p.top["dist-tags"]; ok && !isNull(raw) {
		if err := json.Unmarshal(raw, &p.distTags); err != nil {
			return nil, fmt.Errorf("packument of %s: dist-tags: %w", name, err)
		}
	}
	if raw, ok := p.top["versions"]; ok && !isNull(raw) {
		var versions map[string]json.RawMessage
		if err := json.Unmarshal(raw, &versions); err != nil {
			return nil, fmt.Errorf("packument of %s: versions: %w", name, err)
		}
		p.versions = make(map[string]map[string]json.RawMessage, len(versions))
		for v, raw := range versions {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
				return nil, fmt.Errorf("packument of %s: version %q is not an object", name, pull.OneLine(trunc(v)))
			}
			p.versions[v] = obj
			d := parseDist(v, obj["dist"])
			if d == nil {
				continue
			}
			p.dists[v] = d
			p.files[d.file] = d
		}
	}
	return p, nil
}

// parseDist returns the dist of version v, or nil when it has no tarball
// URL that the mirror can serve.
func parseDist(v string, raw json.RawMessage) *dist {
	var d struct {
		Tarball   string `json:"tarball"`
		Integrity string `json:"integrity"`
		Shasum    string `json:"shasum"`
	}
	if json.Unmarshal(raw, &d) != nil {
		return nil
	}
	u, err := url.Parse(d.Tarball)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil
	}
	file := path.Base(u.Path)
	if checkFile(file) != nil {
		return nil
	}
	return &dist{version: v, tarball: d.Tarball, file: file, integrity: d.Integrity, shasum: d.Shasum}
}

func isNull(raw json.RawMessage) bool { return bytes.Equal(bytes.TrimSpace(raw), []byte("null")) }

// tarballURL is the mirror's URL of name's tarball file.
func tarballURL(base, name, file string) string {
	return base + Prefix + name + "/-/" + file
}

// abbreviatedVersionKeys are the fields of a version that an abbreviated
// packument keeps: what npm, pnpm and yarn read to resolve and install.
var abbreviatedVersionKeys = []string{
	"name", "version", "deprecated", "dependencies", "optionalDependencies", "devDependencies",
	"bundleDependencies", "bundledDependencies", "peerDependencies", "peerDependenciesMeta",
	"acceptDependencies", "bin", "directories", "dist", "engines", "_hasShrinkwrap",
	"hasInstallScript", "cpu", "os", "libc", "funding", "license",
}

// version returns version v rewritten for the mirror at base: its
// dist.tarball points at the mirror, and nothing else changes. With
// abbreviated, only the fields an installer reads are kept.
func (p *packument) version(v string, base string, abbreviated bool) (map[string]json.RawMessage, error) {
	obj := p.versions[v]
	out := make(map[string]json.RawMessage, len(obj))
	if abbreviated {
		for _, k := range abbreviatedVersionKeys {
			if raw, ok := obj[k]; ok {
				out[k] = raw
			}
		}
		if _, ok := out["hasInstallScript"]; !ok && hasInstallScript(obj) {
			out["hasInstallScript"] = json.RawMessage("true")
		}
	} else {
		for k, raw := range obj {
			out[k] = raw
		}
	}
	d := p.dists[v]
	if d == nil {
		return out, nil
	}
	var distObj map[string]json.RawMessage
	if err := json.Unmarshal(obj["dist"], &distObj); err != nil {
		return nil, fmt.Errorf("packument of %s: version %s: dist: %w", p.name, v, err)
	}
	u, err := marshal(tarballURL(base, p.name, d.file))
	if err != nil {
		return nil, err
	}
	distObj["tarball"] = u
	if out["dist"], err = marshal(distObj); err != nil {
		return nil, err
	}
	return out, nil
}

// hasInstallScript reports whether a full version document runs a script
// at install time, as the registry computes for abbreviated packuments.
func hasInstallScript(obj map[string]json.RawMessage) bool {
	var scripts map[string]json.RawMessage
	if json.Unmarshal(obj["scripts"], &scripts) == nil {
		for _, k := range []string{"preinstall", "install", "postinstall"} {
			if _, ok := scripts[k]; ok {
				return true
			}
		}
	}
	return string(obj["gypfile"]) == "true"
}

// render returns the packument for the mirror at base, full or
// abbreviated. The abbreviated form keeps name, modified, dist-tags, time
// and, for each version, abbreviatedVersionKeys.
func (p *packument) render(base string, abbreviated bool) ([]byte, error) {
	var out map[string]json.RawMessage
	if abbreviated {
		out = make(map[string]json.RawMessage, 5)
		for _, k := range []string{"name", "dist-tags", "time"} {
			if raw, ok := p.top[k]; ok {
				out[k] = raw
			}
		}
		var t struct {
			Modified json.RawMessage `json:"modified"`
		}
		if json.Unmarshal(p.top["time"], &t) == nil && t.Modified != nil {
			out["modified"] = t.Modified
		}
	} else {
		out = make(map[string]json.RawMessage, len(p.top))
		for k, raw := range p.top {
			out[k] = raw
		}
	}
	if p.versions != nil {
		versions := make(map[string]json.RawMessage, len(p.versions))
		for v := range p.versions {
			obj, err := p.version(v, base, abbreviated)
			if err != nil {
				return nil, err
			}
			if versions[v], err = marshal(obj); err != nil {
				return nil, err
			}
		}
		var err error
		if out["versions"], err = marshal(versions); err != nil {
			return nil, err
		}
	}
	return marshal(out)
}

// marshal encodes v as compact JSON without escaping HTML characters, so
// that raw values pass through as they came.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// resolve returns the version that spec, a version or a dist-tag, names.
func (p *packument) resolve(spec string) (string, bool) {
	if _, ok := p.versions[spec]; ok {
		return spec, true
	}
	if v, ok := p.distTags[spec]; ok {
		if _, ok := p.versions[v]; ok {
			return v, true
		}
	}
	return "", false
}

// want returns the digest a version's tarball must match: the strongest
// of dist.integrity's sha512, sha256 or sha1, else dist.shasum. It fails
// when the version has neither.
func (d *dist) want(name string) (*pull.Digest, error) {
	src := fmt.Sprintf("the packument of %s@%s", name, d.version)
	best := map[string][]byte{}
	for _, f := range strings.Fields(d.integrity) {
		alg, b64, ok := strings.Cut(f, "-")
		if !ok {
			continue
		}
		if i := strings.IndexByte(b64, '?'); i >= 0 { // SRI options
			b64 = b64[:i]
		}
		sum, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			continue
		}
		if n, ok := map[string]int{"sha512": 64, "sha256": 32, "sha1": 20}[alg]; ok && len(sum) == n {
			best[alg] = sum
		}
	}
	for _, alg := range []string{"sha512", "sha256", "sha1"} {
		if sum, ok := best[alg]; ok {
			return &pull.Digest{Algorithm: alg, Sum: sum, Size: -1, Source: src}, nil
		}
	}
	if sum, err := hex.DecodeString(d.shasum); err == nil && len(sum) == 20 {
		return &pull.Digest{Algorithm: "sha1", Sum: sum, Size: -1, Source: src + " (shasum)"}, nil
	}
	return nil, fmt.Errorf("%w: %s@%s has no integrity or shasum to check its tarball against", pull.ErrRefused, name, d.version)
}
