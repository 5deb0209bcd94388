//go:build !unix

package disk

import (
	"errors"
	"io/fs"
	"syscall"
)

// isFull reports whether err says that the disk is full: ERROR_DISK_FULL
// or ERROR_HANDLE_DISK_FULL on Windows.
func isFull(err error) bool {
	var errno syscall.Errno
	return errors.As(err, &errno) && (errno == 112 || errno == 39)
}

// sameDevice reports false: renaming into the store is not done here.
func sameDevice(a, b fs.FileInfo) bool { return false }

// renameInto is not supported: PutFile copies.
func (s *Store) renameInto(from, dir, base string) error { return errors.ErrUnsupported }
