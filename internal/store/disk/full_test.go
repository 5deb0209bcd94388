package disk_test

import (
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gomirror/gomirror/internal/store"
	"github.com/gomirror/gomirror/internal/store/disk"
	"github.com/gomirror/gomirror/internal/store/storetest"
)

// failOn returns a fault hook that fails operation op with err.
func failOn(op string, err error) func(string) error {
	return func(got string) error {
		if got == op {
			return err
		}
		return nil
	}
}

// TestFull fills the disk with injected errors: every write that fails for
// want of room says store.ErrFull, leaves nothing at the name and no
// temporary file behind, and the store works again once there is room.
func TestFull(t *testing.T) {
	const name = "example.com/full/@v/v1.0.0.zip"
	data := storetest.Content(1, 100<<10)
	tests := []struct {
		name     string
		fault    func(string) error
		put      func(t *testing.T, s *disk.Store) error
		wantFull bool
		wantErr  error
	}{
		{"Put, ENOSPC", failOn("write", syscall.ENOSPC), putBytes(name, data), true, syscall.ENOSPC},
		{"Put, EDQUOT", failOn("write", syscall.EDQUOT), putBytes(name, data), true, syscall.EDQUOT},
		{"Put, EIO is not full", failOn("write", syscall.EIO), putBytes(name, data), false, syscall.EIO},
		{"PutFile rename, ENOSPC", failOn("rename", syscall.ENOSPC), putFile(name, data), true, syscall.ENOSPC},
		{"PutFile copy, ENOSPC", func(op string) error {
			switch op {
			case "rename":
				return syscall.EXDEV // another file system: copy
			case "write":
				return syscall.ENOSPC
			}
			return nil
		}, putFile(name, data), true, syscall.ENOSPC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := newStore(t, dir)
			disk.SetFault(s, tt.fault)
			err := tt.put(t, s)
			if err == nil {
				t.Fatal("got no error, want one")
			}
			if got := errors.Is(err, store.ErrFull); got != tt.wantFull {
				t.Errorf("got error %q; errors.Is(err, store.ErrFull) = %v, want %v", err, got, tt.wantFull)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("got error %q, want it to wrap %v", err, tt.wantErr)
			}
			if tt.wantFull && !strings.Contains(err.Error(), "storage full") {
				t.Errorf("got error %q, want it to say storage full", err)
			}
			if strings.Contains(err.Error(), dir) {
				t.Errorf("error %q reveals the store's directory", err)
			}
			storetest.CheckNotExist(t, s, name)
			if got := tempFiles(t, dir); len(got) != 0 {
				t.Errorf("files in %s after the failed write: got %q, want none", disk.TempDir, got)
			}
			if err := s.Check(t.Context()); tt.wantFull && tt.fault("write") != nil && !errors.Is(err, store.ErrFull) {
				t.Errorf("Check on a full disk: got %v, want store.ErrFull", err)
			}

			disk.SetFault(s, nil)
			if err := s.Check(t.Context()); err != nil {
				t.Errorf("Check once there is room: %v", err)
			}
			if err := tt.put(t, s); err != nil {
				t.Fatalf("once there is room: %v", err)
			}
			storetest.CheckContent(t, s, name, data)
		})
	}
}

func putBytes(name string, data []byte) func(*testing.T, *disk.Store) error {
	return func(t *testing.T, s *disk.Store) error {
		return s.Put(t.Context(), name, strings.NewReader(string(data)))
	}
}

func putFile(name string, data []byte) func(*testing.T, *disk.Store) error {
	return func(t *testing.T, s *disk.Store) error {
		return s.PutFile(t.Context(), name, storetest.TempFile(t, t.TempDir(), data))
	}
}

