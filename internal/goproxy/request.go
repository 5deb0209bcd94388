package goproxy

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/gomirror/gomirror/internal/store"
)

// kind is what a request asks for.
type kind string

const (
	kindList   kind = "list"
	kindLatest kind = "latest"
	kindInfo   kind = "info"
	kindMod    kind = "mod"
	kindZip    kind = "zip"
	kindQuery  kind = "query" // a non-canonical .info: a branch, a version prefix
)

// immutable reports whether files of kind k never change once stored.
func (k kind) immutable() bool { return k == kindInfo || k == kindMod || k == kindZip }

// contentType is the Content-Type a file of kind k is served with.
func (k kind) contentType() string {
	switch k {
	case kindZip:
		return "application/zip"
	case kindInfo, kindQuery, kindLatest:
		return "application/json"
	default:
		return "text/plain; charset=utf-8"
	}
}

// request is a parsed GOPROXY request.
type request struct {
	kind    kind
	path    string // module path, unescaped
	version string // unescaped; empty for list and latest
	name    string // store and upstream name, escaped: "golang.org/x/text/@v/v0.3.0.zip"
}

// errBadRequest marks requests that are malformed; they get a 400.
var errBadRequest = errors.New("bad request")

// errInvalidVersion marks well-formed requests for a version that cannot
// exist for the module, such as v2.0.0 of a path without /v2. Proxies answer
// those with "not found", so that the go command goes on probing other
// module paths.
var errInvalidVersion = errors.New("invalid version")

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}

// parseRequest parses the escaped URL path of a GOPROXY request, such as
// "/golang.org/x/text/@v/v0.3.0.zip". It accepts only what the go command
// sends: no escaped slashes or dots, no dot segments, no backslashes or
// control characters, and module paths and versions that golang.org/x/mod/module
// accepts.
func parseRequest(rawPath string) (request, error) {
	if len(rawPath) > store.MaxNameLen {
		return request{}, badRequest("path longer than %d bytes", store.MaxNameLen)
	}
	if strings.Contains(rawPath, "%") {
		// The go command escapes the "!" of case-encoding as %21. An
		// escaped slash, dot, backslash, NUL or percent sign is never
		// needed, and only ever hides a path from the checks below.
		lower := strings.ToLower(rawPath)
		for _, esc := range []string{"%2f", "%2e", "%5c", "%00", "%25"} {
			if strings.Contains(lower, esc) {
				return request{}, badRequest("escaped %q in path", esc)
			}
		}
		dec, err := url.PathUnescape(rawPath)
		if err != nil {
			return request{}, badRequest("bad percent-encoding")
		}
		rawPath = dec
	}
	p, ok := strings.CutPrefix(rawPath, "/")
	if !ok {
		return request{}, badRequest("path must start with /")
	}
	if strings.ContainsAny(p, "\\\x00") {
		return request{}, badRequest("backslash or NUL in path")
	}

	var r request
	var escPath, escVersion string
	if before, ok := strings.CutSuffix(p, "/@latest"); ok {
		r.kind, escPath = kindLatest, before
	} else {
		before, rest, ok := strings.Cut(p, "/@v/")
		if !ok {
			return request{}, badRequest("not a module proxy path: want /MODULE/@v/... or /MODULE/@latest")
		}
		escPath = before
		switch {
		case rest == "list":
			r.kind = kindList
		case strings.HasSuffix(rest, ".info"):
			r.kind, escVersion = kindInfo, strings.TrimSuffix(rest, ".info")
		case strings.HasSuffix(rest, ".mod"):
			r.kind, escVersion = kindMod, strings.TrimSuffix(rest, ".mod")
		case strings.HasSuffix(rest, ".zip"):
			r.kind, escVersion = kindZip, strings.TrimSuffix(rest, ".zip")
		default:
			return request{}, badRequest("unknown file %q: want list, .info, .mod or .zip", rest)
		}
	}

	path, err := module.UnescapePath(escPath)
	if err != nil {
		return request{}, badRequest("invalid module path: %v", err)
	}
	if err := module.CheckPath(path); err != nil {
		return request{}, badRequest("%v", err)
	}
	r.path = path
	canonPath, _ := module.EscapePath(path) // cannot fail after CheckPath

	switch r.kind {
	case kindList:
		r.name = canonPath + "/@v/list"
		return r, nil
	case kindLatest:
		r.name = canonPath + "/@latest"
		return r, nil
	}

	if escVersion == "" {
		return request{}, badRequest("empty version")
	}
	version, err := module.UnescapeVersion(escVersion)
	if err != nil {
		return request{}, badRequest("invalid version: %v", err)
	}
	if version == "." || version == ".." || strings.ContainsAny(version, "/") {
		return request{}, badRequest("invalid version %q", version)
	}
	r.version = version
	canonVersion, err := module.EscapeVersion(version)
	if err != nil {
		return request{}, badRequest("invalid version: %v", err)
	}
	ext := "." + string(r.kind)
	r.name = canonPath + "/@v/" + canonVersion + ext

	canonical := semver.IsValid(version) && semver.Canonical(version) == version ||
		// +incompatible and pre-release builds keep their suffix.
		semver.IsValid(version) && strings.HasSuffix(version, "+incompatible") &&
			semver.Canonical(version)+"+incompatible" == version
	if r.kind == kindInfo && !canonical {
		r.kind = kindQuery
		return r, nil
	}
	if !canonical {
		return r, fmt.Errorf("%w: %s@%s: not a canonical version", errInvalidVersion, path, version)
	}
	if err := module.Check(path, version); err != nil {
		return r, fmt.Errorf("%w: %v", errInvalidVersion, err)
	}
	return r, nil
}
