package sumdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/store"
)

// request is a parsed checksum database proxy request.
type request struct {
	kind   string         // "supported", "latest", "lookup" or "tile"
	remote string         // path below the database URL: "/latest", "/lookup/...", "/tile/..."
	mod    module.Version // the module a lookup asks about
	tile   tlog.Tile
}

var (
	// errUnknown is a path that names no database or endpoint gomirror serves.
	errUnknown = errors.New("not found")
	// errBadPath is a malformed lookup or tile path.
	errBadPath = errors.New("bad request")
)

// parsePath parses the path of a request to the proxy of the database
// called name ("/sumdb/NAME/..."). Paths that name another database or an
// unknown endpoint give an error matching errUnknown, malformed lookups
// and tiles one matching errBadPath. Only canonical spellings are accepted,
// so that one file has one store name.
func parsePath(name, p string) (request, error) {
	rest, ok := strings.CutPrefix(p, "/sumdb/")
	if !ok || name == "" {
		return request{}, errUnknown
	}
	rest, ok = strings.CutPrefix(rest, name+"/")
	if !ok {
		return request{}, fmt.Errorf("%w: no checksum database here by that name", errUnknown)
	}
	var req request
	switch {
	case rest == "supported":
		req = request{kind: "supported"}
	case rest == "latest":
		req = request{kind: "latest", remote: "/latest"}
	case strings.HasPrefix(rest, "lookup/"):
		mod := strings.TrimPrefix(rest, "lookup/")
		epath, evers, ok := strings.Cut(mod, "@")
		if !ok || strings.Contains(evers, "@") {
			return request{}, fmt.Errorf("%w: lookup wants module@version", errBadPath)
		}
		path, err := module.UnescapePath(epath)
		if err != nil {
			return request{}, fmt.Errorf("%w: invalid module path", errBadPath)
		}
		vers, err := module.UnescapeVersion(evers)
		if err != nil {
			return request{}, fmt.Errorf("%w: invalid version", errBadPath)
		}
		if module.Check(path, vers) != nil || module.CanonicalVersion(vers) != vers {
			return request{}, fmt.Errorf("%w: invalid module@version", errBadPath)
		}
		if e, _ := module.EscapePath(path); e != epath {
			return request{}, fmt.Errorf("%w: module path not escaped canonically", errBadPath)
		}
		if e, _ := module.EscapeVersion(vers); e != evers {
			return request{}, fmt.Errorf("%w: version not escaped canonically", errBadPath)
		}
		req = request{kind: "lookup", remote: "/" + rest, mod: module.Version{Path: path, Version: vers}}
	case strings.HasPrefix(rest, "tile/"):
		t, err := tlog.ParseTilePath(rest)
		if err != nil || t.Path() != rest {
			return request{}, fmt.Errorf("%w: invalid tile path", errBadPath)
		}
		req = request{kind: "tile", remote: "/" + rest, tile: t}
	default:
		return request{}, fmt.Errorf("%w: unknown checksum database endpoint", errUnknown)
	}
	if req.remote != "" && store.CheckName("sumdb/"+name+req.remote) != nil {
		return request{}, fmt.Errorf("%w: invalid path", errBadPath)
	}
	return req, nil
}

// ServeHTTP serves the checksum database proxy protocol: GET
// /sumdb/NAME/supported, /latest, /lookup/MODULE@VERSION and /tile/...
// for the configured database. r.URL.Path is the full path, starting with
// /sumdb/. Another NAME, or any name when the database is off, gets 404 so
// that the go command reaches the database another way; a malformed path
// gets 400. Lookups, tiles and the latest signed tree head go through the
// pull-through core ([pull.Cache]): one fill per file across replicas,
// checked before it is stored, upstream "not found" answers remembered for
// a while. Lookups and tiles are kept for good; /latest is fetched at most
// once per LatestTTL and, when the database cannot be reached, served stale
// with the header "X-Gomirror-Stale: true".
func (s *SumDB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		pull.WriteText(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	req, err := parsePath(s.name, r.URL.Path)
	switch {
	case errors.Is(err, errUnknown):
		pull.WriteText(w, http.StatusNotFound, err.Error())
		return
	case err != nil:
		pull.WriteText(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.kind == "supported" {
		w.WriteHeader(http.StatusOK)
		return
	}
	if req.kind == "lookup" && s.skip(req.mod.Path) {
		// A private module's name never leaves the mirror.
		pull.WriteText(w, http.StatusNotFound, "not found: private modules are not looked up")
		return
	}
	if err := s.cache.Serve(w, r, s.artifact(req)); err != nil {
		s.writeError(w, r, err)
	}
}

// artifact describes the file that req asks for to the core.
func (s *SumDB) artifact(req request) *pull.Artifact {
	a := &pull.Artifact{
		Ecosystem:   "sumdb",
		Kind:        req.kind,
		Name:        "sumdb/" + s.name + req.remote,
		ContentType: "text/plain; charset=UTF-8",
		MaxSize:     maxResponse,
		Fetch: func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
			data, err := s.fetch(ctx, req.kind, req.remote)
			if err != nil {
				return nil, err
			}
			return pull.BytesBody(data), nil
		},
		Check: func(_ context.Context, f *os.File) error {
			data, err := io.ReadAll(f)
			if err != nil {
				return fmt.Errorf("reading %s: %w", req.remote, err)
			}
			if err := s.check(req, data); err != nil {
				return fmt.Errorf("checksum database %s sent a bad %s: %w", s.name, req.remote, err)
			}
			return nil
		},
	}
	if req.kind == "latest" {
		// Fetched again once LatestTTL has passed; the go command must
		// not keep it either.
		a.TTL = s.latestTTL
		a.CacheControl = "no-cache"
		return a
	}
	// Immutable, and never evicted by a store budget: the verifier reads
	// the same files, and with the database down they are all it has.
	a.CacheControl = pull.ImmutableCacheControl
	if req.kind == "tile" && req.tile.L >= 0 {
		a.ContentType = "application/octet-stream"
	}
	return a
}

// check makes sure data looks like what req asks for before it is kept for
// good: a lookup is a record with a tree head signed by the database, a
// hash tile has exactly its width of hashes. The verifying client proves
// the rest (that records and tiles belong to the signed trees) whenever it
// reads them.
func (s *SumDB) check(req request, data []byte) error {
	switch req.kind {
	case "lookup":
		_, _, treeMsg, err := tlog.ParseRecord(data)
		if err != nil {
			return err
		}
		if _, err := note.Open(treeMsg, s.verifiers); err != nil {
			return err
		}
	case "latest":
		if _, err := note.Open(data, s.verifiers); err != nil {
			return err
		}
	case "tile":
		if req.tile.L >= 0 && len(data) != req.tile.W*tlog.HashSize {
			return fmt.Errorf("tile has %d bytes, want %d", len(data), req.tile.W*tlog.HashSize)
		}
		if len(data) == 0 {
			return errors.New("empty tile")
		}
	}
	return nil
}

// writeError answers with err's status and a one-line reason, in the
// plain-text format the go command shows. Failures that are not the
// upstream's are logged.
func (s *SumDB) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := pull.Status(err)
	switch {
	case code == http.StatusBadGateway || code == http.StatusGatewayTimeout:
		s.log.WarnContext(r.Context(), "checksum database request failed", "sumdb", s.name, "path", r.URL.Path, "err", err)
	case code >= http.StatusInternalServerError:
		s.log.ErrorContext(r.Context(), "serving checksum database request", "sumdb", s.name, "path", r.URL.Path, "err", err)
	}
	pull.WriteText(w, code, pull.Reason(err))
}
