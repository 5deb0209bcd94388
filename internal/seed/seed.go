// Package seed fills a store from an existing Go module cache (GOMODCACHE),
// verifying every file against the checksum database first: it is
// `gomirror import`.
package seed

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/mod/module"
	"golang.org/x/sync/errgroup"

	"github.com/gomirror/gomirror/internal/store"
	"github.com/gomirror/gomirror/internal/verify"
)

// Checker looks up the checksum database hashes of a module version; see
// sumdb.SumDB.Lookup. It returns "", "" and no error for a module that is
// not to be checked against the database (private ones).
type Checker interface {
	Lookup(ctx context.Context, path, version string) (zipHash, modHash string, err error)
}

// Options says what to import and where.
type Options struct {
	// Dir is a GOMODCACHE (with cache/download inside) or a cache/download
	// directory itself.
	Dir string
	// Store receives the files.
	Store store.Store
	// Checker gives the hashes to verify .zip and .mod files against.
	Checker Checker
	// Jobs is how many module versions are imported at once; 0 means 4.
	Jobs int
	// Progress, when not nil, is called after each module version, never
	// concurrently.
	Progress func(Progress)
	// Logger receives debug messages; nil discards them.
	Logger *slog.Logger
}

// Progress counts what an import has done so far.
type Progress struct {
	// Done and Total count module versions.
	Done, Total int
	// Imported, Skipped and Refused count files.
	Imported, Skipped, Refused int
}

// Report is the outcome of an import.
type Report struct {
	// Imported counts the files stored, Skipped those already stored with
	// identical content.
	Imported, Skipped int
	// Refused lists the files not stored, with the reason for each, sorted
	// by name.
	Refused []Refusal
}

// Refusal is a file that was not imported.
type Refusal struct {
	// Name is the file's store name ("example.com/m/@v/v1.0.0.zip") or,
	// when it has none, its path relative to the module cache.
	Name string
	// Reason is one line.
	Reason string
}

// version is a module version found in the cache, with its files by
// extension (".info", ".mod", ".zip").
type version struct {
	module.Version
	escaped string // store name prefix: "ESCAPED/@v/ESCVERSION"
	files   map[string]string
}

