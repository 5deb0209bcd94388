// Package store defines where gomirror keeps the files it serves.
//
// Names are slash-separated paths relative to the root of the store, laid out
// exactly like GOMODCACHE/cache/download: "golang.org/x/text/@v/v0.3.0.zip",
// "golang.org/x/text/@v/list", "sumdb/sum.golang.org/tile/8/0/001". Module
// paths in names are case-encoded with golang.org/x/mod/module.EscapePath.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"
)

// Store keeps named files. Implementations are safe for concurrent use.
type Store interface {
	// Get opens the file called name. It returns an error that matches
	// fs.ErrNotExist when there is none. The returned reader may also
	// implement io.Seeker and Stat() (fs.FileInfo, error); callers find those
	// abilities by type assertion.
	Get(ctx context.Context, name string) (io.ReadCloser, error)
	// Put stores content under name atomically: readers see either the old
	// file or the whole new one, never a part.
	Put(ctx context.Context, name string, content io.Reader) error
	// Delete removes name. Deleting a missing name is not an error.
	Delete(ctx context.Context, name string) error
}

// FilePutter is implemented by stores that can take a whole temporary file
// at less cost than Put: the core fills an artifact into a temporary file,
// checks it, then stores it with PutFile when the store has it.
type FilePutter interface {
	// PutFile stores the content of the temporary file f, whose whole
	// content (from offset 0, whatever f's current offset) is the
	// artifact, under name, atomically as Put does. When f's path is on the
	// store's file system, f is renamed into place, so that a fill needs
	// room for one copy; otherwise it is copied. After PutFile returns,
	// f's path may no longer exist, but f stays open and readable (its
	// offset is unchanged); the caller still closes f and must not write
	// to it any more. The core stores with PutFile only files it can
	// fetch again: a store may trade the new name's durability for speed
	// (a crash may lose it), never its atomicity.
	PutFile(ctx context.Context, name string, f *os.File) error
}

// CachePutter is implemented by stores that can store a file that is a
// cache of something fetched again at will (a checksum database tile, say)
// more cheaply than Put: atomically for readers, as Put does, but without
// forcing it to stable storage first. After a crash such a file may be
// missing, empty or, on some file systems, damaged, so whoever reads it
// back checks it before use.
type CachePutter interface {
	// PutCache stores content under name as Put does, without syncing it.
	PutCache(ctx context.Context, name string, content io.Reader) error
}

// PutCache stores content under name with st's PutCache when it has one,
// and with Put otherwise.
func PutCache(ctx context.Context, st Store, name string, content io.Reader) error {
	if cp, ok := st.(CachePutter); ok {
		return cp.PutCache(ctx, name, content)
	}
	return st.Put(ctx, name, content)
}

// Walker is implemented by stores that can list the names under a prefix.
// Only maintenance commands (fsck) walk a store; no request path does.
type Walker interface {
	// Walk calls fn for each name that starts with prefix, in no
	// particular order, and stops at the first error fn returns. The
	// prefix is matched as a string: "" lists everything, and a prefix
	// ending in "/" lists a directory. Without its trailing "/", a prefix
	// must pass CheckName; else the error wraps ErrInvalidName.
	Walk(ctx context.Context, prefix string, fn func(name string) error) error
}

// Toucher is implemented by stores that keep track of how recently each
// file was used, such as a store with a byte budget that evicts the least
// recently used files. The pull-through core calls Touch for each stored
// file it serves and after each file it stores.
type Toucher interface {
	// Touch records that name was just read or written. immutable reports
	// whether the file is an immutable artifact, fetched again from
	// upstream whenever it is missing, which the store may evict; other
	// files (lists, indexes, tags) are never evicted. Touch is called on
	// every hit: it must be cheap, do no I/O and be safe for concurrent
	// use.
	Touch(name string, immutable bool)
}

// ErrInvalidName is returned for a name that is not a clean relative path.
var ErrInvalidName = errors.New("invalid store name")

// ErrFull is wrapped by the errors of writes that failed for want of room:
// a full disk or an exhausted quota, an object store out of space or over
// its bucket quota. Check with errors.Is(err, ErrFull).
var ErrFull = errors.New("storage full")

// MaxNameLen bounds the length of a name.
const MaxNameLen = 1024

// CheckName reports whether name is a clean, relative, slash-separated path
// with no empty, "." or ".." element, no backslash and no NUL byte, and no
// element that starts with a dot (those are reserved for the store's own
// bookkeeping). The error wraps ErrInvalidName.
func CheckName(name string) error {
	if name == "" || len(name) > MaxNameLen || strings.ContainsAny(name, "\\\x00") ||
		path.IsAbs(name) || path.Clean(name) != name {
		return fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	for elem := range strings.SplitSeq(name, "/") {
		if elem == "" || elem[0] == '.' {
			return fmt.Errorf("%w: %q", ErrInvalidName, name)
		}
	}
	return nil
}

// Stat returns the size and modification time of a reader returned by Get,
// when it can tell them. ok is false when it cannot.
func Stat(r io.Reader) (size int64, modTime time.Time, ok bool) {
	s, isStater := r.(interface{ Stat() (fs.FileInfo, error) })
	if !isStater {
		return 0, time.Time{}, false
	}
	fi, err := s.Stat()
	if err != nil {
		return 0, time.Time{}, false
	}
	return fi.Size(), fi.ModTime(), true
}
