package disk

import (
	"errors"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// openDir returns the descriptor that openBeneath resolves names against.
func openDir(dir string) (*os.File, error) { return os.Open(dir) }

// openBeneath opens name for reading with one openat2 call that the kernel
// keeps inside the store's directory, symbolic links included. That costs
// a quarter of what [os.Root.Open] does, which resolves one element at a
// time. ok is false when the kernel cannot do it, and the caller should use
// the [os.Root].
func (s *Store) openBeneath(name string) (f *os.File, ok bool, err error) {
	if s.noOpenat2.Load() {
		return nil, false, nil
	}
	how := unix.OpenHow{
		Flags:   unix.O_RDONLY | unix.O_CLOEXEC | unix.O_NOCTTY,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	}
	for range 3 {
		fd, err := unix.Openat2(int(s.dirFile.Fd()), name, &how)
		switch {
		case err == nil:
			return os.NewFile(uintptr(fd), name), true, nil
		case errors.Is(err, unix.EINTR), errors.Is(err, unix.EAGAIN):
			// EAGAIN: a rename raced with the lookup.
			continue
		case errors.Is(err, unix.ENOSYS), errors.Is(err, unix.EPERM), errors.Is(err, unix.EINVAL):
			// An old kernel, or a sandbox that forbids openat2.
			s.noOpenat2.Store(true)
			return nil, false, nil
		case errors.Is(err, unix.EXDEV):
			return nil, true, &fs.PathError{Op: "get", Path: name, Err: errEscapes}
		default:
			return nil, true, err
		}
	}
	return nil, false, nil
}
