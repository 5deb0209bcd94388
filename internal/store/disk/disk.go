package disk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gomirror/gomirror/internal/store"
)

// TempDir is the directory under the root, relative to it, that holds files
// being written. Its contents are discarded when a Store opens the root and
// no other Store has it open.
const TempDir = ".tmp"

// errEscapes reports a name that resolves, through a symbolic link,
// outside the store's directory.
var errEscapes = errors.New("path escapes from the store")

// lockName is the file in TempDir that open Stores hold a shared lock on.
const lockName = "lock"

// staleTempAge is how long a temporary file must have gone unmodified
// before a Store removes it while another process has the store open.
const staleTempAge = 24 * time.Hour

const (
	filePerm = 0o644
	dirPerm  = 0o755
)

var (
	_ store.Store       = (*Store)(nil)
	_ store.Walker      = (*Store)(nil)
	_ store.FilePutter  = (*Store)(nil)
	_ store.CachePutter = (*Store)(nil)
)

// Store is a [store.Store] on a local directory. It is safe for concurrent
// use, also by several processes sharing the directory.
type Store struct {
	root    *os.Root
	dirFile *os.File // Used by openBeneath; nil where it is not.
	dir     string
	lock    *os.File
	logger  *slog.Logger

	noOpenat2 atomic.Bool // Set when openBeneath found openat2 unusable.

	// rootInfo describes the directory, to tell whether a file is on the
	// same file system.
	rootInfo fs.FileInfo
	// floor is the free space, in bytes, below which Check fails; 0 means
	// no floor.
	floor atomic.Int64
	// fault, when a test sets it before the Store is used, is called
	// before each write to a file ("write") and before a file is renamed
	// into place from outside the store ("rename"). An error it returns is
	// taken as that write's or rename's.
	fault func(op string) error
}

// New opens the store in dir, creating dir if needed, and removes the files
// that an interrupted writer left in its temporary directory. A nil logger
// discards logs. Call Close to release the directory.
func New(dir string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if dir == "" {
		return nil, errors.New("disk store: no directory given")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("disk store %s: %w", dir, err)
	}
	if err := os.MkdirAll(filepath.Join(abs, TempDir), dirPerm); err != nil {
		return nil, fmt.Errorf("disk store: %w", err)
	}
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("disk store: %w", err)
	}
	s := &Store{root: root, dir: abs, logger: logger}
	if s.rootInfo, err = root.Stat("."); err != nil {
		root.Close()
		return nil, fmt.Errorf("disk store %s: %w", abs, err)
	}
	if err := s.open(); err != nil {
		root.Close()
		return nil, fmt.Errorf("disk store %s: %w", abs, err)
	}
	if s.dirFile, err = openDir(abs); err != nil {
		s.Close()
		return nil, fmt.Errorf("disk store: %w", err)
	}
	return s, nil
}

// open takes the shared lock on the temporary directory, first cleaning it
// if no other Store has it open.
func (s *Store) open() error {
	f, err := s.root.OpenFile(path.Join(TempDir, lockName), os.O_RDWR|os.O_CREATE, filePerm)
	if err != nil {
		return err
	}
	exclusive, err := lockExclusive(f)
	if err != nil {
		f.Close()
		return fmt.Errorf("locking %s: %w", TempDir, err)
	}
	if exclusive {
		err = s.cleanTemp(func(fs.FileInfo) bool { return true })
	} else {
		s.logger.Debug("disk store in use by another process; keeping its temporary files", "dir", s.dir)
		err = s.cleanTemp(isStaleTemp)
	}
	if err == nil {
		err = lockShared(f)
	}
	if err != nil {
		f.Close()
		return err
	}
	s.lock = f
	return nil
}

