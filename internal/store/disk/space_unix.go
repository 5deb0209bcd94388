//go:build unix

package disk

import (
	"errors"
	"io/fs"
	"path"
	"syscall"

	"golang.org/x/sys/unix"
)

// isFull reports whether err says that the file system or the user's quota
// has no room left.
func isFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// sameDevice reports whether a and b are on the same file system.
func sameDevice(a, b fs.FileInfo) bool {
	sa, ok1 := a.Sys().(*syscall.Stat_t)
	sb, ok2 := b.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && sa.Dev == sb.Dev
}

// renameInto renames the file at from (a path outside the store, relative
// to the working directory unless absolute) to base in dir, a directory of
// the store that the Root resolves.
func (s *Store) renameInto(from, dir, base string) error {
	d, err := s.root.Open(path.Clean(dir))
	if err != nil {
		return err
	}
	defer d.Close()
	for {
		err = unix.Renameat(unix.AT_FDCWD, from, int(d.Fd()), base)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
