package access

import (
	"net/url"
	"strings"

	"golang.org/x/mod/module"

	"github.com/gomirror/gomirror/internal/pypi"
)

// The functions below read the subject of a request from its path, for
// the server's Classifier. Each reads the path exactly as its ecosystem's
// handler does, or more leniently, never more strictly: a path that the
// handler serves content for always yields the name of that content, so
// that no spelling of a path (escapes, case, dot segments) reaches
// content under another name than the rules see. Names are returned as
// the handler resolves them; the rules compare them ignoring case.

// GoModule returns the module path that a GOPROXY request names, from its
// escaped URL path ("/golang.org/x/text/@v/v0.3.0.zip"), normalised as the
// GOPROXY handler normalises it: escaped slashes, dots, backslashes, NULs
// and percent signs refused, percent-decoding applied once, the module
// path case-decoded ("!example.com" is "Example.com") and checked with
// golang.org/x/mod/module. ok is false for a path the handler refuses.
func GoModule(escaped string) (path string, ok bool) {
	decoded := escaped
	if strings.Contains(escaped, "%") {
		lower := strings.ToLower(escaped)
		for _, esc := range []string{"%2f", "%2e", "%5c", "%00", "%25"} {
			if strings.Contains(lower, esc) {
				return "", false
			}
		}
		dec, err := url.PathUnescape(escaped)
		if err != nil {
			return "", false
		}
		decoded = dec
	}
	p, ok := strings.CutPrefix(decoded, "/")
	if !ok || strings.ContainsAny(p, "\\\x00") {
		return "", false
	}
	var esc string
	if e, ok := strings.CutSuffix(p, "/@latest"); ok {
		esc = e
	} else if e, _, ok := strings.Cut(p, "/@v/"); ok {
		esc = e
	} else {
		return "", false
	}
	mod, err := module.UnescapePath(esc)
	if err != nil || module.CheckPath(mod) != nil {
		return "", false
	}
	return mod, true
}

// OCIRepository returns the repository that a /v2/ request names, with
// its registry ("docker.io/library/alpine"), as the OCI handler resolves
// it: the registry from ?ns=, else from a first element that is a host
// (has a dot or a colon, or is localhost), else defaultRegistry; Docker
// Hub's aliases are docker.io, whose one-element names get "library/".
// probe is true for the /v2/ base endpoint. name is "" for paths that name
// no repository.
func OCIRepository(u *url.URL, defaultRegistry string) (name string, probe bool) {
	p := u.EscapedPath()
	if p == "/v2" || p == "/v2/" {
		return "", true
	}
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok || strings.Contains(rest, "%") {
		return "", false
	}
	elems := strings.Split(rest, "/")
	switch n := len(elems); {
	case n >= 3 && elems[n-2] == "tags" && elems[n-1] == "list",
		n >= 3 && (elems[n-2] == "manifests" || elems[n-2] == "blobs" || elems[n-2] == "referrers"):
		elems = elems[:n-2]
	default:
		return "", false
	}
	registry := defaultRegistry
	if ns := u.Query().Get("ns"); ns != "" {
		registry = ns
	} else if len(elems) > 1 && (strings.ContainsAny(elems[0], ".:") || elems[0] == "localhost") {
		registry, elems = elems[0], elems[1:]
	}
	registry = strings.ToLower(registry)
	switch registry {
	case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		registry = "docker.io"
	}
	if registry == "docker.io" && len(elems) == 1 {
		elems = []string{"library", elems[0]}
	}
	return registry + "/" + strings.ToLower(strings.Join(elems, "/")), false
}

// PyPIProject returns the project that a /pypi/ request names, in its PEP
// 503 normal form: simple/<project>/ and files/<project>/... name one; the
// index (simple/) names none.
func PyPIProject(escaped string) string {
	rest, ok := strings.CutPrefix(escaped, "/pypi/")
	if !ok {
		return ""
	}
	var raw string
	if r, ok := strings.CutPrefix(rest, "simple/"); ok {
		raw, _, _ = strings.Cut(r, "/")
	} else if r, ok := strings.CutPrefix(rest, "files/"); ok {
		raw, _, _ = strings.Cut(r, "/")
	}
	name, err := url.PathUnescape(raw)
	if err != nil {
		return ""
	}
	return pypi.Normalize(name)
}

// NPMPackage returns the package that an /npm/ request names:
// /npm/<name>[/...], /npm/@scope/name[/...] (the slash may come escaped as
// %2f), or /npm/-/package/<name>/dist-tags. Other /npm/-/ endpoints name
// none.
func NPMPackage(escaped string) string {
	rest, ok := strings.CutPrefix(escaped, "/npm/")
	if !ok {
		return ""
	}
	p, err := url.PathUnescape(rest)
	if err != nil {
		return ""
	}
	segs := strings.Split(p, "/")
	if segs[0] == "-" {
		if len(segs) >= 4 && segs[1] == "package" && segs[len(segs)-1] == "dist-tags" {
			return strings.Join(segs[2:len(segs)-1], "/")
		}
		return ""
	}
	if strings.HasPrefix(segs[0], "@") && len(segs) >= 2 {
		return segs[0] + "/" + segs[1]
	}
	return segs[0]
}
