// Package fsck re-verifies the module files in a store against the checksum
// database and moves the ones that fail out of the way, under
// "quarantine/", so they are never served again: it is `gomirror fsck`.
package fsck

import (
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

// QuarantinePrefix is where quarantined files go: "quarantine/" followed by
// the original name. No module path starts with an element without a dot,
// so no module file is ever stored there.
const QuarantinePrefix = "quarantine/"

// Checker looks up the checksum database hashes of a module version; see
// sumdb.SumDB.Lookup. It returns "", "" and no error for a module that is
// not to be checked against the database (private ones).
type Checker interface {
	Lookup(ctx context.Context, path, version string) (zipHash, modHash string, err error)
}

// Store is a store that can list its names.
type Store interface {
	store.Store
	store.Walker
}

// Options says what to check.
type Options struct {
	// Store is the store to check.
	Store Store
	// Checker gives the hashes to verify .zip and .mod files against.
	Checker Checker
	// DryRun reports what would be quarantined without moving anything.
	DryRun bool
	// Jobs is how many module versions are checked at once; 0 means 4.
	Jobs int
	// TempDir holds zip files copied out of the store to be checked, for
	// stores that cannot give a zip's local path (S3); "" means the
	// system's temporary directory. Zips in a store on a local directory
	// (with a Dir method, such as the disk store) are checked in place.
	TempDir string
	// Progress, when not nil, is called after each module version, never
	// concurrently.
	Progress func(Progress)
	// Logger receives debug messages; nil discards them.
	Logger *slog.Logger
}

// Progress counts what a check has done so far.
type Progress struct {
	// Done and Total count module versions.
	Done, Total int
	// Checked, Quarantined and Errors count files.
	Checked, Quarantined, Errors int
}

// Report is the outcome of a check.
type Report struct {
	// Checked counts the files checked, OK those that passed.
	Checked, OK int
	// Quarantined lists the files that failed verification (moved away,
	// unless DryRun), sorted by name.
	Quarantined []Finding
	// Errors lists the files that could not be checked (the checksum
	// database could not be asked, the store failed), sorted by name.
	Errors []Finding
}

// Finding is a file fsck has something to say about.
type Finding struct {
	// Name is the file's store name.
	Name string
	// Reason is one line; for a checksum mismatch it names both hashes.
	Reason string
}

type version struct {
	module.Version
	names map[string]string // by extension
}

// Run checks every .info, .mod and .zip file in opts.Store. The error is
// for failures that stop the check (cancelled ctx, a store that cannot be
// listed or written); problems with single files are in the report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Jobs <= 0 {
		opts.Jobs = 4
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	versions, err := list(ctx, opts.Store)
	if err != nil {
		return nil, err
	}
	rep := &Report{}
	var mu sync.Mutex
	done := 0
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Jobs)
	for _, v := range versions {
		g.Go(func() error {
			res, err := checkVersion(gctx, opts, v)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			rep.Checked += res.Checked
			rep.OK += res.OK
			rep.Quarantined = append(rep.Quarantined, res.Quarantined...)
			rep.Errors = append(rep.Errors, res.Errors...)
			done++
			if opts.Progress != nil {
				opts.Progress(Progress{Done: done, Total: len(versions), Checked: rep.Checked, Quarantined: len(rep.Quarantined), Errors: len(rep.Errors)})
			}
			return nil
		})
	}
	err = g.Wait()
	byName := func(a, b Finding) int { return strings.Compare(a.Name, b.Name) }
	slices.SortFunc(rep.Quarantined, byName)
	slices.SortFunc(rep.Errors, byName)
	return rep, err
}

