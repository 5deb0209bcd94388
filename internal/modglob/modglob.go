// Package modglob matches module paths against GOPRIVATE-style patterns
// ignoring case, the one way that every part of gomirror which keeps
// private modules private (routing, the upstream chain, the checksum
// database proxy, access control) matches them.
package modglob

import (
	"strings"

	"golang.org/x/mod/module"
)

// Match reports whether the module path, or a leading part of it,
// matches one of patterns, a comma-separated GOPRIVATE list (see
// module.MatchPrefixPatterns), ignoring case: "github.com/corp" matches
// "github.com/Corp/x", whose escaped form is "github.com/!corp/x". path
// may be given decoded ("github.com/Corp/x") or escaped
// ("github.com/!corp/x"). An empty list matches nothing.
func Match(patterns, path string) bool {
	if patterns == "" {
		return false
	}
	if strings.Contains(path, "!") {
		if p, err := module.UnescapePath(path); err == nil {
			path = p
		}
	}
	return module.MatchPrefixPatterns(strings.ToLower(patterns), strings.ToLower(path))
}