// cleanTemp removes the entries of the temporary directory for which stale
// reports true, except the lock file.
func (s *Store) cleanTemp(stale func(fs.FileInfo) bool) error {
	d, err := s.root.Open(TempDir)
	if err != nil {
		return err
	}
	entries, err := d.Readdir(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("reading %s: %w", TempDir, err)
	}
	removed := 0
	for _, fi := range entries {
		if fi.Name() == lockName || !stale(fi) {
			continue
		}
		if err := s.root.RemoveAll(path.Join(TempDir, fi.Name())); err != nil {
			return fmt.Errorf("removing stale temporary file: %w", err)
		}
		removed++
	}
	if removed > 0 {
		s.logger.Info("removed files left by an interrupted write", "dir", filepath.Join(s.dir, TempDir), "count", removed)
	}
	return nil
}

// Close releases the directory. The Store must not be used afterwards.
func (s *Store) Close() error {
	err := s.lock.Close()
	if rerr := s.root.Close(); err == nil {
		err = rerr
	}
	if s.dirFile != nil {
		s.dirFile.Close()
	}
	return err
}

// Dir returns the absolute path of the directory the Store keeps its files
// in.
func (s *Store) Dir() string { return s.dir }

// Get opens the file called name. The reader is the *os.File itself, so it
// can Stat, Seek and be sent with sendfile. The error matches fs.ErrNotExist
// when there is no such file, and store.ErrInvalidName for a bad name.
func (s *Store) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := store.CheckName(name); err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, &fs.PathError{Op: "get", Path: name, Err: err}
	}
	f, ok, err := s.openBeneath(name)
	if !ok {
		f, err = s.root.Open(name)
	}
	if err != nil {
		return nil, pathError("get", name, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, pathError("get", name, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, &fs.PathError{Op: "get", Path: name, Err: fs.ErrNotExist}
	}
	return f, nil
}

// Put writes content to a temporary file, syncs it and renames it to name,
// so that readers see the old file or the whole new one. When ctx is
// canceled or content fails, nothing changes at name. Concurrent Puts of
// one name leave the content of the one that finished last.
func (s *Store) Put(ctx context.Context, name string, content io.Reader) error {
	return s.put(ctx, name, content, true)
}

// PutCache stores content under name as Put does, atomically for readers,
// but syncs neither the file nor its directory: for files that can be
// fetched again, whose reader checks them. A crash may leave the file
// missing or empty (on ext4 and XFS with their default options) or
// damaged (on others).
func (s *Store) PutCache(ctx context.Context, name string, content io.Reader) error {
	return s.put(ctx, name, content, false)
}

func (s *Store) put(ctx context.Context, name string, content io.Reader, durable bool) (err error) {
	if err := store.CheckName(name); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return &fs.PathError{Op: "put", Path: name, Err: err}
	}
	tmp, f, err := s.createTemp("put-")
	if err != nil {
		return pathError("put", name, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			s.root.Remove(tmp)
		}
	}()
	src := content
	if _, isFile := content.(*os.File); !isFile {
		// Files are copied by the kernel and quickly; anything else may be
		// a slow network stream, so look at ctx between reads.
		src = ctxReader{ctx, content}
	}
	var dst io.Writer = f
	if s.fault != nil {
		dst = faultWriter{f, s.fault}
	}
	if _, err := io.Copy(dst, src); err != nil {
		return pathError("put", name, err)
	}
	if durable {
		if err := f.Sync(); err != nil {
			return pathError("put", name, err)
		}
	}
	if err := f.Close(); err != nil {
		return pathError("put", name, err)
	}
	if err := ctx.Err(); err != nil {
		return pathError("put", name, err)
	}
	dir := path.Dir(name)
	if err := s.mkdirs(dir, durable); err != nil {
		return pathError("put", name, err)
	}
	if err := s.root.Rename(tmp, name); err != nil {
		return pathError("put", name, err)
	}
	if !durable {
		return nil
	}
	if err := s.syncDir(dir); err != nil {
		return pathError("put", name, err)
	}
	return nil
}

