package sumdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/mod/module"
	xsumdb "golang.org/x/mod/sumdb"
)

// Lookup returns the hashes the checksum database holds for path@version:
// of its zip and of its go.mod, both "h1:...". It returns "", "", nil when
// the module is not to be looked up (GOSUMDB=off, or path matches Private
// or NoSumDB). Everything is checked against the database's signed tree
// heads and tile proofs, reading cached lookups and tiles from the store.
//
// A module the database does not know gives an error matching
// fs.ErrNotExist. When ctx is done, Lookup returns at once; the lookup goes
// on in the background and its result is kept for the next caller.
// Concurrent lookups of one module version share one lookup.
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
	ch := s.lookups.DoChan(path+"@"+version, func() (any, error) {
		zip, mod, err := s.lookup(path, version)
		return [2]string{zip, mod}, err
	})
	select {
	case <-ctx.Done():
		return "", "", fmt.Errorf("looking up %s@%s in %s: %w", path, version, s.name, context.Cause(ctx))
	case res := <-ch:
		if res.Err != nil {
			return "", "", res.Err
		}
		h := res.Val.([2]string)
		return h[0], h[1], nil
	}
}

// lookup does the work of Lookup with the verifying client.
func (s *SumDB) lookup(path, version string) (zipHash, modHash string, err error) {
	c := s.verifierClient()
	zipLines, err := c.Lookup(path, version)
	if err == nil {
		var modLines []string
		modLines, err = c.Lookup(path, version+"/go.mod")
		zipHash = hashFromLines(zipLines, path, version)
		modHash = hashFromLines(modLines, path, version+"/go.mod")
	}
	if err != nil {
		// The client remembers failures for good: start afresh next time.
		s.dropClient(c)
		epath, _ := module.EscapePath(path)
		evers, _ := module.EscapeVersion(version)
		if _, ok := s.notFound.LoadAndDelete("/lookup/" + epath + "@" + evers); ok {
			return "", "", fmt.Errorf("%s@%s: not found in checksum database %s: %w", path, version, s.name, fs.ErrNotExist)
		}
		return "", "", fmt.Errorf("checksum database %s: %w", s.name, err)
	}
	if zipHash == "" || modHash == "" {
		return "", "", fmt.Errorf("checksum database %s: %s@%s: record has no h1 hash for the zip or the go.mod", s.name, path, version)
	}
	return zipHash, modHash, nil
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

// verifierClient returns the current verifying client, making a new one
// when there is none or the current one has served long enough.
func (s *SumDB) verifierClient() *xsumdb.Client {
	s.clientMu.Lock()
	defer s.clientMu.Unlock()
	if s.client == nil || s.clientUses >= maxClientUses {
		s.client = xsumdb.NewClient(&clientOps{s: s})
		s.clientUses = 0
	}
	s.clientUses++
	return s.client
}

// dropClient forgets c, if it is still the current client.
func (s *SumDB) dropClient(c *xsumdb.Client) {
	s.clientMu.Lock()
	defer s.clientMu.Unlock()
	if s.client == c {
		s.client = nil
	}
}

// clientOps gives golang.org/x/mod/sumdb's Client its view of the world:
// the database through gomirror's upstream, the store as its cache, and
// StateDir for its configuration.
type clientOps struct{ s *SumDB }

var _ xsumdb.ClientOps = (*clientOps)(nil)

func (o *clientOps) ReadRemote(path string) ([]byte, error) {
	kind := "lookup"
	if strings.HasPrefix(path, "/tile/") {
		kind = "tile"
	}
	data, err := o.s.fetch(context.Background(), kind, path)
	if errors.Is(err, fs.ErrNotExist) && kind == "lookup" {
		o.s.notFound.Store(path, struct{}{})
	}
	return data, err
}

func (o *clientOps) configFile(file string) (string, error) {
	if file != o.s.name+"/latest" {
		return "", fmt.Errorf("unknown checksum database configuration file %q", file)
	}
	return filepath.Join(o.s.stateDir, filepath.FromSlash(file)), nil
}

func (o *clientOps) ReadConfig(file string) ([]byte, error) {
	if file == "key" {
		return []byte(o.s.key), nil
	}
	name, err := o.configFile(file)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		// No tree head yet: start from the empty tree.
		return []byte{}, nil
	}
	return data, err
}

func (o *clientOps) WriteConfig(file string, old, new []byte) error {
	name, err := o.configFile(file)
	if err != nil {
		return err
	}
	o.s.configMu.Lock()
	defer o.s.configMu.Unlock()
	cur, err := os.ReadFile(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if len(cur) > 0 && !bytes.Equal(cur, old) {
		return xsumdb.ErrWriteConflict
	}
	if err := os.MkdirAll(filepath.Dir(name), 0o777); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), ".latest-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(new)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("saving checksum database tree head: %w", err)
	}
	return nil
}

func (o *clientOps) ReadCache(file string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	data, err := o.s.readStore(ctx, "sumdb/"+file)
	if err == nil && len(data) == 0 {
		err = fs.ErrNotExist
	}
	return data, err
}

func (o *clientOps) WriteCache(file string, data []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), fetchTimeout)
	defer cancel()
	if err := o.s.store.Put(ctx, "sumdb/"+file, bytes.NewReader(data)); err != nil {
		o.s.log.Warn("caching checksum database file", "name", "sumdb/"+file, "err", err)
	}
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
