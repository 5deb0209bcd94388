// Package proxypath parses the names of files in the GOPROXY protocol, such
// as "golang.org/x/text/@v/v0.3.0.zip", the way a module proxy reads them.
// The server side (package goproxy) and the client side (package upstream)
// read them alike through it.
package proxypath

import (
	"fmt"
	"io/fs"
	"strings"

	"golang.org/x/mod/module"
)

// Kind is what a name asks for.
type Kind string

// The kinds of name.
const (
	Info   Kind = "info"   // @v/VERSION.info of a canonical version
	Mod    Kind = "mod"    // @v/VERSION.mod
	Zip    Kind = "zip"    // @v/VERSION.zip
	List   Kind = "list"   // @v/list
	Latest Kind = "latest" // @latest
	Query  Kind = "query"  // @v/QUERY.info: a branch, a version prefix, a version of another major
)

// Immutable reports whether the file a name of kind k names never changes
// once published.
func (k Kind) Immutable() bool { return k == Info || k == Mod || k == Zip }

// MaxLen bounds the length of a name.
const MaxLen = 1024

// Name is a parsed module proxy file name.
type Name struct {
	Kind       Kind
	Path       string // module path, unescaped
	Version    string // version or query, unescaped; "" for List and Latest
	EscPath    string // module path, case-encoded
	EscVersion string // version or query, case-encoded
	Ext        string // ".info", ".mod", ".zip" or ""
	Escaped    string // the whole name as parsed
}

// String returns the name as parsed.
func (n Name) String() string { return n.Escaped }

// Subject names the module, and version when there is one, for messages:
// "golang.org/x/text@v0.3.0".
func (n Name) Subject() string {
	if n.Version == "" {
		return n.Path
	}
	return n.Path + "@" + n.Version
}

// Error reports a name that cannot be parsed. It matches fs.ErrInvalid for
// a malformed name, and fs.ErrNotExist for a well-formed name of a .mod or
// .zip that cannot exist, such as v2.0.0 of a path without /v2: proxies
// answer those "not found".
type Error struct {
	Name     string
	Reason   string
	NotFound bool
}

func (e *Error) Error() string {
	if e.NotFound {
		return fmt.Sprintf("not found: %s: %s", e.Name, e.Reason)
	}
	return fmt.Sprintf("invalid module proxy path %q: %s", e.Name, e.Reason)
}

// Is reports whether target is fs.ErrInvalid or, for a version that cannot
// exist, fs.ErrNotExist.
func (e *Error) Is(target error) bool {
	if e.NotFound {
		return target == fs.ErrNotExist
	}
	return target == fs.ErrInvalid
}

// Parse parses a module proxy file name such as
// "golang.org/x/text/@v/v0.3.0.zip", "github.com/!burnt!sushi/toml/@v/list",
// "golang.org/x/text/@latest" or "golang.org/x/text/@v/master.info", with
// no leading slash.
//
// An .info name whose version is not canonical, or does not suit the module
// path's major version, is a Query, which an upstream resolves. .mod and
// .zip names need a canonical version that suits the path. Errors are
// *Error.
func Parse(name string) (Name, error) {
	bad := func(reason string) (Name, error) {
		return Name{}, &Error{Name: name, Reason: reason}
	}
	if len(name) > MaxLen {
		return bad(fmt.Sprintf("longer than %d bytes", MaxLen))
	}
	n := Name{Escaped: name}
	var rest string
	if p, ok := strings.CutSuffix(name, "/@latest"); ok {
		n.EscPath, n.Kind = p, Latest
	} else if p, v, ok := strings.Cut(name, "/@v/"); ok {
		n.EscPath, rest = p, v
	} else {
		return bad("want MODULE/@v/list, MODULE/@v/VERSION.{info,mod,zip} or MODULE/@latest")
	}
	path, err := module.UnescapePath(n.EscPath)
	if err != nil {
		return bad(err.Error())
	}
	if err := module.CheckPath(path); err != nil {
		return bad(err.Error())
	}
	n.Path = path
	if n.Kind == Latest {
		return n, nil
	}
	if rest == "list" {
		n.Kind = List
		return n, nil
	}
	for _, ext := range []string{".info", ".mod", ".zip"} {
		if v, ok := strings.CutSuffix(rest, ext); ok {
			n.EscVersion, n.Ext = v, ext
			break
		}
	}
	if n.Ext == "" {
		return bad("want list, VERSION.info, VERSION.mod or VERSION.zip after /@v/")
	}
	if n.EscVersion == "" {
		return bad("empty version")
	}
	if n.EscVersion[0] == '.' {
		return bad("version starts with a dot")
	}
	v, err := module.UnescapeVersion(n.EscVersion)
	if err != nil {
		return bad(err.Error())
	}
	n.Version = v
	exact := v == module.CanonicalVersion(v) && module.Check(path, v) == nil
	switch {
	case n.Ext == ".info" && exact:
		n.Kind = Info
	case n.Ext == ".info":
		n.Kind = Query
	case !exact:
		reason := "version " + v + " is not canonical"
		if err := module.Check(path, v); err != nil {
			reason = err.Error()
		}
		return Name{}, &Error{Name: name, Reason: reason, NotFound: true}
	case n.Ext == ".mod":
		n.Kind = Mod
	default:
		n.Kind = Zip
	}
	return n, nil
}