// PutFile stores the whole content of the temporary file f under name, as
// [store.FilePutter] says. When f is still at its path and that path is on
// the store's file system, f is synced, made readable by all like the
// store's other files, and renamed into place, and the fill needs no
// second copy's worth of space. The directories are not synced: the
// core stores with PutFile only what it can fetch again, so a crash may
// lose the new name (the file is fetched again) but never leaves part of
// a file under it, its content having been synced before the rename.
// Otherwise the content is copied as by Put. Errors are those of Put.
func (s *Store) PutFile(ctx context.Context, name string, f *os.File) error {
	if err := store.CheckName(name); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return &fs.PathError{Op: "put", Path: name, Err: err}
	}
	fi, err := f.Stat()
	if err != nil {
		return pathError("put", name, err)
	}
	if !fi.Mode().IsRegular() {
		return &fs.PathError{Op: "put", Path: name, Err: errors.New("not a regular file")}
	}
	// Rename only the file itself: its path must still lead to it.
	if at, err := os.Lstat(f.Name()); err == nil && os.SameFile(fi, at) && sameDevice(fi, s.rootInfo) {
		moved, err := s.moveInto(name, f)
		if moved || err != nil {
			return err
		}
	}
	return s.Put(ctx, name, io.NewSectionReader(f, 0, fi.Size()))
}

// moveInto renames the complete file f to name. moved is false, with no
// error, when the rename cannot be done across file systems and the
// content should be copied instead.
func (s *Store) moveInto(name string, f *os.File) (moved bool, err error) {
	if err := f.Sync(); err != nil {
		return false, pathError("put", name, err)
	}
	if err := f.Chmod(filePerm); err != nil {
		return false, pathError("put", name, err)
	}
	dir := path.Dir(name)
	if err := s.mkdirs(dir, false); err != nil {
		return false, pathError("put", name, err)
	}
	if s.fault != nil {
		err = s.fault("rename")
	}
	if err == nil {
		err = s.renameInto(f.Name(), dir, path.Base(name))
	}
	if errors.Is(err, syscall.EXDEV) || errors.Is(err, errors.ErrUnsupported) {
		return false, nil
	}
	if err != nil {
		return false, pathError("put", name, err)
	}
	return true, nil
}

// Delete removes name. Deleting a missing name, or one that is a
// directory, does nothing.
func (s *Store) Delete(ctx context.Context, name string) error {
	if err := store.CheckName(name); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return &fs.PathError{Op: "delete", Path: name, Err: err}
	}
	fi, err := s.root.Lstat(name)
	if err == nil && fi.IsDir() {
		return nil
	}
	if err == nil {
		err = s.root.Remove(name)
	}
	if err != nil && !isNotExist(err) {
		return pathError("delete", name, err)
	}
	return nil
}

// Walk calls fn for each file whose name starts with prefix, in lexical
// order, skipping the store's own dot-directories. A prefix ending in "/"
// lists a directory; "" lists everything. It walks the whole tree under
// the prefix, so only maintenance commands should call it.
func (s *Store) Walk(ctx context.Context, prefix string, fn func(name string) error) error {
	if prefix != "" {
		if err := store.CheckName(strings.TrimSuffix(prefix, "/")); err != nil {
			return fmt.Errorf("walk: %w", err)
		}
	}
	start := "."
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = prefix[:i]
	}
	err := fs.WalkDir(s.root.FS(), start, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			if name == start && isNotExist(err) {
				return fs.SkipAll
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if name != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			// Skip directories that cannot hold a matching name.
			if name != "." && !strings.HasPrefix(name+"/", prefix) && !strings.HasPrefix(prefix, name+"/") {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() || !strings.HasPrefix(name, prefix) {
			return nil
		}
		return fn(name)
	})
	if err != nil {
		return fmt.Errorf("walk %q: %w", prefix, err)
	}
	return nil
}

// SetFreeSpaceFloor makes Check fail, with an error matching
// store.ErrFull, while the file system has less than bytes free for
// gomirror. Zero, the default, sets no floor: Check fails only when a small
// write fails. It is safe to call while the Store is in use.
func (s *Store) SetFreeSpaceFloor(bytes int64) { s.floor.Store(max(bytes, 0)) }

// FreeSpace returns how many bytes the file system holding the store has
// available to gomirror (not counting blocks reserved for root). Where the
// system cannot tell, the error matches errors.ErrUnsupported.
func (s *Store) FreeSpace(ctx context.Context) (free int64, err error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	free, err = freeSpace(s.dir)
	if err != nil {
		return 0, fmt.Errorf("disk store %s: free space: %w", s.dir, err)
	}
	return free, nil
}

