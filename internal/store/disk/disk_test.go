package disk_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/store"
	"github.com/gomirror/gomirror/internal/store/disk"
	"github.com/gomirror/gomirror/internal/store/storetest"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv("GOMIRROR_DISK_CRASH_DIR"); dir != "" {
		crashChild(dir, os.Getenv("GOMIRROR_DISK_CRASH_NAME"))
	}
	os.Exit(m.Run())
}

func newStore(t testing.TB, dir string) *disk.Store {
	t.Helper()
	s, err := disk.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// modes are the two ways a Store resolves names for Get.
var modes = []struct {
	name  string
	setup func(*disk.Store)
}{
	{"default", func(*disk.Store) {}},
	{"root only", disk.UseRootOnly},
}

func TestConformance(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store {
				s := newStore(t, t.TempDir())
				mode.setup(s)
				return s
			})
		})
	}
}

func TestLayoutIsGOMODCACHE(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	const name = "golang.org/x/text/@v/v0.3.0.mod"
	storetest.Put(t, s, name, strings.NewReader("module golang.org/x/text\n"))
	got, err := os.ReadFile(filepath.Join(dir, "golang.org", "x", "text", "@v", "v0.3.0.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "module golang.org/x/text\n"; string(got) != want {
		t.Errorf("file on disk: got %q, want %q", got, want)
	}
	fi, err := os.Stat(filepath.Join(dir, "golang.org", "x", "text", "@v", "v0.3.0.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o444 != 0o444 {
		t.Errorf("file mode: got %v, want readable by all, so that GOPROXY=file:// works for any user", perm)
	}
}

func TestGetReturnsOSFile(t *testing.T) {
	s := newStore(t, t.TempDir())
	storetest.Put(t, s, "a/b", strings.NewReader("x"))
	rc, err := s.Get(t.Context(), "a/b")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, ok := rc.(*os.File); !ok {
		t.Errorf("Get returned %T, want *os.File so that net/http can use sendfile", rc)
	}
}

func TestErrorsNameTheFileNotThePath(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	_, err := s.Get(t.Context(), "golang.org/x/text/@v/v9.9.9.zip")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Get: got %v, want fs.ErrNotExist", err)
	}
	if got, want := err.Error(), "get golang.org/x/text/@v/v9.9.9.zip: file does not exist"; got != want {
		t.Errorf("error: got %q, want %q", got, want)
	}
	if strings.Contains(err.Error(), dir) {
		t.Errorf("error %q reveals the store's directory", err)
	}
}

func TestSymlinkEscape(t *testing.T) {
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) { testSymlinkEscape(t, mode.setup) })
	}
}

func testSymlinkEscape(t *testing.T, setup func(*disk.Store)) {
	dir, outside := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newStore(t, dir)
	setup(s)
	if err := os.Symlink(outside, filepath.Join(dir, "evil")); err != nil {
		t.Skipf("cannot make symbolic links: %v", err)
	}
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../..", filepath.Join(dir, "up")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"evil/secret", "link", "up/" + filepath.Base(filepath.Dir(outside)) + "/" + filepath.Base(outside) + "/secret"} {
		rc, err := s.Get(t.Context(), name)
		if err == nil {
			rc.Close()
			t.Errorf("Get(%q) through a link out of the store: got no error, want one", name)
		} else if strings.Contains(err.Error(), dir) {
			t.Errorf("Get(%q): error %q reveals the store's directory", name, err)
		}
	}
	// A link that stays inside the store works, as it does for GOPROXY=file://.
	storetest.Put(t, s, "real/file", strings.NewReader("inside"))
	if err := os.Symlink("real", filepath.Join(dir, "alias")); err != nil {
		t.Fatal(err)
	}
	storetest.CheckContent(t, s, "alias/file", []byte("inside"))
	if err := s.Put(t.Context(), "evil/planted", strings.NewReader("x")); err == nil {
		t.Errorf("Put through a link out of the store: got no error, want one")
	}
	if _, err := os.Stat(filepath.Join(outside, "planted")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Put wrote outside the store: Stat got %v, want fs.ErrNotExist", err)
	}
	if err := s.Delete(t.Context(), "evil/secret"); err == nil {
		if _, err := os.Stat(filepath.Join(outside, "secret")); err != nil {
			t.Errorf("Delete removed a file outside the store: %v", err)
		}
	}
	if got, want := storetest.WalkAll(t, s, ""), []string{"real/file"}; !slices.Equal(got, want) {
		t.Errorf("Walk: got %q, want %q (links are not followed)", got, want)
	}
}

