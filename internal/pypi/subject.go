package pypi

import (
	"net/http"
	"net/url"
	"strings"
)

// Subject returns the project that a /pypi/ request names, in its PEP 503
// normal form, for access control: simple/<project>/ and
// files/<project>/... name one; the index (simple/) and other paths name
// none (name ""). It reads the path as the handler does, or more
// leniently: every spelling of a project that the handler redirects or
// serves yields its normal form. ok is false for a path that does not
// unescape.
func Subject(r *http.Request) (name string, ok bool) {
	rest, found := strings.CutPrefix(r.URL.EscapedPath(), Prefix)
	if !found {
		return "", true
	}
	var raw string
	if p, found := strings.CutPrefix(rest, "simple/"); found {
		raw, _, _ = strings.Cut(p, "/")
	} else if p, found := strings.CutPrefix(rest, "files/"); found {
		raw, _, _ = strings.Cut(p, "/")
	}
	n, err := url.PathUnescape(raw)
	if err != nil {
		return "", false
	}
	return Normalize(n), true
}