// Check reports whether the store can write files, by creating and removing
// a probe file in its temporary directory, and, when a floor is set (see
// SetFreeSpaceFloor), whether it has that much space free. It is meant for
// readiness checks. A full file system gives an error matching
// store.ErrFull.
func (s *Store) Check(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if floor := s.floor.Load(); floor > 0 {
		free, err := s.FreeSpace(ctx)
		switch {
		case errors.Is(err, errors.ErrUnsupported):
			// Nothing to compare with: the probe below still tells.
		case err != nil:
			return err
		case free < floor:
			return fmt.Errorf("disk store %s: %d bytes free, below the floor of %d: %w", s.dir, free, floor, store.ErrFull)
		}
	}
	tmp, f, err := s.createTemp("probe-")
	if err != nil {
		return fmt.Errorf("disk store %s not writable: %w", s.dir, full(err))
	}
	var w io.Writer = f
	if s.fault != nil {
		w = faultWriter{f, s.fault}
	}
	_, err = w.Write([]byte("ok\n"))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if rerr := s.root.Remove(tmp); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("disk store %s not writable: %w", s.dir, full(err))
	}
	return nil
}

// createTemp creates a new file in the temporary directory and returns its
// name relative to the root.
func (s *Store) createTemp(prefix string) (string, *os.File, error) {
	var b [12]byte
	for {
		rand.Read(b[:])
		name := path.Join(TempDir, prefix+hex.EncodeToString(b[:]))
		f, err := s.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, filePerm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		return name, f, err
	}
}

// mkdirAll creates dir and its missing parents, syncing each parent that
// gained an entry so that the new file's path survives a crash.
func (s *Store) mkdirAll(dir string) error { return s.mkdirs(dir, true) }

// mkdirs creates dir and its missing parents, syncing each parent that
// gained an entry when durable is set.
func (s *Store) mkdirs(dir string, durable bool) error {
	if dir == "." {
		return nil
	}
	if fi, err := s.root.Stat(dir); err == nil {
		if !fi.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
		}
		return nil
	}
	parent := path.Dir(dir)
	if err := s.mkdirs(parent, durable); err != nil {
		return err
	}
	if err := s.root.Mkdir(dir, dirPerm); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // A concurrent Put made it.
		}
		return err
	}
	if !durable {
		return nil
	}
	return s.syncDir(parent)
}

// syncDir flushes the directory entries of dir to disk.
func (s *Store) syncDir(dir string) error {
	d, err := s.root.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// pathError reports err for name under op, naming the file by its store
// name rather than by its path on disk. For get and delete, a parent that
// is a file means that name is missing. A full file system or quota
// matches store.ErrFull.
func pathError(op, name string, err error) error {
	if op != "put" && isNotExist(err) {
		err = fs.ErrNotExist
	} else if pe, ok := errors.AsType[*fs.PathError](err); ok {
		err = pe.Err
	} else if le, ok := errors.AsType[*os.LinkError](err); ok {
		err = le.Err
	}
	return &fs.PathError{Op: op, Path: name, Err: full(err)}
}

// full wraps store.ErrFull around err when err says that the file system
// or the quota is full.
func full(err error) error {
	if isFull(err) && !errors.Is(err, store.ErrFull) {
		return fmt.Errorf("%w: %w", store.ErrFull, err)
	}
	return err
}

// faultWriter is a file whose writes first ask the test's fault hook.
type faultWriter struct {
	f     *os.File
	fault func(op string) error
}

func (w faultWriter) Write(p []byte) (int, error) {
	if err := w.fault("write"); err != nil {
		return 0, err
	}
	return w.f.Write(p)
}

// isNotExist reports whether err means that a file is missing, including
// the case where a parent of the name is a file rather than a directory.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

// isStaleTemp reports whether a temporary file is old enough to belong to
// a writer that died.
func isStaleTemp(fi fs.FileInfo) bool {
	return time.Since(fi.ModTime()) > staleTempAge
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}
