package sdk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/rogpeppe/go-internal/lockedfile"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"
)

// SumGolangOrgKey is the verifier key of sum.golang.org that the go
// command knows by name.
const SumGolangOrgKey = "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8"

// maxSumDBResponse bounds one response of the checksum database: a lookup
// or a tile is a few kilobytes.
const maxSumDBResponse = 16 << 20

// checksumDB is the go command's client of a checksum database
// (cmd/go/internal/modfetch/sumdb.go), for one install: it implements
// sumdb.ClientOps, keeping the latest verified tree head in stateDir and
// tiles in cacheDir, both with the go command's file locking.
type checksumDB struct {
	ctx      context.Context
	in       *Installer
	key      string
	name     string
	base     string // the database's URL, found on the first ReadRemote
	explicit bool   // base was named by GOSUMDB
	stateDir string
	cacheDir string

	once    sync.Once
	baseErr error

	mu       sync.Mutex
	security []string
}

var _ sumdb.ClientOps = (*checksumDB)(nil)

// openChecksumDB parses the installer's GOSUMDB as the go command does.
func (in *Installer) openChecksumDB(ctx context.Context) (*checksumDB, error) {
	gosumdb := strings.TrimSpace(in.GOSUMDB)
	switch gosumdb {
	case "":
		gosumdb = "sum.golang.org"
	case "sum.golang.google.cn":
		gosumdb = "sum.golang.org https://sum.golang.google.cn"
	case "off":
		return nil, errors.New("the golang.org/toolchain module must be checked against the checksum database, which GOSUMDB=off disables")
	}
	fields := strings.Fields(gosumdb)
	if len(fields) > 2 {
		return nil, fmt.Errorf("invalid GOSUMDB %q: too many fields", in.GOSUMDB)
	}
	if fields[0] == "sum.golang.org" {
		fields[0] = SumGolangOrgKey
	}
	v, err := note.NewVerifier(fields[0])
	if err != nil {
		return nil, fmt.Errorf("invalid GOSUMDB %q: %w", in.GOSUMDB, err)
	}
	if in.StateDir == "" {
		return nil, errors.New("no directory to keep the checksum database's tree head in")
	}
	db := &checksumDB{ctx: ctx, in: in, key: fields[0], name: v.Name(), stateDir: in.StateDir, cacheDir: in.CacheDir}
	if u, err := url.Parse("https://" + db.name); err != nil || u.Host == "" || strings.HasSuffix(db.name, "/") || strings.Contains(db.name, "..") {
		return nil, fmt.Errorf("invalid checksum database name %q", db.name)
	}
	if len(fields) == 2 {
		db.base, db.explicit = strings.TrimRight(fields[1], "/"), true
	}
	return db, nil
}

// findBase decides how to reach the database, as the go command does with
// a one-proxy GOPROXY: through the mirror's /sumdb/<name>/ when the mirror
// says it is supported, directly when it answers 404 or 410, and not at
// all on any other answer.
func (db *checksumDB) findBase() {
	if db.explicit {
		return
	}
	proxied := db.in.mirrorURL() + "/sumdb/" + db.name
	body, err := db.in.get(db.ctx, proxied+"/supported")
	switch {
	case err == nil:
		body.Close()
		db.base = proxied
	case errors.Is(err, fs.ErrNotExist):
		db.base = "https://" + db.name
	default:
		db.baseErr = fmt.Errorf("checksum database %s through the mirror: %w", db.name, err)
	}
}

// ReadRemote fetches path from the database.
func (db *checksumDB) ReadRemote(path string) ([]byte, error) {
	db.once.Do(db.findBase)
	if db.baseErr != nil {
		return nil, db.baseErr
	}
	body, err := db.in.get(db.ctx, db.base+path)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	data, err := io.ReadAll(io.LimitReader(body, maxSumDBResponse+1))
	if err != nil {
		return nil, fmt.Errorf("read %s%s: %w", db.base, path, err)
	}
	if len(data) > maxSumDBResponse {
		return nil, fmt.Errorf("read %s%s: more than %d bytes", db.base, path, maxSumDBResponse)
	}
	return data, nil
}

// configFile returns where the configuration file (such as
// "sum.golang.org/latest") is kept.
func (db *checksumDB) configFile(file string) (string, error) {
	p := filepath.FromSlash(file)
	if !filepath.IsLocal(p) {
		return "", fmt.Errorf("checksum database file %q", file)
	}
	return filepath.Join(db.stateDir, p), nil
}

// ReadConfig returns the key, or the latest tree head this machine has
// verified (empty before the first lookup).
func (db *checksumDB) ReadConfig(file string) ([]byte, error) {
	if file == "key" {
		return []byte(db.key), nil
	}
	targ, err := db.configFile(file)
	if err != nil {
		return nil, err
	}
	data, err := lockedfile.Read(targ)
	if errors.Is(err, fs.ErrNotExist) {
		return []byte{}, nil
	}
	return data, err
}

// WriteConfig replaces the latest tree head, if it is still old.
func (db *checksumDB) WriteConfig(file string, old, new []byte) error {
	if file == "key" {
		return errors.New("cannot write the checksum database's key")
	}
	targ, err := db.configFile(file)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(targ), 0o755); err != nil {
		return err
	}
	f, err := lockedfile.Edit(targ)
	if err != nil {
		return err
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return err
	}
	if len(data) > 0 && !bytes.Equal(data, old) {
		return sumdb.ErrWriteConflict
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.Write(new); err != nil {
		return err
	}
	return f.Close()
}

func (db *checksumDB) cacheFile(file string) (string, bool) {
	p := filepath.FromSlash(file)
	if db.cacheDir == "" || !filepath.IsLocal(p) {
		return "", false
	}
	return filepath.Join(db.cacheDir, p), true
}

// ReadCache reads a cached tile or lookup.
func (db *checksumDB) ReadCache(file string) ([]byte, error) {
	targ, ok := db.cacheFile(file)
	if !ok {
		return nil, fs.ErrNotExist
	}
	data, err := lockedfile.Read(targ)
	if err == nil && len(data) == 0 {
		// lockedfile.Write creates the file before it locks it.
		err = &fs.PathError{Op: "read", Path: targ, Err: fs.ErrNotExist}
	}
	return data, err
}

// WriteCache caches a tile or lookup, on a best-effort basis.
func (db *checksumDB) WriteCache(file string, data []byte) {
	targ, ok := db.cacheFile(file)
	if !ok {
		return
	}
	os.MkdirAll(filepath.Dir(targ), 0o755)
	lockedfile.Write(targ, bytes.NewReader(data), 0o644)
}

// Log drops the client's messages, as the go command does.
func (db *checksumDB) Log(msg string) {}

// SecurityError records proof that the database misbehaved; the lookup
// that found it fails.
func (db *checksumDB) SecurityError(msg string) {
	db.mu.Lock()
	defer db.mu.Unlock()
	db.security = append(db.security, msg)
}

// lookup returns the database's go.sum lines for path@version.
func (db *checksumDB) lookup(path, version string) ([]string, error) {
	lines, err := sumdb.NewClient(db).Lookup(path, version)
	if err != nil {
		db.mu.Lock()
		defer db.mu.Unlock()
		if len(db.security) > 0 {
			return nil, fmt.Errorf("checksum database %s: %s: %w", db.name, strings.Join(db.security, "; "), err)
		}
		return nil, fmt.Errorf("checksum database %s: %w", db.name, err)
	}
	return lines, nil
}
