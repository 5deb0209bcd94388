package cargo

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gomirror/gomirror/internal/pull"
)

// Prefix is the path under which the mirror serves cargo.
const Prefix = "/cargo/"

// Ecosystem labels the mirror's metrics and logs.
const Ecosystem = "cargo"

// Limits of crates.io's names and of the versions the mirror accepts.
const (
	maxNameLen    = 64
	maxVersionLen = 128
)

type kind int

const (
	kindConfig   kind = iota + 1 // index/config.json
	kindIndex                    // an index file
	kindDownload                 // api/v1/crates/NAME/VERSION/download
	kindAPI                      // any other api/ path: not served
)

// request is a parsed request path.
type request struct {
	kind kind
	// name is the crate's name: lower-cased for an index file, as cargo
	// asks for it in a download.
	name    string
	version string
}

// parsePath parses the escaped path of a request under Prefix. Errors
// match pull.ErrBadRequest, or fs.ErrNotExist for a well-formed path that
// names nothing the mirror serves.
func parsePath(escaped string) (request, error) {
	rest, ok := strings.CutPrefix(escaped, Prefix)
	if !ok {
		return request{}, fmt.Errorf("%w: not a cargo path", pull.ErrBadRequest)
	}
	segs := strings.Split(rest, "/")
	for i, s := range segs {
		if !strings.Contains(s, "%") {
			continue
		}
		d, err := url.PathUnescape(s)
		if err != nil || strings.ContainsAny(d, "/%") {
			return request{}, fmt.Errorf("%w: malformed escape in the path", pull.ErrBadRequest)
		}
		segs[i] = d
	}
	switch segs[0] {
	case "index":
		return parseIndexPath(segs[1:])
	case "api":
		if len(segs) == 6 && segs[1] == "v1" && segs[2] == "crates" && segs[5] == "download" {
			if err := CheckName(segs[3]); err != nil {
				return request{}, err
			}
			if err := checkVersion(segs[4]); err != nil {
				return request{}, err
			}
			return request{kind: kindDownload, name: segs[3], version: segs[4]}, nil
		}
		return request{kind: kindAPI}, nil
	}
	return request{}, pull.NotFound("not found: the cargo mirror serves index/ and api/v1/crates/NAME/VERSION/download")
}

// parseIndexPath parses the segments of a path under index/: config.json,
// or the index file of a crate at the place cargo looks for it.
func parseIndexPath(segs []string) (request, error) {
	if len(segs) == 1 && segs[0] == "config.json" {
		return request{kind: kindConfig}, nil
	}
	if len(segs) < 2 || len(segs) > 3 {
		return request{}, fmt.Errorf("%w: not an index path: want index/config.json or index/<prefix>/<crate>", pull.ErrBadRequest)
	}
	name := strings.ToLower(segs[len(segs)-1])
	if err := CheckName(name); err != nil {
		return request{}, err
	}
	want := IndexPath(name)
	got := strings.ToLower(strings.Join(segs, "/"))
	if got != want {
		return request{}, fmt.Errorf("%w: the index file of %s is at index/%s", pull.ErrBadRequest, name, want)
	}
	return request{kind: kindIndex, name: name}, nil
}

// IndexPath returns where the index file of the crate name is, relative to
// the index's root, as cargo computes it: 1/a, 2/ab, 3/a/abc, se/rd/serde,
// all lower-cased.
func IndexPath(name string) string { return casedIndexPath(strings.ToLower(name)) }

// CheckName reports whether name is a crate name as crates.io allows
// them: 1 to 64 ASCII letters, digits, '-' and '_', starting with a
// letter. The error matches pull.ErrBadRequest.
func CheckName(name string) error {
	if name == "" || len(name) > maxNameLen {
		return fmt.Errorf("%w: invalid crate name %q: want 1 to %d characters", pull.ErrBadRequest, trunc(name), maxNameLen)
	}
	if c := name[0]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
		return fmt.Errorf("%w: invalid crate name %q: it must start with a letter", pull.ErrBadRequest, trunc(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%w: invalid crate name %q: only letters, digits, '-' and '_' are allowed", pull.ErrBadRequest, trunc(name))
		}
	}
	return nil
}

// checkVersion checks a version as it appears in a download path: a
// semver version's characters, starting with a digit.
func checkVersion(v string) error {
	if v == "" || len(v) > maxVersionLen || v[0] < '0' || v[0] > '9' {
		return fmt.Errorf("%w: invalid crate version %q", pull.ErrBadRequest, trunc(v))
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '+') {
			return fmt.Errorf("%w: invalid crate version %q", pull.ErrBadRequest, trunc(v))
		}
	}
	return nil
}

// Subject returns the crate that a request under Prefix names, for access
// rules, lower-cased (crate names are unique ignoring case): "" for a path
// that names none (config.json). ok is false for a path the handler
// refuses. It reads the path exactly as the handler does.
func Subject(r *http.Request) (name string, ok bool) { return subjectOf(r.URL.EscapedPath()) }

// subjectOf is [Subject] of an escaped URL path.
func subjectOf(escaped string) (name string, ok bool) {
	req, err := parsePath(escaped)
	if err != nil {
		return "", false
	}
	return strings.ToLower(req.name), true
}

// Store names. Index files are metadata, kept whole; crates are
// immutable.
const (
	configName = "cargo/config.json"
	indexDir   = "cargo/index/"
	cratesDir  = "cargo/crates/"
)

func indexName(lower string) string { return indexDir + lower }

func crateName(lower, version string) string {
	return cratesDir + lower + "/" + lower + "-" + version + ".crate"
}

// IsImmutable reports whether name is the store name of a .crate file,
// which never changes once published; index files and the upstream's
// config.json do.
func IsImmutable(name string) bool { return strings.HasPrefix(name, cratesDir) }

// trunc shortens s for an error message.
func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
