package npm

import (
	"errors"
	"net/http"
)

// Subject returns the package that an /npm/ request names, for access
// control, read by the handler's own parser: /npm/<name>[/...],
// /npm/@scope/name[/...] (the slash may come escaped as %2f) and
// /npm/-/package/<name>/dist-tags name one; the other /npm/-/ endpoints
// none (name ""). ok is false for a path the handler refuses as
// malformed.
func Subject(r *http.Request) (name string, ok bool) {
	req, err := parsePath(r.URL.EscapedPath())
	switch {
	case errors.Is(err, errNoRoute):
		return "", true
	case err != nil:
		return "", false
	}
	return req.name, true
}

// ScopeOf returns the scope of a package name in lower case ("@corp" for
// "@Corp/app"), or "" for an unscoped name. Scopes are routed, and judged
// private, ignoring case.
func ScopeOf(name string) string { return scopeOf(name) }