func TestNewCleansTemp(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	storetest.Put(t, s, "a/b", strings.NewReader("kept"))
	s.Close()

	tmp := filepath.Join(dir, disk.TempDir)
	for _, name := range []string{"put-123", "probe-456"} {
		if err := os.WriteFile(filepath.Join(tmp, name), []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(tmp, "junk", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	s = newStore(t, dir)
	if got := tempFiles(t, dir); len(got) != 0 {
		t.Errorf("files in %s after New: got %q, want none", disk.TempDir, got)
	}
	storetest.CheckContent(t, s, "a/b", []byte("kept"))
}

func TestNewKeepsTempOfOpenStore(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no file locks on windows")
	}
	dir := t.TempDir()
	newStore(t, dir) // Stays open, as another gomirror process would.
	tmp := filepath.Join(dir, disk.TempDir)
	fresh, stale := filepath.Join(tmp, "put-fresh"), filepath.Join(tmp, "put-stale")
	for _, f := range []string{fresh, stale} {
		if err := os.WriteFile(f, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	newStore(t, dir)
	if got, want := tempFiles(t, dir), []string{"put-fresh"}; !slices.Equal(got, want) {
		t.Errorf("files in %s after a second New: got %q, want %q", disk.TempDir, got, want)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	if err := s.Check(t.Context()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if got := tempFiles(t, dir); len(got) != 0 {
		t.Errorf("files in %s after Check: got %q, want none", disk.TempDir, got)
	}
	if os.Geteuid() == 0 {
		t.Log("running as root: cannot make the directory read-only")
		return
	}
	tmp := filepath.Join(dir, disk.TempDir)
	if err := os.Chmod(tmp, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(tmp, 0o755) })
	if err := s.Check(t.Context()); err == nil {
		t.Errorf("Check of a read-only store: got no error, want one")
	}
}

func TestNewErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{"", file, filepath.Join(file, "sub")} {
		if s, err := disk.New(dir, nil); err == nil {
			s.Close()
			t.Errorf("New(%q): got no error, want one", dir)
		}
	}
}

// TestCrashDuringPut kills a process in the middle of a Put and checks that
// no part of the file is visible and that the next New cleans up.
func TestCrashDuringPut(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL on windows")
	}
	dir := t.TempDir()
	const name = "example.com/crash/@v/v1.0.0.zip"
	cmd := exec.CommandContext(t.Context(), os.Args[0])
	cmd.Env = append(os.Environ(), "GOMIRROR_DISK_CRASH_DIR="+dir, "GOMIRROR_DISK_CRASH_NAME="+name)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()

	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "writing\n" {
		t.Fatalf("child: got %q, %v, want \"writing\"", line, err)
	}
	if got := tempFiles(t, dir); len(got) != 1 {
		t.Fatalf("files in %s while the child writes: got %q, want one", disk.TempDir, got)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	if ee, ok := errors.AsType[*exec.ExitError](err); !ok || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child exit: got %v, want killed by SIGKILL", err)
	}

	if _, err := os.Lstat(filepath.Join(dir, filepath.FromSlash(name))); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("file at the final name after the crash: Lstat got %v, want fs.ErrNotExist", err)
	}
	s := newStore(t, dir)
	storetest.CheckNotExist(t, s, name)
	if got := tempFiles(t, dir); len(got) != 0 {
		t.Errorf("files in %s after New: got %q, want none", disk.TempDir, got)
	}
	storetest.Put(t, s, name, strings.NewReader("whole"))
	storetest.CheckContent(t, s, name, []byte("whole"))
}

// crashChild is the child process of TestCrashDuringPut. It starts a Put
// whose content never ends, says so on stdout, and waits to be killed.
func crashChild(dir, name string) {
	s, err := disk.New(dir, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	r := &stallingReader{data: storetest.Content(1, 1<<20), stalled: make(chan struct{})}
	go func() {
		<-r.stalled
		os.Stdout.WriteString("writing\n")
	}()
	err = s.Put(context.Background(), name, r)
	fmt.Fprintf(os.Stderr, "Put returned %v; want it to block until the process is killed\n", err)
	os.Exit(2)
}

// stallingReader returns its data, then blocks forever.
type stallingReader struct {
	data    []byte
	stalled chan struct{}
}

func (r *stallingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		close(r.stalled)
		select {}
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, disk.TempDir))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Name() != "lock" {
			names = append(names, e.Name())
		}
	}
	return names
}

func BenchmarkGet(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		b.Run(strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			s := newStore(b, b.TempDir())
			const name = "golang.org/x/text/@v/v0.3.0.info"
			storetest.Put(b, s, name, bytes.NewReader(storetest.Content(1, size)))
			ctx := b.Context()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				rc, err := s.Get(ctx, name)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, rc); err != nil {
					b.Fatal(err)
				}
				rc.Close()
			}
		})
	}
}