// list finds the module versions in the store.
func list(ctx context.Context, st Store) ([]*version, error) {
	byKey := make(map[string]*version)
	err := st.Walk(ctx, "", func(name string) error {
		if strings.HasPrefix(name, QuarantinePrefix) || strings.HasPrefix(name, "sumdb/") {
			return nil
		}
		dir, file := path.Split(name)
		ext := path.Ext(file)
		if path.Base(dir) != "@v" || (ext != ".info" && ext != ".mod" && ext != ".zip") {
			return nil
		}
		escPath := strings.TrimSuffix(dir, "/@v/")
		escVers := strings.TrimSuffix(file, ext)
		mpath, err1 := module.UnescapePath(escPath)
		vers, err2 := module.UnescapeVersion(escVers)
		if err1 != nil || err2 != nil {
			return nil // not a module file name: nothing fsck can check
		}
		key := escPath + "@" + escVers
		v := byKey[key]
		if v == nil {
			v = &version{Version: module.Version{Path: mpath, Version: vers}, names: make(map[string]string)}
			byKey[key] = v
		}
		v.names[ext] = name
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the store: %w", err)
	}
	versions := make([]*version, 0, len(byKey))
	for _, v := range byKey {
		versions = append(versions, v)
	}
	slices.SortFunc(versions, func(a, b *version) int {
		return strings.Compare(a.Path+"@"+a.Version.Version, b.Path+"@"+b.Version.Version)
	})
	return versions, nil
}

// checkVersion checks the files of one module version.
func checkVersion(ctx context.Context, opts Options, v *version) (*Report, error) {
	rep := &Report{}
	var zipHash, modHash string
	var lookupErr error
	if v.names[".zip"] != "" || v.names[".mod"] != "" {
		zipHash, modHash, lookupErr = opts.Checker.Lookup(ctx, v.Path, v.Version.Version)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	for _, ext := range []string{".mod", ".zip", ".info"} {
		name := v.names[ext]
		if name == "" {
			continue
		}
		rep.Checked++
		err := lookupErr
		if ext == ".info" {
			err = nil
		} else if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%s is not in the checksum database (private? use --private or --nosumdb)", v.Version)
		}
		if err == nil {
			err = check(ctx, opts, v.Version, ext, name, zipHash, modHash)
		}
		var mm *verify.MismatchError
		switch {
		case err == nil:
			rep.OK++
		case errors.As(err, &mm) || errors.Is(err, verify.ErrInvalid):
			if !opts.DryRun {
				if err := quarantine(ctx, opts.Store, name); err != nil {
					return nil, err
				}
				opts.Logger.Debug("quarantined", "name", name)
			}
			rep.Quarantined = append(rep.Quarantined, Finding{Name: name, Reason: reason(err)})
		default:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			rep.Errors = append(rep.Errors, Finding{Name: name, Reason: reason(err)})
		}
	}
	return rep, nil
}

// maxSmallFile bounds the size of a .mod or .info file, as the go command
// bounds a go.mod.
const maxSmallFile = 16 << 20

// check verifies one stored file.
func check(ctx context.Context, opts Options, m module.Version, ext, name, zipHash, modHash string) error {
	r, err := opts.Store.Get(ctx, name)
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	defer r.Close()
	if ext != ".zip" {
		data, err := io.ReadAll(io.LimitReader(r, maxSmallFile+1))
		if err != nil {
			return fmt.Errorf("reading %s: %w", name, err)
		}
		if len(data) > maxSmallFile {
			return fmt.Errorf("%s%s is larger than %d bytes: %w", m, ext, maxSmallFile, verify.ErrInvalid)
		}
		if ext == ".mod" {
			_, err = verify.Mod(m, data, modHash)
		} else {
			err = verify.Info(m, data)
		}
		return err
	}
	// The zip checks read a local file twice, by path.
	if path, ok := localPath(opts.Store, name, r); ok {
		_, err := verify.Zip(m, path, zipHash)
		return err
	}
	// An S3 object is copied once rather than fetched twice.
	f, err := os.CreateTemp(opts.TempDir, "gomirror-fsck-*"+ext)
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copying %s: %w", name, err)
	}
	_, err = verify.Zip(m, f.Name(), zipHash)
	return err
}

// localPath returns the path of the stored file name, which r reads, when
// st keeps its files in a local directory (it has a Dir method, as the
// disk store does) and that path leads to the very file r is.
func localPath(st Store, name string, r io.Reader) (string, bool) {
	d, ok := st.(interface{ Dir() string })
	f, isFile := r.(*os.File)
	if !ok || !isFile {
		return "", false
	}
	path := filepath.Join(d.Dir(), filepath.FromSlash(name))
	opened, err := f.Stat()
	if err != nil {
		return "", false
	}
	atPath, err := os.Stat(path)
	if err != nil || !os.SameFile(opened, atPath) {
		return "", false
	}
	return path, true
}

// quarantine moves name to QuarantinePrefix+name.
func quarantine(ctx context.Context, st store.Store, name string) error {
	r, err := st.Get(ctx, name)
	if err != nil {
		return fmt.Errorf("quarantining %s: %w", name, err)
	}
	err = st.Put(ctx, QuarantinePrefix+name, r)
	r.Close()
	if err != nil {
		return fmt.Errorf("quarantining %s: %w", name, err)
	}
	if err := st.Delete(ctx, name); err != nil {
		return fmt.Errorf("quarantining %s: %w", name, err)
	}
	return nil
}

// reason gives a one-line reason; a checksum mismatch names both hashes.
func reason(err error) string {
	var mm *verify.MismatchError
	if errors.As(err, &mm) {
		return fmt.Sprintf("%s: %s checksum mismatch: checksum database has %s, store has %s", mm.Module, mm.File, mm.Want, mm.Got)
	}
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}
