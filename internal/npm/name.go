package npm

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/gomirror/gomirror/internal/pull"
)

// maxNameLen is the longest package name npm accepts.
const maxNameLen = 214

// CheckName reports whether name is a valid npm package name, by the
// rules of npm's validate-npm-package-name for existing packages: one
// URL-safe part, or "@scope/" and a URL-safe part; no part that starts
// with "." or "_"; at most 214 characters; not node_modules or
// favicon.ico. Upper case letters, allowed in old packages, are
// accepted. The error wraps [pull.ErrBadRequest].
func CheckName(name string) error {
	if err := checkName(name); err != nil {
		return fmt.Errorf("%w: invalid package name %q: %s", pull.ErrBadRequest, pull.OneLine(trunc(name)), err)
	}
	return nil
}

func checkName(name string) error {
	switch {
	case name == "":
		return errors.New("empty")
	case len(name) > maxNameLen:
		return fmt.Errorf("longer than %d characters", maxNameLen)
	case name == "node_modules" || name == "favicon.ico":
		return errors.New("reserved name")
	}
	pkg := name
	if strings.HasPrefix(name, "@") {
		scope, rest, ok := strings.Cut(name[1:], "/")
		if !ok {
			return errors.New("a scoped name is @scope/name")
		}
		if err := checkPart(scope); err != nil {
			return fmt.Errorf("scope: %w", err)
		}
		pkg = rest
	}
	if err := checkPart(pkg); err != nil {
		return err
	}
	return nil
}

// checkPart checks one part of a name: URL-safe (what encodeURIComponent
// leaves alone), not empty, not starting with "." or "_".
func checkPart(s string) error {
	if s == "" {
		return errors.New("empty part")
	}
	if s[0] == '.' || s[0] == '_' {
		return errors.New("starts with . or _")
	}
	for i := 0; i < len(s); i++ {
		if !urlSafe(s[i]) {
			return fmt.Errorf("character %q is not URL-safe", s[i])
		}
	}
	return nil
}

// urlSafe reports whether encodeURIComponent leaves c as it is.
func urlSafe(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-_.!~*'()", c) >= 0
}

// scopeOf returns the "@scope" of a scoped name in lower case, or "".
// Scopes are routed ignoring case, so that "@CORP/x" goes where "@corp/x"
// goes and never to the public registry.
func scopeOf(name string) string {
	if !strings.HasPrefix(name, "@") {
		return ""
	}
	scope, _, _ := strings.Cut(name, "/")
	return strings.ToLower(scope)
}

// kind is what a request under /npm/ asks for.
type kind int

const (
	kindPackument kind = iota + 1
	kindVersion        // a version or a dist-tag: /npm/<name>/<spec>
	kindTarball        // /npm/<name>/-/<file>.tgz
	kindDistTags       // /npm/-/package/<name>/dist-tags
	kindKeys           // /npm/-/npm/v1/keys
	kindAudit          // POST /npm/-/npm/v1/security/...
	kindPing           // /npm/-/ping
)

// request is a parsed request path.
type request struct {
	kind kind
	name string // the package, for packuments, versions, tarballs, dist-tags
	spec string // the version or dist-tag, for kindVersion
	file string // the tarball's file name, for kindTarball
	// upstreamPath is the path after the registry's root, for kindAudit.
	upstreamPath string
}

// Prefix is the path under which the server routes requests to a Handler.
const Prefix = "/npm/"

// errNoRoute marks a well-formed path that names nothing the mirror serves.
var errNoRoute = errors.New("no such registry endpoint")

