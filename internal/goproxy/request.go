package goproxy

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"

	"github.com/gomirror/gomirror/internal/proxypath"
	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/store"
)

// kind is what a request asks for.
type kind = proxypath.Kind

const (
	kindList   = proxypath.List
	kindLatest = proxypath.Latest
	kindInfo   = proxypath.Info
	kindMod    = proxypath.Mod
	kindZip    = proxypath.Zip
	kindQuery  = proxypath.Query
)

// contentType is the Content-Type a file of kind k is served with.
func contentType(k kind) string {
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
	raw     string // the escaped URL path, as the client sent it
	kind    kind
	path    string // module path, unescaped
	version string // unescaped; empty for list and latest
	name    string // store and upstream name, escaped: "golang.org/x/text/@v/v0.3.0.zip"
}

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", pull.ErrBadRequest, fmt.Sprintf(format, args...))
}

// parseRequest parses the escaped URL path of a GOPROXY request, such as
// "/golang.org/x/text/@v/v0.3.0.zip". It accepts only what the go command
// sends: no escaped slashes or dots, no dot segments, no backslashes or
// control characters, and module paths and versions that golang.org/x/mod/module
// accepts.
func parseRequest(raw string) (request, error) {
	decoded := raw
	if len(raw) > store.MaxNameLen {
		return request{}, badRequest("path longer than %d bytes", store.MaxNameLen)
	}
	if strings.Contains(raw, "%") {
		// The go command escapes the "!" of case-encoding as %21. An
		// escaped slash, dot, backslash, NUL or percent sign is never
		// needed, and only ever hides a path from the checks below.
		lower := strings.ToLower(raw)
		for _, esc := range []string{"%2f", "%2e", "%5c", "%00", "%25"} {
			if strings.Contains(lower, esc) {
				return request{}, badRequest("escaped %q in path", esc)
			}
		}
		dec, err := url.PathUnescape(raw)
		if err != nil {
			return request{}, badRequest("bad percent-encoding")
		}
		decoded = dec
	}
	p, ok := strings.CutPrefix(decoded, "/")
	if !ok {
		return request{}, badRequest("path must start with /")
	}
	if strings.ContainsAny(p, "\\\x00") {
		return request{}, badRequest("backslash or NUL in path")
	}

	n, err := proxypath.Parse(p)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return request{}, err // A version that cannot exist: "not found".
	case err != nil:
		return request{}, fmt.Errorf("%w: %v", pull.ErrBadRequest, err)
	}
	return request{raw: raw, kind: n.Kind, path: n.Path, version: n.Version, name: n.Escaped}, nil
}

// IsImmutable reports whether name is the store name of a module's .info,
// .mod or .zip file of a canonical version ("golang.org/x/text/@v/v0.3.0.zip"),
// which never changes once published; lists, @latest and queries do.
func IsImmutable(name string) bool {
	n, err := proxypath.Parse(name)
	return err == nil && n.Kind.Immutable()
}
