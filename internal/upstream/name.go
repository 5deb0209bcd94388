package upstream

import (
	"strings"

	"golang.org/x/mod/module"
)

// Kinds of request, as recorded in metrics.
const (
	kindInfo   = "info"
	kindMod    = "mod"
	kindZip    = "zip"
	kindList   = "list"
	kindLatest = "latest"
	kindQuery  = "query"
)

// maxNameLen bounds the length of a request name.
const maxNameLen = 1024

// request is a parsed module proxy request.
type request struct {
	name       string // as given: escaped path, "/@v/" or "/@latest", escaped version and extension
	kind       string // one of the kind constants
	path       string // module path, unescaped
	escPath    string // module path, escaped
	version    string // version or query, unescaped; "" for list and latest
	escVersion string // version or query, escaped
	ext        string // ".info", ".mod", ".zip" or ""
}

// subject names the module (and version) of r for messages.
func (r request) subject() string {
	if r.version == "" {
		return r.path
	}
	return r.path + "@" + r.version
}

// parseName parses a module proxy request name such as
// "golang.org/x/text/@v/v0.3.0.zip", "github.com/!burnt!sushi/toml/@v/list",
// "golang.org/x/text/@latest" or "golang.org/x/text/@v/master.info".
//
// An .info request whose version is not canonical (or does not suit the
// module path's major version) is a query, which the upstream resolves.
// .mod and .zip requests need a canonical version that suits the path. The
// error matches fs.ErrInvalid.
func parseName(name string) (request, error) {
	bad := func(reason string) (request, error) {
		return request{}, &invalidNameError{name: name, reason: reason}
	}
	if len(name) > maxNameLen {
		return bad("name too long")
	}
	r := request{name: name}
	var rest string
	if p, ok := strings.CutSuffix(name, "/@latest"); ok {
		r.escPath, r.kind = p, kindLatest
	} else if p, v, ok := strings.Cut(name, "/@v/"); ok {
		r.escPath, rest = p, v
	} else {
		return bad("want MODULE/@v/list, MODULE/@v/VERSION.{info,mod,zip} or MODULE/@latest")
	}
	path, err := module.UnescapePath(r.escPath)
	if err != nil {
		return bad(err.Error())
	}
	if err := module.CheckPath(path); err != nil {
		return bad(err.Error())
	}
	r.path = path
	if r.kind == kindLatest {
		return r, nil
	}
	if rest == "list" {
		r.kind = kindList
		return r, nil
	}
	for _, ext := range []string{".info", ".mod", ".zip"} {
		if v, ok := strings.CutSuffix(rest, ext); ok {
			r.escVersion, r.ext = v, ext
			break
		}
	}
	if r.ext == "" {
		return bad("want list, VERSION.info, VERSION.mod or VERSION.zip after /@v/")
	}
	if r.escVersion == "" {
		return bad("empty version")
	}
	if r.escVersion[0] == '.' {
		return bad("version starts with a dot")
	}
	v, err := module.UnescapeVersion(r.escVersion)
	if err != nil {
		return bad(err.Error())
	}
	r.version = v
	exact := v == module.CanonicalVersion(v) && module.Check(path, v) == nil
	switch {
	case r.ext == ".info" && exact:
		r.kind = kindInfo
	case r.ext == ".info":
		r.kind = kindQuery
	case !exact:
		if err := module.Check(path, v); err != nil {
			return bad(err.Error())
		}
		return bad("version " + v + " is not canonical (want " + module.CanonicalVersion(v) + ")")
	case r.ext == ".mod":
		r.kind = kindMod
	default:
		r.kind = kindZip
	}
	return r, nil
}
