//go:build unix

package disk

import (
	"errors"
	"os"
	"syscall"
)

// lockExclusive tries to take an exclusive lock on f without waiting. It
// reports false when another open Store holds the lock.
func lockExclusive(f *os.File) (bool, error) {
	err := flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// lockShared takes, or converts to, a shared lock on f, waiting for a
// Store that is cleaning the temporary directory.
func lockShared(f *os.File) error {
	return flock(f, syscall.LOCK_SH)
}

func flock(f *os.File, how int) error {
	for {
		err := syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			return err
		}
	}
}
