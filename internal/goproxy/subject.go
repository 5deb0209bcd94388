package goproxy

import (
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/mod/module"
)

// Subject returns the module path that a GOPROXY request names, from its
// escaped URL path ("/golang.org/x/text/@v/v0.3.0.zip"), for access
// control. It reads the path as the handler does, or more leniently,
// never more strictly: escaped slashes, dots, backslashes, NULs and
// percent signs refused, percent-decoding applied once, the module path
// case-decoded ("!example.com" is "Example.com") and checked with
// golang.org/x/mod/module; a version that cannot exist still names its
// module. ok is false for a path the handler refuses as malformed.
//
// Subject is the GOPROXY protocol's subject parser; every ecosystem
// exports one of this shape: name "" with ok true is a request that names
// no subject (an index), ok false a path its handler refuses.
func Subject(r *http.Request) (name string, ok bool) {
	escaped := r.URL.EscapedPath()
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