// TestPutFileRenames checks that PutFile moves a file on the store's file
// system into place instead of copying it: the stored file is the very
// file the fill wrote, readable by all, and the fill's path is gone.
func TestPutFileRenames(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	const name = "example.com/rename/@v/v1.0.0.zip"
	data := storetest.Content(2, 10000)
	// The fill's directory is inside the store's: surely the same file
	// system.
	f := storetest.TempFile(t, filepath.Join(dir, disk.TempDir), data)
	if err := os.Chmod(f.Name(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFile(t.Context(), name, f); err != nil {
		t.Fatal(err)
	}
	storetest.CheckContent(t, s, name, data)
	storetest.CheckFileStillReadable(t, f, data)
	if _, err := os.Lstat(f.Name()); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("fill's path after PutFile: Lstat got %v, want fs.ErrNotExist (renamed)", err)
	}
	ffi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	sfi, err := os.Stat(filepath.Join(dir, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(ffi, sfi) {
		t.Errorf("stored file is a copy, want the fill's file renamed into place")
	}
	if perm := sfi.Mode().Perm(); perm&0o444 != 0o444 {
		t.Errorf("stored file mode: got %v, want readable by all", perm)
	}
}

// TestPutFileCopiesAcrossFileSystems makes the rename fail as it does
// between file systems: PutFile copies, and the fill's file stays.
func TestPutFileCopiesAcrossFileSystems(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	disk.SetFault(s, failOn("rename", syscall.EXDEV))
	const name = "example.com/copy/@v/v1.0.0.zip"
	data := storetest.Content(3, 10000)
	f := storetest.TempFile(t, t.TempDir(), data)
	if err := s.PutFile(t.Context(), name, f); err != nil {
		t.Fatal(err)
	}
	storetest.CheckContent(t, s, name, data)
	storetest.CheckFileStillReadable(t, f, data)
	if _, err := os.Stat(f.Name()); err != nil {
		t.Errorf("fill's path after a copy: %v, want it still there", err)
	}
}

func TestFreeSpaceFloor(t *testing.T) {
	s := newStore(t, t.TempDir())
	free, err := s.FreeSpace(t.Context())
	if err != nil {
		t.Fatalf("FreeSpace: %v", err)
	}
	if free <= 0 {
		t.Fatalf("FreeSpace: got %d, want some room on the test's disk", free)
	}
	for _, tt := range []struct {
		floor    int64
		wantFull bool
	}{
		{0, false},
		{1, false},
		{math.MaxInt64, true},
		{-1, false},
	} {
		s.SetFreeSpaceFloor(tt.floor)
		err := s.Check(t.Context())
		if got := errors.Is(err, store.ErrFull); got != tt.wantFull || (err != nil && !tt.wantFull) {
			t.Errorf("Check with a floor of %d bytes and %d free: got %v, want full: %v", tt.floor, free, err, tt.wantFull)
		}
	}
}

// TestFullTmpfs fills a real, small file system: a tmpfs mounted for the
// test, which needs root.
func TestFullTmpfs(t *testing.T) {
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=256k"); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root with CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmounting the test's tmpfs %s: %v", dir, err)
		}
	})
	s := newStore(t, dir) // closed before the unmount
	const name = "example.com/tmpfs/@v/v1.0.0.zip"
	err := s.Put(t.Context(), name, strings.NewReader(string(storetest.Content(4, 1<<20))))
	if !errors.Is(err, store.ErrFull) || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Put of 1 MiB into a 256 KiB tmpfs: got %v, want store.ErrFull wrapping ENOSPC", err)
	}
	storetest.CheckNotExist(t, s, name)
	if got := tempFiles(t, dir); len(got) != 0 {
		t.Errorf("files in %s after the failed write: got %q, want none", disk.TempDir, got)
	}
	free, err := s.FreeSpace(t.Context())
	if err != nil || free > 256<<10 {
		t.Errorf("FreeSpace of a 256 KiB tmpfs: got %d, %v; want at most 256 KiB", free, err)
	}
	s.SetFreeSpaceFloor(1 << 20)
	if err := s.Check(t.Context()); !errors.Is(err, store.ErrFull) {
		t.Errorf("Check with a floor above the tmpfs size: got %v, want store.ErrFull", err)
	}
	s.SetFreeSpaceFloor(0)
	storetest.Put(t, s, name, strings.NewReader("small"))
	storetest.CheckContent(t, s, name, []byte("small"))
}
