package sumdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync"

	"golang.org/x/mod/module"
	xsumdb "golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/gomirror/gomirror/internal/store"
)

// Lookup returns the hashes the checksum database holds for path@version:
// of its zip and of its go.mod, both "h1:...". It returns "", "", nil when
// the module is not to be looked up (GOSUMDB=off, or path matches Private
// or NoSumDB). Everything is checked against the database's signed tree
// heads and tile proofs, reading cached lookups and tiles from the store.
//
// A module the database does not know gives an error matching
// fs.ErrNotExist. Concurrent lookups of one module version share one
// lookup, which lasts as long as one of its callers waits for it: when
// ctx is done (its deadline is the caller's bound), Lookup returns at once
// with an error matching ctx's cause, and when the last caller has gone the
// shared lookup is cancelled. [SumDB.Shutdown] waits for lookups in flight.
func (s *SumDB) Lookup(ctx context.Context, path, version string) (zipHash, modHash string, err error) {
	if s.skip(path) {
		return "", "", nil
	}
	if err := module.Check(path, version); err != nil {
		return "", "", fmt.Errorf("checksum database lookup: %w", err)
	}
	if module.CanonicalVersion(version) != version {
		return "", "", fmt.Errorf("checksum database lookup: %s@%s: version is not canonical", path, version)
	}
	if ctx.Err() != nil {
		return "", "", fmt.Errorf("looking up %s@%s in %s: %w", path, version, s.name, context.Cause(ctx))
	}
	key := path + "@" + version
	if h, ok := s.memo.get(key); ok {
		return h.zip, h.mod, nil
	}
	s.lookupMu.Lock()
	c := s.joinLookupLocked(ctx, key, path, version)
	s.lookupMu.Unlock()

	select {
	case <-c.done:
		return c.zip, c.mod, c.err
	case <-ctx.Done():
		s.lookupMu.Lock()
		c.waiters--
		if c.waiters == 0 {
			if s.lookups[key] == c {
				delete(s.lookups, key)
			}
			c.task.cancel(errNoWaiters)
		}
		s.lookupMu.Unlock()
		return "", "", fmt.Errorf("looking up %s@%s in %s: %w", path, version, s.name, context.Cause(ctx))
	}
}

// joinLookupLocked returns the lookup of path@version, called key, in
// flight, starting it with ctx when there is none, and counts one more
// waiter. The caller holds lookupMu.
func (s *SumDB) joinLookupLocked(ctx context.Context, key, path, version string) *lookupCall {
	c := s.lookups[key]
	if c == nil {
		// The lookup keeps ctx's values, not its cancellation: it belongs
		// to all of its waiters.
		lctx, t := s.tasks.start(context.WithoutCancel(ctx))
		c = &lookupCall{task: t, done: make(chan struct{})}
		s.lookups[key] = c
		go s.runLookup(lctx, key, c, path, version)
	}
	c.waiters++
	return c
}

// Prefetch starts the lookup of path@version in the background, when it
// is to be looked up and has not been, so that a later [SumDB.Lookup]
// finds it done or under way: the GOPROXY handler calls it on the first
// request that names a version (its .info), well before the .mod and
// .zip that need the hashes. Its outcome is kept only when it succeeds;
// errors are for the later Lookup to meet again. [SumDB.Shutdown] waits
// for it.
func (s *SumDB) Prefetch(path, version string) {
	if s.skip(path) || module.Check(path, version) != nil || module.CanonicalVersion(version) != version {
		return
	}
	key := path + "@" + version
	if _, ok := s.memo.get(key); ok {
		return
	}
	// The prefetch is a waiter that never leaves: the lookup runs to its
	// end even when every fill that joins it stops waiting.
	s.lookupMu.Lock()
	s.joinLookupLocked(context.Background(), key, path, version)
	s.lookupMu.Unlock()
}

// errNoWaiters cancels a lookup that every caller has stopped waiting for.
var errNoWaiters = errors.New("no caller waits for the lookup")

// lookupCall is one lookup of a module version in flight.
type lookupCall struct {
	task    *task
	done    chan struct{} // closed once zip, mod and err are set
	waiters int           // guarded by SumDB.lookupMu
	zip     string
	mod     string
	err     error
}

