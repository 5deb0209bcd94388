// Package registriesconf edits the registries.conf of podman, buildah and
// skopeo (containers-registries.conf(5), version 2) to put a mirror first
// for one registry, keeping every other line of the file as it was.
//
// A mirror is a [[registry.mirror]] of the registry's [[registry]] table.
// Its location names gomirror's host and the registry as a path prefix:
//
//	[[registry]]
//	prefix = "docker.io"
//	location = "docker.io"
//
//	[[registry.mirror]]
//	location = "mirror.example/docker.io"
//
// podman then asks https://mirror.example/v2/docker.io/library/alpine/...,
// which gomirror routes to docker.io.
package registriesconf

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/gomirror/gomirror/internal/client/textlines"
)

// Registry is one [[registry]] table, with its mirrors in order.
type Registry struct {
	Prefix, Location string
	Mirrors          []Mirror
}

// Mirror is one [[registry.mirror]] table.
type Mirror struct {
	Location string
	Insecure bool
}

// File is a parsed registries.conf that keeps its lines.
type File struct {
	textlines.Text
}

var (
	tableRE  = regexp.MustCompile(`^\s*\[`)
	regRE    = regexp.MustCompile(`^\s*\[\[\s*registry\s*\]\]\s*(#.*)?$`)
	mirRE    = regexp.MustCompile(`^\s*\[\[\s*registry\.mirror\s*\]\]\s*(#.*)?$`)
	v1RE     = regexp.MustCompile(`^\s*\[\s*registries\.`)
	kvRE     = regexp.MustCompile(`^\s*([A-Za-z0-9_-]+)\s*=\s*(.*?)\s*$`)
	quotedRE = regexp.MustCompile(`^"((?:[^"\\]|\\.)*)"|^'([^']*)'`)
)

// Parse splits data, a registries.conf (or nothing), into lines. A file in
// the version 1 format ([registries.search] ...) is an error: the two
// formats cannot be mixed.
func Parse(data []byte) (*File, error) {
	f := &File{Text: textlines.Split(data)}
	for i, l := range f.Lines {
		if v1RE.MatchString(l) {
			return nil, fmt.Errorf("registries.conf line %d: %s is the version 1 format, which cannot hold mirrors; convert the file to version 2 ([[registry]] tables)", i+1, strings.TrimSpace(l))
		}
	}
	return f, nil
}

func value(v string) string {
	if m := quotedRE.FindStringSubmatch(v); m != nil {
		return strings.ReplaceAll(m[1], `\"`, `"`) + m[2]
	}
	if i := strings.IndexByte(v, '#'); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// block is a [[registry]] table and its mirrors, as line ranges.
type block struct {
	reg     Registry
	start   int   // the [[registry]] line
	keysEnd int   // the line after the registry's own keys
	mirrors []int // each mirror's [[registry.mirror]] line
}

func (f *File) blocks() []block {
	var out []block
	var cur *block
	inMirror := false
	for i, l := range f.Lines {
		switch {
		case regRE.MatchString(l):
			out = append(out, block{start: i, keysEnd: i + 1})
			cur, inMirror = &out[len(out)-1], false
			continue
		case mirRE.MatchString(l) && cur != nil:
			cur.mirrors = append(cur.mirrors, i)
			cur.reg.Mirrors = append(cur.reg.Mirrors, Mirror{})
			inMirror = true
			continue
		case tableRE.MatchString(l):
			cur = nil
			continue
		}
		if cur == nil {
			continue
		}
		m := kvRE.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		if inMirror {
			mr := &cur.reg.Mirrors[len(cur.reg.Mirrors)-1]
			switch m[1] {
			case "location":
				mr.Location = value(m[2])
			case "insecure":
				mr.Insecure = value(m[2]) == "true"
			}
			continue
		}
		cur.keysEnd = i + 1
		switch m[1] {
		case "prefix":
			cur.reg.Prefix = value(m[2])
		case "location":
			cur.reg.Location = value(m[2])
		}
	}
	return out
}

// Registries returns the file's [[registry]] tables in order.
func (f *File) Registries() []Registry {
	var out []Registry
	for _, b := range f.blocks() {
		out = append(out, b.reg)
	}
	return out
}

// matches reports whether r is the table for registry: its prefix, or
// its location when it has no prefix.
func (r Registry) matches(registry string) bool {
	if r.Prefix != "" {
		return r.Prefix == registry
	}
	return r.Location == registry
}

// MirrorLocation returns the mirror location podman should use for
// registry through the gomirror at mirror, and whether it is plain http.
// gomirror must be at the root of its host: podman puts a location's path
// into the repository name, not the URL.
func MirrorLocation(registry, mirror string) (location string, insecure bool, err error) {
	u, err := url.Parse(mirror)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", false, fmt.Errorf("invalid mirror URL %q: want http(s)://host[:port]", mirror)
	}
	if strings.Trim(u.Path, "/") != "" {
		return "", false, fmt.Errorf("mirror URL %q has a path: podman needs gomirror at the root of its host", mirror)
	}
	if registry == "" || strings.ContainsAny(registry, "/ \t\"'") {
		return "", false, fmt.Errorf("invalid registry %q", registry)
	}
	return u.Host + "/" + registry, u.Scheme == "http", nil
}

// UseMirror makes the gomirror at mirror the first mirror of registry,
// adding the registry's table when the file has none. It reports whether
// the file changed. The mirror already first changes nothing; listed later,
// it is an error, since moving a table would drop what the user wrote in
// it.
func (f *File) UseMirror(registry, mirror string) (bool, error) {
	loc, insecure, err := MirrorLocation(registry, mirror)
	if err != nil {
		return false, err
	}
	mblock := []string{"[[registry.mirror]]", fmt.Sprintf("location = %q", loc)}
	if insecure {
		mblock = append(mblock, "insecure = true")
	}
	for _, b := range f.blocks() {
		if !b.reg.matches(registry) {
			continue
		}
		for i, m := range b.reg.Mirrors {
			if strings.TrimRight(m.Location, "/") != loc {
				continue
			}
			if i == 0 && m.Insecure == insecure {
				return false, nil
			}
			if i == 0 {
				return false, fmt.Errorf("%s is already the first mirror of %s, with insecure = %v; fix that line by hand", loc, registry, m.Insecure)
			}
			return false, fmt.Errorf("%s is already mirror %d of %d for %s; remove that [[registry.mirror]] to make gomirror put it first", loc, i+1, len(b.reg.Mirrors), registry)
		}
		at := b.keysEnd
		if len(b.mirrors) > 0 {
			at = b.mirrors[0]
		}
		// Start the new table after any blank line that ends the keys,
		// and keep one blank line between tables.
		for at > b.start+1 && strings.TrimSpace(f.Lines[at-1]) == "" {
			at--
		}
		ins := append([]string{""}, mblock...)
		if at < len(f.Lines) && strings.TrimSpace(f.Lines[at]) != "" {
			ins = append(ins, "")
		}
		f.Lines = append(f.Lines[:at], append(ins, f.Lines[at:]...)...)
		f.Final = true
		return true, nil
	}
	var add []string
	if len(f.Lines) > 0 && strings.TrimSpace(f.Lines[len(f.Lines)-1]) != "" {
		add = append(add, "")
	}
	add = append(add, "[[registry]]", fmt.Sprintf("prefix = %q", registry), fmt.Sprintf("location = %q", registry), "")
	add = append(add, mblock...)
	f.Lines = append(f.Lines, add...)
	f.Final = true
	return true, nil
}