// parsePath parses escaped, a request's escaped path, which starts with
// Prefix. Scoped names may come as @scope%2fname or @scope/name. The error
// wraps pull.ErrBadRequest for malformed input and errNoRoute for paths
// that name nothing.
func parsePath(escaped string) (request, error) {
	rest, ok := strings.CutPrefix(escaped, Prefix)
	if !ok {
		return request{}, fmt.Errorf("%w: path outside %s", errNoRoute, Prefix)
	}
	if len(rest) > 2048 {
		return request{}, fmt.Errorf("%w: path too long", pull.ErrBadRequest)
	}
	p, err := url.PathUnescape(rest)
	if err != nil {
		return request{}, fmt.Errorf("%w: malformed escape in path", pull.ErrBadRequest)
	}
	if p == "" {
		return request{}, fmt.Errorf("%w: no package name", errNoRoute)
	}
	segs := strings.Split(p, "/")
	for _, s := range segs {
		if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "\\\x00") {
			return request{}, fmt.Errorf("%w: malformed path %q", pull.ErrBadRequest, pull.OneLine(trunc(p)))
		}
	}
	if segs[0] == "-" {
		return parseSpecial(segs[1:])
	}
	var name string
	if strings.HasPrefix(segs[0], "@") {
		if len(segs) < 2 {
			return request{}, CheckName(segs[0])
		}
		name, segs = segs[0]+"/"+segs[1], segs[2:]
	} else {
		name, segs = segs[0], segs[1:]
	}
	if err := CheckName(name); err != nil {
		return request{}, err
	}
	switch {
	case len(segs) == 0:
		return request{kind: kindPackument, name: name}, nil
	case len(segs) == 1:
		if err := checkSpec(segs[0]); err != nil {
			return request{}, err
		}
		return request{kind: kindVersion, name: name, spec: segs[0]}, nil
	case len(segs) == 2 && segs[0] == "-":
		if err := checkFile(segs[1]); err != nil {
			return request{}, err
		}
		return request{kind: kindTarball, name: name, file: segs[1]}, nil
	}
	return request{}, fmt.Errorf("%w: %s", errNoRoute, pull.OneLine(trunc(p)))
}

// parseSpecial parses the segments after /npm/-/.
func parseSpecial(segs []string) (request, error) {
	j := strings.Join(segs, "/")
	switch j {
	case "npm/v1/keys":
		return request{kind: kindKeys}, nil
	case "npm/v1/security/advisories/bulk", "npm/v1/security/audits/quick":
		return request{kind: kindAudit, upstreamPath: "-/" + j}, nil
	case "ping":
		return request{kind: kindPing}, nil
	}
	if len(segs) >= 3 && segs[0] == "package" && segs[len(segs)-1] == "dist-tags" {
		name := strings.Join(segs[1:len(segs)-1], "/")
		if err := CheckName(name); err != nil {
			return request{}, err
		}
		return request{kind: kindDistTags, name: name}, nil
	}
	return request{}, fmt.Errorf("%w: -/%s", errNoRoute, pull.OneLine(trunc(j)))
}

// checkSpec checks a version or dist-tag in a path.
func checkSpec(s string) error {
	if len(s) > 256 || s[0] == '.' {
		return fmt.Errorf("%w: invalid version or tag %q", pull.ErrBadRequest, pull.OneLine(trunc(s)))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !urlSafe(c) && c != '+' {
			return fmt.Errorf("%w: invalid version or tag %q", pull.ErrBadRequest, pull.OneLine(trunc(s)))
		}
	}
	return nil
}

// checkFile checks a tarball's file name.
func checkFile(s string) error {
	if len(s) > 255 || !strings.HasSuffix(s, ".tgz") || len(s) == len(".tgz") || s[0] == '.' || s[0] == '_' {
		return fmt.Errorf("%w: invalid tarball name %q", pull.ErrBadRequest, pull.OneLine(trunc(s)))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !urlSafe(c) && c != '+' {
			return fmt.Errorf("%w: invalid tarball name %q", pull.ErrBadRequest, pull.OneLine(trunc(s)))
		}
	}
	return nil
}

// trunc shortens s for an error message.
func trunc(s string) string {
	if len(s) > 100 {
		return s[:100] + "..."
	}
	return s
}