// BenchmarkLookup measures what a cache hit costs before any byte is
// served: Get, Stat and Close, as the server does for a HEAD or a 304.
func BenchmarkLookup(b *testing.B) {
	s := newStore(b, b.TempDir())
	const name = "golang.org/x/text/@v/v0.3.0.zip"
	storetest.Put(b, s, name, strings.NewReader("zip"))
	ctx := b.Context()
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				rc, err := s.Get(ctx, name)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, ok := store.Stat(rc); !ok {
					b.Fatal("no Stat")
				}
				rc.Close()
			}
		})
	})
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.Get(ctx, "golang.org/x/text/@v/v9.9.9.zip"); !errors.Is(err, fs.ErrNotExist) {
					b.Fatal(err)
				}
			}
		})
	})
}

func BenchmarkPut(b *testing.B) {
	s := newStore(b, b.TempDir())
	data := storetest.Content(1, 4<<10)
	ctx := b.Context()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Put(ctx, "golang.org/x/text/@v/list", bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func TestPutUnderAFile(t *testing.T) {
	s := newStore(t, t.TempDir())
	storetest.Put(t, s, "a/b", strings.NewReader("file"))
	err := s.Put(t.Context(), "a/b/c", strings.NewReader("x"))
	if err == nil || errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Put under a file: got %v, want an error other than fs.ErrNotExist", err)
	}
	storetest.CheckContent(t, s, "a/b", []byte("file"))
}

// FuzzName checks that no name makes the store panic or touch anything
// outside its directory, and that only valid names are stored.
func FuzzName(f *testing.F) {
	for _, name := range []string{
		"golang.org/x/text/@v/v0.3.0.zip", "a", "a/b", "../x", "/etc/passwd", `a\b`,
		"a/../b", "a//b", ".tmp/lock", "a/.tmp", "a\x00b", "a/./b", "..", "...", "a/...",
		"~/x", "%2e%2e/x", "a/b/", "tmp/../../x", "\u2024\u2024/x",
	} {
		f.Add(name)
	}
	parent := f.TempDir()
	dir := filepath.Join(parent, "store")
	s := newStore(f, dir)
	f.Fuzz(func(t *testing.T, name string) {
		ctx := t.Context()
		err := s.Put(ctx, name, strings.NewReader("fuzz"))
		valid := store.CheckName(name) == nil
		if !valid {
			if !errors.Is(err, store.ErrInvalidName) {
				t.Fatalf("Put(%q): got %v, want store.ErrInvalidName", name, err)
			}
			if _, err := s.Get(ctx, name); !errors.Is(err, store.ErrInvalidName) {
				t.Fatalf("Get(%q): got %v, want store.ErrInvalidName", name, err)
			}
			if err := s.Delete(ctx, name); !errors.Is(err, store.ErrInvalidName) {
				t.Fatalf("Delete(%q): got %v, want store.ErrInvalidName", name, err)
			}
			return
		}
		if err != nil {
			return // A parent may be a file put by an earlier input.
		}
		storetest.CheckContent(t, s, name, []byte("fuzz"))
		if err := s.Delete(ctx, name); err != nil {
			t.Fatalf("Delete(%q): %v", name, err)
		}
		entries, err := os.ReadDir(parent)
		if err != nil || len(entries) != 1 {
			t.Fatalf("entries next to the store: got %d, %v, want only the store", len(entries), err)
		}
	})
}

// TestPutCache stores, replaces and refuses as Put does, and leaves no
// temporary file behind.
func TestPutCache(t *testing.T) {
	dir := t.TempDir()
	s := newStore(t, dir)
	tests := []struct {
		name, content string
		wantErr       bool
	}{
		{"sumdb/sum.golang.org/tile/8/0/001", "tile", false},
		{"sumdb/sum.golang.org/tile/8/0/001", "tile, again", false},
		{"sumdb/sum.golang.org/lookup/example.com/m@v1.0.0", "record", false},
		{"../escape", "x", true},
		{".tmp/x", "x", true},
	}
	for _, tt := range tests {
		err := s.PutCache(t.Context(), tt.name, strings.NewReader(tt.content))
		if (err != nil) != tt.wantErr {
			t.Fatalf("PutCache(%q): got %v, want error %v", tt.name, err, tt.wantErr)
		}
		if err == nil {
			storetest.CheckContent(t, s, tt.name, []byte(tt.content))
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, disk.TempDir))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "lock" {
			t.Errorf("temporary directory: got %s left behind, want nothing but the lock", e.Name())
		}
	}
}