// runLookup does the lookup c of path@version, called key, with ctx.
func (s *SumDB) runLookup(ctx context.Context, key string, c *lookupCall, path, version string) {
	defer s.tasks.finish(c.task)
	zip, mod, err := s.lookup(ctx, path, version)
	if err == nil {
		s.memo.put(key, hashes{zip: zip, mod: mod})
	}
	s.lookupMu.Lock()
	if s.lookups[key] == c {
		delete(s.lookups, key)
	}
	s.lookupMu.Unlock()
	c.zip, c.mod, c.err = zip, mod, err
	close(c.done)
}

// lookup does the work of Lookup with a verifying client of its own, which
// makes its requests with ctx.
func (s *SumDB) lookup(ctx context.Context, path, version string) (zipHash, modHash string, err error) {
	ops := &clientOps{s: s, ctx: ctx}
	c := xsumdb.NewClient(ops)
	zipLines, err := c.Lookup(path, version)
	if err == nil {
		var modLines []string
		modLines, err = c.Lookup(path, version+"/go.mod")
		zipHash = hashFromLines(zipLines, path, version)
		modHash = hashFromLines(modLines, path, version+"/go.mod")
	}
	if err != nil {
		if ctx.Err() != nil {
			return "", "", fmt.Errorf("looking up %s@%s in %s: %w", path, version, s.name, context.Cause(ctx))
		}
		epath, _ := module.EscapePath(path)
		evers, _ := module.EscapeVersion(version)
		if _, ok := ops.notFound.Load("/lookup/" + epath + "@" + evers); ok {
			return "", "", fmt.Errorf("%s@%s: not found in checksum database %s: %w", path, version, s.name, fs.ErrNotExist)
		}
		return "", "", fmt.Errorf("checksum database %s: %w", s.name, err)
	}
	if zipHash == "" || modHash == "" {
		return "", "", fmt.Errorf("checksum database %s: %s@%s: record has no h1 hash for the zip or the go.mod", s.name, path, version)
	}
	return zipHash, modHash, nil
}

// Shutdown waits for the lookups in flight, and for fetches from the
// database that outlive the request that started them, to finish. When
// ctx is done first, it cancels them and returns an error matching ctx's
// cause. Lookups started during Shutdown are waited for too.
func (s *SumDB) Shutdown(ctx context.Context) error {
	err := s.tasks.wait(ctx)
	if s.ownCache && err == nil {
		if err := s.cache.Shutdown(ctx); err != nil {
			return fmt.Errorf("waiting for checksum database fills: %w", err)
		}
	}
	return err
}

// hashFromLines returns the h1 hash in go.sum lines "path vers h1:...".
func hashFromLines(lines []string, path, vers string) string {
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == path && f[1] == vers && strings.HasPrefix(f[2], "h1:") {
			return f[2]
		}
	}
	return ""
}

// clientOps gives golang.org/x/mod/sumdb's Client its view of the world:
// the database through gomirror's upstream, the store as its cache, and
// StateDir for its configuration.
// One is made for each lookup: the ClientOps interface has no context, so
// the lookup's travels in it.
type clientOps struct {
	s        *SumDB
	ctx      context.Context
	notFound sync.Map // remote lookup paths the database answered 404 or 410
	tileOps
}

var _ xsumdb.ClientOps = (*clientOps)(nil)

func (o *clientOps) ReadRemote(path string) ([]byte, error) {
	kind := "lookup"
	if strings.HasPrefix(path, "/tile/") {
		kind = "tile"
		if data, err, ok := o.prefetched(path); ok && err == nil {
			return data, nil
		}
	}
	data, err := o.s.fetch(o.ctx, kind, path)
	if errors.Is(err, fs.ErrNotExist) && kind == "lookup" {
		o.notFound.Store(path, struct{}{})
	}
	if err == nil && kind == "lookup" {
		o.prefetchTiles(data)
	}
	return data, err
}

// checkConfigFile reports an error for a configuration file other than
// the one holding the latest tree head.
func (o *clientOps) checkConfigFile(file string) error {
	if file != o.s.name+"/latest" {
		return fmt.Errorf("unknown checksum database configuration file %q", file)
	}
	return nil
}

