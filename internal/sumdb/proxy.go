package sumdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	"golang.org/x/sync/singleflight"

	"github.com/gomirror/gomirror/internal/store"
)

// request is a parsed checksum database proxy request.
type request struct {
	kind   string // "supported", "latest", "lookup" or "tile"
	remote string // path below the database URL: "/latest", "/lookup/...", "/tile/..."
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
		req = request{kind: "lookup", remote: "/" + rest}
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
// gets 400. Lookups and tiles are served from the store when it has them,
// otherwise fetched, checked, kept and served. /latest is fetched at most
// once per LatestTTL and, when the database cannot be reached, served stale
// with the header "X-Gomirror-Stale: true".
func (s *SumDB) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	req, err := parsePath(s.name, r.URL.Path)
	switch {
	case errors.Is(err, errUnknown):
		http.Error(w, err.Error(), http.StatusNotFound)
		return
	case err != nil:
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if mod, _, _ := strings.Cut(strings.TrimPrefix(req.remote, "/lookup/"), "@"); req.kind == "lookup" && s.skip(mod) {
		// A private module's name never leaves the mirror.
		http.Error(w, "not found: private modules are not looked up", http.StatusNotFound)
		return
	}
	switch req.kind {
	case "supported":
		w.WriteHeader(http.StatusOK)
	case "latest":
		s.serveLatest(w, r)
	default:
		s.serveImmutable(w, r, req)
	}
}

// serveImmutable serves a lookup or a tile: files that never change once
// the database has published them.
func (s *SumDB) serveImmutable(w http.ResponseWriter, r *http.Request, req request) {
	ctx := r.Context()
	name := "sumdb/" + s.name + req.remote
	data, err := s.readStore(ctx, name)
	if err == nil && len(data) > 0 && s.check(req, data) == nil {
		s.countStore("hit")
		s.write(w, req, data, false)
		return
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("reading checksum database cache", "name", name, "err", err)
	}
	s.countStore("miss")
	ch := s.fetches.DoChan(name, func() (any, error) {
		// The fill survives the client hanging up; Shutdown waits for it.
		ctx, t := s.tasks.start(context.WithoutCancel(ctx))
		defer s.tasks.finish(t)
		ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
		defer cancel()
		data, err := s.fetch(ctx, req.kind, req.remote)
		if err != nil {
			return nil, err
		}
		if err := s.check(req, data); err != nil {
			return nil, fmt.Errorf("checksum database %s sent a bad %s: %w", s.name, req.remote, err)
		}
		if err := s.store.Put(ctx, name, bytes.NewReader(data)); err != nil {
			s.log.Warn("caching checksum database file", "name", name, "err", err)
		}
		return data, nil
	})
	select {
	case <-ctx.Done():
		return
	case res := <-ch:
		if res.Err != nil {
			s.writeError(w, req, res.Err)
			return
		}
		s.write(w, req, res.Val.([]byte), false)
	}
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

// serveLatest serves the latest signed tree head.
func (s *SumDB) serveLatest(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	req := request{kind: "latest", remote: "/latest"}
	s.latestMu.Lock()
	data, at := s.latest, s.latestAt
	s.latestMu.Unlock()
	if data != nil && time.Since(at) < s.latestTTL {
		s.countStore("hit")
		s.write(w, req, data, false)
		return
	}
	s.countStore("miss")
	name := "sumdb/" + s.name + "/latest"
	ch := s.fetches.DoChan(name, func() (any, error) {
		ctx, t := s.tasks.start(context.WithoutCancel(ctx))
		defer s.tasks.finish(t)
		ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
		defer cancel()
		data, err := s.fetch(ctx, "latest", "/latest")
		if err != nil {
			return nil, err
		}
		if _, err := note.Open(data, s.verifiers); err != nil {
			return nil, fmt.Errorf("checksum database %s sent a bad /latest: %w", s.name, err)
		}
		s.latestMu.Lock()
		s.latest, s.latestAt = data, time.Now()
		s.latestMu.Unlock()
		if err := s.store.Put(ctx, name, bytes.NewReader(data)); err != nil {
			s.log.Warn("caching checksum database file", "name", name, "err", err)
		}
		return data, nil
	})
	var res singleflight.Result
	select {
	case <-ctx.Done():
		return
	case res = <-ch:
	}
	if res.Err == nil {
		s.write(w, req, res.Val.([]byte), false)
		return
	}
	s.log.Warn("fetching checksum database tree head", "sumdb", s.name, "err", res.Err)
	if data == nil {
		// Nothing in memory: a previous run may have kept one.
		if stored, err := s.readStore(ctx, name); err == nil {
			if _, err := note.Open(stored, s.verifiers); err == nil {
				data = stored
			}
		}
	}
	if data == nil {
		s.writeError(w, req, res.Err)
		return
	}
	s.countStore("stale")
	s.write(w, req, data, true)
}

// write sends data as the answer to req.
func (s *SumDB) write(w http.ResponseWriter, req request, data []byte, stale bool) {
	h := w.Header()
	if req.kind == "tile" && req.tile.L >= 0 {
		h.Set("Content-Type", "application/octet-stream")
	} else {
		h.Set("Content-Type", "text/plain; charset=UTF-8")
	}
	if stale {
		h.Set("X-Gomirror-Stale", "true")
		h.Set("Warning", `110 - "Response is Stale"`)
	}
	if req.kind == "latest" {
		h.Set("Cache-Control", "no-cache")
	} else {
		h.Set("Cache-Control", "public, max-age=86400")
	}
	w.Write(data)
}

// writeError answers req with a one-line reason: 404 when the database has
// no such file, 502 when it could not be fetched. The details go to the log.
func (s *SumDB) writeError(w http.ResponseWriter, req request, err error) {
	if errors.Is(err, fs.ErrNotExist) {
		http.Error(w, "not found: "+strings.TrimPrefix(req.remote, "/"), http.StatusNotFound)
		return
	}
	s.log.Warn("checksum database request failed", "sumdb", s.name, "path", req.remote, "err", err)
	http.Error(w, "checksum database "+s.name+" unreachable or misbehaving", http.StatusBadGateway)
}

func (s *SumDB) countStore(result string) {
	if s.metrics != nil {
		s.metrics.StoreLookups.WithLabelValues("sumdb", "sumdb", result).Inc()
	}
}