// Import verifies and stores every .info, .mod and .zip file of the module
// cache in opts.Dir. A file that fails verification is refused and listed in
// the report; the import goes on. The error is for failures that stop the
// import: an unreadable cache, a cancelled ctx, a failing store.
func Import(ctx context.Context, opts Options) (*Report, error) {
	if opts.Jobs <= 0 {
		opts.Jobs = 4
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	root, err := downloadDir(opts.Dir)
	if err != nil {
		return nil, err
	}
	versions, refused, err := scan(root)
	if err != nil {
		return nil, err
	}
	rep := &Report{Refused: refused}
	var mu sync.Mutex
	done := 0
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Jobs)
	for _, v := range versions {
		g.Go(func() error {
			res, err := importVersion(gctx, opts, v)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			rep.Imported += res.Imported
			rep.Skipped += res.Skipped
			rep.Refused = append(rep.Refused, res.Refused...)
			done++
			if opts.Progress != nil {
				opts.Progress(Progress{Done: done, Total: len(versions), Imported: rep.Imported, Skipped: rep.Skipped, Refused: len(rep.Refused)})
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return rep, err
	}
	slices.SortFunc(rep.Refused, func(a, b Refusal) int { return strings.Compare(a.Name, b.Name) })
	return rep, nil
}

// downloadDir returns the cache/download directory of dir.
func downloadDir(dir string) (string, error) {
	fi, err := os.Stat(dir)
	if err != nil {
		return "", fmt.Errorf("module cache: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("module cache %s: not a directory", dir)
	}
	dl := filepath.Join(dir, "cache", "download")
	if fi, err := os.Stat(dl); err == nil && fi.IsDir() {
		return dl, nil
	}
	return dir, nil
}

// scan finds the module versions under root, a cache/download directory.
func scan(root string) ([]*version, []Refusal, error) {
	byName := make(map[string]*version)
	var refused []Refusal
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "sumdb" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		dir, file := path.Split(rel)
		ext := path.Ext(file)
		if path.Base(dir) != "@v" || (ext != ".info" && ext != ".mod" && ext != ".zip") {
			return nil // list, .lock, .ziphash, .partial, temporary files
		}
		escPath := strings.TrimSuffix(dir, "/@v/")
		escVers := strings.TrimSuffix(file, ext)
		mpath, err1 := module.UnescapePath(escPath)
		vers, err2 := module.UnescapeVersion(escVers)
		if err := errors.Join(err1, err2); err != nil || module.Check(mpath, vers) != nil ||
			module.CanonicalVersion(vers) != vers {
			refused = append(refused, Refusal{Name: rel, Reason: "not a module cache file: invalid module path or version"})
			return nil
		}
		key := escPath + "/@v/" + escVers
		v := byName[key]
		if v == nil {
			v = &version{Version: module.Version{Path: mpath, Version: vers}, escaped: key, files: make(map[string]string)}
			byName[key] = v
		}
		v.files[ext] = p
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("reading module cache: %w", err)
	}
	versions := make([]*version, 0, len(byName))
	for _, v := range byName {
		versions = append(versions, v)
	}
	slices.SortFunc(versions, func(a, b *version) int { return strings.Compare(a.escaped, b.escaped) })
	return versions, refused, nil
}

// importVersion verifies and stores the files of one module version.
func importVersion(ctx context.Context, opts Options, v *version) (*Report, error) {
	rep := &Report{}
	var zipHash, modHash string
	var lookupErr error
	if v.files[".zip"] != "" || v.files[".mod"] != "" {
		zipHash, modHash, lookupErr = opts.Checker.Lookup(ctx, v.Path, v.Version.Version)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	for _, ext := range []string{".mod", ".zip", ".info"} {
		local := v.files[ext]
		if local == "" {
			continue
		}
		name := v.escaped + ext
		err := lookupErr
		if ext == ".info" {
			err = nil
		}
		if err == nil {
			err = verify.File(v.Version, ext, local, zipHash, modHash)
		}
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && errors.Is(lookupErr, fs.ErrNotExist) {
				err = fmt.Errorf("%s is not in the checksum database (private? use --private or --nosumdb)", v.Version)
			}
			rep.Refused = append(rep.Refused, Refusal{Name: name, Reason: reason(err)})
			continue
		}
		same, err := sameContent(ctx, opts.Store, name, local)
		if err != nil {
			return nil, err
		}
		if same {
			rep.Skipped++
			continue
		}
		if err := putFile(ctx, opts.Store, name, local); err != nil {
			return nil, err
		}
		opts.Logger.Debug("imported", "name", name)
		rep.Imported++
	}
	return rep, nil
}

// reason gives the one-line reason a file was refused. A checksum
// mismatch names both hashes.
func reason(err error) string {
	var mm *verify.MismatchError
	if errors.As(err, &mm) {
		return fmt.Sprintf("%s: %s checksum mismatch: checksum database has %s, file has %s", mm.Module, mm.File, mm.Want, mm.Got)
	}
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}

// sameContent reports whether the store already has name with the content
// of the local file.
func sameContent(ctx context.Context, st store.Store, name, local string) (bool, error) {
	r, err := st.Get(ctx, name)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading %s from the store: %w", name, err)
	}
	defer r.Close()
	f, err := os.Open(local)
	if err != nil {
		return false, err
	}
	defer f.Close()
	return equalReaders(bufio.NewReader(r), bufio.NewReader(f))
}

func equalReaders(a, b io.Reader) (bool, error) {
	bufA, bufB := make([]byte, 32<<10), make([]byte, 32<<10)
	for {
		na, errA := io.ReadFull(a, bufA)
		nb, errB := io.ReadFull(b, bufB)
		if !bytes.Equal(bufA[:na], bufB[:nb]) {
			return false, nil
		}
		endA := errors.Is(errA, io.EOF) || errors.Is(errA, io.ErrUnexpectedEOF)
		endB := errors.Is(errB, io.EOF) || errors.Is(errB, io.ErrUnexpectedEOF)
		switch {
		case errA != nil && !endA:
			return false, errA
		case errB != nil && !endB:
			return false, errB
		case endA || endB:
			return endA == endB, nil
		}
	}
}

// putFile stores the local file under name.
func putFile(ctx context.Context, st store.Store, name, local string) error {
	f, err := os.Open(local)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := st.Put(ctx, name, f); err != nil {
		return fmt.Errorf("storing %s: %w", name, err)
	}
	return nil
}