func (o *clientOps) ReadConfig(file string) ([]byte, error) {
	if file == "key" {
		return []byte(o.s.key), nil
	}
	if err := o.checkConfigFile(file); err != nil {
		return nil, err
	}
	data, err := o.s.loadState(o.ctx)
	if data == nil && err == nil {
		// No tree head yet: start from the empty tree.
		data = []byte{}
	}
	return data, err
}

func (o *clientOps) WriteConfig(file string, old, new []byte) error {
	if err := o.checkConfigFile(file); err != nil {
		return err
	}
	return o.s.compareAndWriteState(old, new)
}

// ReadCache reads a lookup or a tile that an earlier lookup kept: a tile
// from memory when it is there, else from the store. The store keeps them
// without syncing each (see WriteCache), so what it gives back is checked
// for the damage a crash can leave, an empty or cut file, and counts as
// missing when damaged; the verifying client proves the rest.
func (o *clientOps) ReadCache(file string) ([]byte, error) {
	tile := isTileFile(file)
	if tile {
		if data, ok := o.s.tileMem.get(file); ok {
			return data, nil
		}
	}
	ctx, cancel := context.WithTimeout(o.ctx, fetchTimeout)
	defer cancel()
	data, err := o.s.readStore(ctx, "sumdb/"+file)
	if err != nil {
		return nil, err
	}
	if cerr := o.s.checkCacheFile(file, data); cerr != nil {
		o.s.log.Debug("ignoring damaged checksum database cache file", "name", "sumdb/"+file, "err", cerr)
		return nil, fs.ErrNotExist
	}
	if tile {
		o.s.tileMem.put(file, data)
	}
	return data, nil
}

// WriteCache keeps a lookup or a tile that the client has verified: a
// tile in memory, and both in the store without a sync each (they can be
// fetched again, and ReadCache checks them).
func (o *clientOps) WriteCache(file string, data []byte) {
	if isTileFile(file) {
		o.s.tileMem.put(file, bytes.Clone(data))
	}
	ctx, cancel := context.WithTimeout(o.ctx, fetchTimeout)
	defer cancel()
	if err := store.PutCache(ctx, o.s.store, "sumdb/"+file, bytes.NewReader(data)); err != nil && o.ctx.Err() == nil {
		o.s.log.Warn("caching checksum database file", "name", "sumdb/"+file, "err", err)
	}
}

// isTileFile reports whether a cache file ("NAME/tile/8/0/001") is a tile.
func isTileFile(file string) bool {
	return strings.Contains(file, "/tile/")
}

// checkCacheFile reports damage in a cached lookup or tile: an empty
// file, a lookup that is not a record with a tree head, a hash tile of
// the wrong length, a lookup whose tree head the database did not sign.
func (s *SumDB) checkCacheFile(file string, data []byte) error {
	if len(data) == 0 {
		return errors.New("empty file")
	}
	if _, rest, ok := strings.Cut(file, "/tile/"); ok {
		t, err := tlog.ParseTilePath("tile/" + rest)
		if err != nil {
			return err
		}
		if t.L >= 0 && len(data) != t.W*tlog.HashSize {
			return fmt.Errorf("tile has %d bytes, want %d", len(data), t.W*tlog.HashSize)
		}
		return nil
	}
	if strings.Contains(file, "/lookup/") {
		_, _, treeMsg, err := tlog.ParseRecord(data)
		if err != nil {
			return err
		}
		if _, err := note.Open(treeMsg, s.verifiers); err != nil {
			return err
		}
	}
	return nil
}

func (o *clientOps) Log(msg string) {
	o.s.log.Debug("checksum database client", "sumdb", o.s.name, "msg", msg)
}

func (o *clientOps) SecurityError(msg string) {
	o.s.log.Error("checksum database misbehaviour detected", "sumdb", o.s.name, "report", msg)
}

// readStore returns the content of the store file called name.
func (s *SumDB) readStore(ctx context.Context, name string) ([]byte, error) {
	r, err := s.store.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return data, nil
}
