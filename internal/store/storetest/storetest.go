package storetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/gomirror/gomirror/internal/store"
)

// LargeSize is the size of the object that the suite streams through Put
// and Get without holding it in memory.
const LargeSize = 64 << 20

// Run runs the conformance suite. newStore must return a new, empty store
// for each call, and clean it up with t.Cleanup.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"NotExist", testNotExist},
		{"InvalidName", testInvalidName},
		{"PutGet", testPutGet},
		{"Seek", testSeek},
		{"ServeContent", testServeContent},
		{"Overwrite", testOverwrite},
		{"Delete", testDelete},
		{"DirectoryIsNotAFile", testDirectoryIsNotAFile},
		{"AtomicPut", testAtomicPut},
		{"ConcurrentPut", testConcurrentPut},
		{"Large", testLarge},
		{"CancelPut", testCancelPut},
		{"FailingReader", testFailingReader},
		{"Walk", testWalk},
		{"PutFile", testPutFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

// TempFile returns an open temporary file in dir holding data, with its
// offset at the end, as a fill leaves it. The file is removed when the
// test ends, if it is still at its path.
func TempFile(t testing.TB, dir string, data []byte) *os.File {
	t.Helper()
	f, err := os.CreateTemp(dir, "fill-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		f.Close()
		os.Remove(f.Name())
	})
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	return f
}

// CheckFileStillReadable checks what PutFile promises about f: it is open
// and reads want, and its offset is where it was (the end).
func CheckFileStillReadable(t testing.TB, f *os.File, want []byte) {
	t.Helper()
	if off, err := f.Seek(0, io.SeekCurrent); err != nil || off != int64(len(want)) {
		t.Errorf("file after PutFile: offset %d (%v), want %d, unchanged", off, err, len(want))
	}
	got, err := io.ReadAll(io.NewSectionReader(f, 0, int64(len(want))+1))
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("file after PutFile: read %d bytes (%v), want its %d bytes of content", len(got), err, len(want))
	}
}

// testPutFile checks store.FilePutter, for stores that have it. The
// temporary files are in the test's temporary directory, which may or may
// not be on the store's file system: the store's own tests cover both.
func testPutFile(t *testing.T, s store.Store) {
	fp, ok := s.(store.FilePutter)
	if !ok {
		t.Skipf("%T does not implement store.FilePutter", s)
	}
	ctx := t.Context()
	dir := t.TempDir()
	t.Run("names", func(t *testing.T) {
		for i, name := range names {
			data := Content(uint64(100+i), 1000+i)
			f := TempFile(t, dir, data)
			if err := fp.PutFile(ctx, name, f); err != nil {
				t.Fatalf("PutFile(%q): %v", name, err)
			}
			CheckContent(t, s, name, data)
			CheckFileStillReadable(t, f, data)
		}
	})
	t.Run("overwrite", func(t *testing.T) {
		const name = "example.com/putfile/@v/v1.0.0.zip"
		Put(t, s, name, strings.NewReader("old content"))
		data := Content(7, 5000)
		f := TempFile(t, dir, data)
		if err := fp.PutFile(ctx, name, f); err != nil {
			t.Fatalf("PutFile over an existing file: %v", err)
		}
		CheckContent(t, s, name, data)
	})
	t.Run("empty", func(t *testing.T) {
		const name = "example.com/putfile/@v/list"
		f := TempFile(t, dir, nil)
		if err := fp.PutFile(ctx, name, f); err != nil {
			t.Fatalf("PutFile of an empty file: %v", err)
		}
		CheckContent(t, s, name, nil)
	})
	t.Run("large", func(t *testing.T) {
		const name = "example.com/putfile/@v/v1.0.0-large.zip"
		data := Content(8, 3<<20)
		f := TempFile(t, dir, data)
		if err := fp.PutFile(ctx, name, f); err != nil {
			t.Fatalf("PutFile of %d bytes: %v", len(data), err)
		}
		CheckContent(t, s, name, data)
		CheckFileStillReadable(t, f, data)
	})
	t.Run("invalid name", func(t *testing.T) {
		f := TempFile(t, dir, []byte("x"))
		for _, tt := range invalidNames {
			if err := fp.PutFile(ctx, tt.name, f); !errors.Is(err, store.ErrInvalidName) {
				t.Errorf("PutFile(%q): got %v, want store.ErrInvalidName", tt.name, err)
			}
		}
		if _, err := os.Stat(f.Name()); err != nil {
			t.Errorf("temporary file after refused PutFiles: %v, want it left in place", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		const name = "example.com/putfile/@v/v1.0.0-cancelled.zip"
		f := TempFile(t, dir, []byte("content"))
		ctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := fp.PutFile(ctx, name, f); !errors.Is(err, context.Canceled) {
			t.Errorf("PutFile with a cancelled context: got %v, want context.Canceled", err)
		}
		CheckNotExist(t, s, name)
	})
}

// names are realistic store names: escaped module paths, versions with
// build metadata, checksum database tiles.
var names = []string{
	"golang.org/x/text/@v/v0.3.0.zip",
	"golang.org/x/text/@v/list",
	"github.com/!burnt!sushi/toml/@v/v1.2.1.mod",
	"github.com/gomirror/gomirror/@v/v0.0.0-20260101000000-abcdefabcdef.info",
	"example.com/m/@v/v2.0.0+incompatible.zip",
	"example.com/tilde~name/@latest",
	"sumdb/sum.golang.org/latest",
	"sumdb/sum.golang.org/lookup/golang.org/x/text@v0.3.0",
	"sumdb/sum.golang.org/tile/8/0/x001/234.p/5",
	"sumdb/sum.golang.org/tile/8/data/000",
}

func testNotExist(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, name := range names {
		rc, err := s.Get(ctx, name)
		if err == nil {
			rc.Close()
			t.Fatalf("Get(%q) on an empty store: got no error, want fs.ErrNotExist", name)
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("Get(%q) on an empty store: got %v, want an error matching fs.ErrNotExist", name, err)
		}
		if !strings.Contains(err.Error(), name) {
			t.Errorf("Get(%q) error %q: want the name in the message", name, err)
		}
	}
}

var invalidNames = []struct{ desc, name string }{
	{"empty", ""},
	{"absolute", "/etc/passwd"},
	{"parent", "../x"},
	{"parent inside", "a/../../x"},
	{"parent at end", "a/.."},
	{"dot", "."},
	{"dot element", "a/./b"},
	{"leading dot element", "./a"},
	{"empty element", "a//b"},
	{"trailing slash", "a/b/"},
	{"backslash", `a\b`},
	{"backslash parent", `..\x`},
	{"NUL", "a\x00b"},
	{"reserved temp dir", ".tmp/x"},
	{"hidden element", "a/.git/config"},
	{"too long", strings.Repeat("a/", store.MaxNameLen/2) + "b"},
}

func testInvalidName(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, tt := range invalidNames {
		t.Run(tt.desc, func(t *testing.T) {
			rc, err := s.Get(ctx, tt.name)
			if err == nil {
				rc.Close()
			}
			if !errors.Is(err, store.ErrInvalidName) {
				t.Errorf("Get(%q): got %v, want store.ErrInvalidName", tt.name, err)
			}
			if err := s.Put(ctx, tt.name, strings.NewReader("x")); !errors.Is(err, store.ErrInvalidName) {
				t.Errorf("Put(%q): got %v, want store.ErrInvalidName", tt.name, err)
			}
			if err := s.Delete(ctx, tt.name); !errors.Is(err, store.ErrInvalidName) {
				t.Errorf("Delete(%q): got %v, want store.ErrInvalidName", tt.name, err)
			}
			// "" lists everything and "a/b/" lists a directory.
			validPrefix := tt.name == "" || tt.name == "a/b/"
			if w, ok := s.(store.Walker); ok && !validPrefix {
				err := w.Walk(ctx, tt.name, func(string) error { return nil })
				if !errors.Is(err, store.ErrInvalidName) {
					t.Errorf("Walk(%q): got %v, want store.ErrInvalidName", tt.name, err)
				}
			}
		})
	}
}

func testPutGet(t *testing.T, s store.Store) {
	for i, name := range names {
		t.Run(name, func(t *testing.T) {
			data := Content(uint64(i), 1000*i) // The first is empty.
			Put(t, s, name, bytes.NewReader(data))
			CheckContent(t, s, name, data)
		})
	}
	t.Run("unknown size", func(t *testing.T) {
		data := Content(99, 70000)
		Put(t, s, "example.com/unknown/@v/list", hideSize(bytes.NewReader(data)))
		CheckContent(t, s, "example.com/unknown/@v/list", data)
	})
	t.Run("partly read", func(t *testing.T) {
		data := Content(98, 70000)
		r := bytes.NewReader(data)
		r.Seek(100, io.SeekStart)
		Put(t, s, "example.com/partly/@v/list", r)
		CheckContent(t, s, "example.com/partly/@v/list", data[100:])
	})
	t.Run("Stat", func(t *testing.T) {
		rc, err := s.Get(t.Context(), names[1])
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		fi, err := rc.(interface{ Stat() (fs.FileInfo, error) }).Stat()
		if err != nil {
			t.Fatalf("Stat: %v", err)
		}
		if got, want := fi.Size(), int64(1000); got != want {
			t.Errorf("Stat().Size(): got %d, want %d", got, want)
		}
		if fi.ModTime().IsZero() {
			t.Errorf("Stat().ModTime(): got zero, want the time of the Put")
		}
		if fi.IsDir() || !fi.Mode().IsRegular() {
			t.Errorf("Stat().Mode(): got %v, want a regular file", fi.Mode())
		}
	})
}

func testSeek(t *testing.T, s store.Store) {
	const name = "example.com/seek/@v/v1.0.0.zip"
	data := Content(1, 100000)
	Put(t, s, name, bytes.NewReader(data))
	rc, err := s.Get(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	rs, ok := rc.(io.ReadSeeker)
	if !ok {
		t.Fatalf("Get returned %T: want an io.Seeker", rc)
	}
	size := int64(len(data))
	steps := []struct {
		offset  int64
		whence  int
		wantPos int64
		read    int
	}{
		{0, io.SeekEnd, size, 0},
		{0, io.SeekStart, 0, 10},
		{5000, io.SeekStart, 5000, 20000},
		{-100, io.SeekEnd, size - 100, 100},
		{-10, io.SeekCurrent, size - 10, 10},
		{-size, io.SeekCurrent, 0, 3},
		{1000, io.SeekCurrent, 1003, 7},
		{0, io.SeekEnd, size, 0},
	}
	for _, st := range steps {
		pos, err := rs.Seek(st.offset, st.whence)
		if err != nil {
			t.Fatalf("Seek(%d, %d): %v", st.offset, st.whence, err)
		}
		if pos != st.wantPos {
			t.Fatalf("Seek(%d, %d): got %d, want %d", st.offset, st.whence, pos, st.wantPos)
		}
		buf := make([]byte, st.read)
		if _, err := io.ReadFull(rs, buf); err != nil {
			t.Fatalf("reading %d bytes at %d: %v", st.read, pos, err)
		}
		if want := data[pos : pos+int64(st.read)]; !bytes.Equal(buf, want) {
			t.Fatalf("reading %d bytes at %d: got different bytes", st.read, pos)
		}
	}
	if n, err := rs.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("Read at the end: got %d, %v, want 0, io.EOF", n, err)
	}
	if _, err := rs.Seek(-1, io.SeekStart); err == nil {
		t.Errorf("Seek(-1, io.SeekStart): got no error, want one")
	}
}

// testServeContent checks the reader the way the server uses it.
func testServeContent(t *testing.T, s store.Store) {
	const name = "example.com/serve/@v/v1.0.0.zip"
	data := Content(2, 50000)
	Put(t, s, name, bytes.NewReader(data))
	for _, tt := range []struct {
		rangeHdr   string
		wantStatus int
		want       []byte
	}{
		{"", http.StatusOK, data},
		{"bytes=10-19", http.StatusPartialContent, data[10:20]},
		{"bytes=-5", http.StatusPartialContent, data[len(data)-5:]},
		{"bytes=40000-", http.StatusPartialContent, data[40000:]},
	} {
		t.Run("range "+tt.rangeHdr, func(t *testing.T) {
			rc, err := s.Get(t.Context(), name)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			_, mod, ok := store.Stat(rc)
			if !ok {
				t.Fatalf("store.Stat(%T): got ok=false, want true", rc)
			}
			req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/"+name, nil)
			if tt.rangeHdr != "" {
				req.Header.Set("Range", tt.rangeHdr)
			}
			rec := httptest.NewRecorder()
			http.ServeContent(rec, req, "", mod, rc.(io.ReadSeeker))
			if rec.Code != tt.wantStatus {
				t.Fatalf("status: got %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Body.Bytes(); !bytes.Equal(got, tt.want) {
				t.Errorf("body: got %d bytes, want %d (the requested range)", len(got), len(tt.want))
			}
		})
	}
}

func testOverwrite(t *testing.T, s store.Store) {
	const name = "golang.org/x/text/@v/list"
	for i, data := range [][]byte{Content(1, 5000), Content(2, 100), Content(3, 0), Content(4, 9000)} {
		Put(t, s, name, bytes.NewReader(data))
		CheckContent(t, s, name, data)
		if t.Failed() {
			t.Fatalf("after Put number %d", i+1)
		}
	}
}

func testDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	const name = "golang.org/x/text/@v/v0.3.0.info"
	if err := s.Delete(ctx, name); err != nil {
		t.Errorf("Delete of a name never stored: got %v, want nil", err)
	}
	Put(t, s, name, strings.NewReader(`{"Version":"v0.3.0"}`))
	Put(t, s, "golang.org/x/text/@v/v0.3.0.mod", strings.NewReader("module golang.org/x/text\n"))
	if err := s.Delete(ctx, name); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	CheckNotExist(t, s, name)
	if err := s.Delete(ctx, name); err != nil {
		t.Errorf("Delete of a deleted name: got %v, want nil", err)
	}
	CheckContent(t, s, "golang.org/x/text/@v/v0.3.0.mod", []byte("module golang.org/x/text\n"))
	Put(t, s, name, strings.NewReader("again"))
	CheckContent(t, s, name, []byte("again"))
}

// testDirectoryIsNotAFile checks that a name whose files live under it, as
// a directory would on disk, is itself missing.
func testDirectoryIsNotAFile(t *testing.T, s store.Store) {
	ctx := t.Context()
	const name = "golang.org/x/text/@v/list"
	Put(t, s, name, strings.NewReader("v0.3.0\n"))
	for _, dir := range []string{"golang.org", "golang.org/x/text", "golang.org/x/text/@v"} {
		CheckNotExist(t, s, dir)
		if err := s.Delete(ctx, dir); err != nil {
			t.Errorf("Delete(%q): got %v, want nil", dir, err)
		}
	}
	CheckNotExist(t, s, name+"/more")
	CheckContent(t, s, name, []byte("v0.3.0\n"))
}

func testAtomicPut(t *testing.T, s store.Store) {
	ctx := t.Context()
	const (
		oldName = "example.com/atomic/@v/v1.0.0.zip"
		newName = "example.com/atomic/@v/v1.1.0.zip"
	)
	old := Content(1, 200000)
	Put(t, s, oldName, bytes.NewReader(old))

	replacement, fresh := Content(2, 300000), Content(3, 300000)
	g1, g2 := newGateReader(replacement), newGateReader(fresh)
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer g1.open()
	defer g2.open()
	wg.Go(func() { errc <- s.Put(ctx, oldName, g1) })
	wg.Go(func() { errc <- s.Put(ctx, newName, g2) })
	for _, g := range []*gateReader{g1, g2} {
		select {
		case <-g.reached:
		case err := <-errc:
			t.Fatalf("Put returned %v before reading all its content", err)
		}
	}

	// Both Puts have read half their content and wait for the rest.
	CheckContent(t, s, oldName, old)
	CheckNotExist(t, s, newName)
	if w, ok := s.(store.Walker); ok {
		got := WalkAll(t, w, "")
		if want := []string{oldName}; !slices.Equal(got, want) {
			t.Errorf("Walk during a Put: got %q, want %q", got, want)
		}
	}

	g1.open()
	g2.open()
	for range 2 {
		if err := <-errc; err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	CheckContent(t, s, oldName, replacement)
	CheckContent(t, s, newName, fresh)
}

func testConcurrentPut(t *testing.T, s store.Store) {
	ctx := t.Context()
	const (
		name    = "example.com/race/@v/list"
		writers = 8
		readers = 4
	)
	valid := map[[32]byte]int{}
	contents := make([][]byte, writers)
	for i := range contents {
		contents[i] = Content(uint64(i), 100000+1000*i)
		valid[sha256.Sum256(contents[i])] = len(contents[i])
	}

	var wg sync.WaitGroup
	done := make(chan struct{})
	errc := make(chan error, writers+readers)
	start := make(chan struct{})
	for i, data := range contents {
		wg.Go(func() {
			<-start
			var r io.Reader = bytes.NewReader(data)
			if i%2 == 1 {
				r = hideSize(r)
			}
			if err := s.Put(ctx, name, r); err != nil {
				errc <- fmt.Errorf("Put number %d: %w", i, err)
			}
		})
	}
	var rg sync.WaitGroup
	for range readers {
		rg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				data, err := get(ctx, s, name)
				if errors.Is(err, fs.ErrNotExist) {
					continue
				}
				if err != nil {
					errc <- fmt.Errorf("Get during Puts: %w", err)
					return
				}
				if _, ok := valid[sha256.Sum256(data)]; !ok {
					errc <- fmt.Errorf("Get during Puts: got %d bytes that no Put wrote", len(data))
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(done)
	rg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	data, err := get(ctx, s, name)
	if err != nil {
		t.Fatalf("Get after the Puts: %v", err)
	}
	if _, ok := valid[sha256.Sum256(data)]; !ok {
		t.Errorf("Get after the Puts: got %d bytes that no Put wrote, want one Put's content whole", len(data))
	}
}

func testLarge(t *testing.T, s store.Store) {
	ctx := t.Context()
	const name = "example.com/large/@v/v1.0.0.zip"
	h := sha256.New()
	src := io.TeeReader(io.LimitReader(rand.NewChaCha8([32]byte{1}), LargeSize), h)
	if err := s.Put(ctx, name, src); err != nil {
		t.Fatalf("Put of %d bytes: %v", LargeSize, err)
	}
	want := h.Sum(nil)

	rc, err := s.Get(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if size, _, ok := store.Stat(rc); !ok || size != LargeSize {
		t.Errorf("store.Stat: got %d, %v, want %d, true", size, ok, LargeSize)
	}
	h.Reset()
	n, err := io.Copy(h, rc)
	if err != nil {
		t.Fatalf("reading: %v", err)
	}
	if n != LargeSize {
		t.Fatalf("read %d bytes, want %d", n, LargeSize)
	}
	if got := h.Sum(nil); !bytes.Equal(got, want) {
		t.Errorf("SHA-256 of what Get read: got %x, want %x", got, want)
	}
}

func testCancelPut(t *testing.T, s store.Store) {
	const (
		oldName = "example.com/cancel/@v/list"
		newName = "example.com/cancel/@v/v1.0.0.zip"
	)
	old := []byte("v1.0.0\n")
	Put(t, s, oldName, bytes.NewReader(old))
	for _, name := range []string{oldName, newName} {
		t.Run("during "+name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			r := &cancelingReader{cancel: cancel, remaining: 1 << 20}
			err := s.Put(ctx, name, r)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Put canceled halfway: got %v, want context.Canceled", err)
			}
		})
		t.Run("before "+name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			err := s.Put(ctx, name, strings.NewReader("new"))
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Put with a canceled context: got %v, want context.Canceled", err)
			}
		})
	}
	CheckContent(t, s, oldName, old)
	CheckNotExist(t, s, newName)
}

var errReader = errors.New("storetest: reader failed")

func testFailingReader(t *testing.T, s store.Store) {
	const (
		oldName = "example.com/fail/@v/list"
		newName = "example.com/fail/@v/v1.0.0.zip"
	)
	old := []byte("v1.0.0\n")
	Put(t, s, oldName, bytes.NewReader(old))
	for _, name := range []string{oldName, newName} {
		r := io.MultiReader(bytes.NewReader(Content(5, 40000)), iotest.ErrReader(errReader))
		if err := s.Put(t.Context(), name, r); !errors.Is(err, errReader) {
			t.Errorf("Put(%q) from a failing reader: got %v, want the reader's error", name, err)
		}
	}
	CheckContent(t, s, oldName, old)
	CheckNotExist(t, s, newName)
}

func testWalk(t *testing.T, s store.Store) {
	w, ok := s.(store.Walker)
	if !ok {
		t.Skipf("%T does not implement store.Walker", s)
	}
	ctx := t.Context()
	stored := []string{
		"a/x/@v/list",
		"a/x/@v/v1.0.0.info",
		"a/y/@v/list",
		"ab/@v/list",
		"b/z/@v/list",
		"sumdb/sum.golang.org/tile/8/0/001",
	}
	for _, name := range stored {
		Put(t, s, name, strings.NewReader(name))
	}
	for _, tt := range []struct {
		prefix string
		want   []string
	}{
		{"", stored},
		{"a/", stored[:3]},
		{"a", stored[:4]},
		{"a/x/@v/v1", stored[1:2]},
		{"a/x/@v/list", stored[:1]},
		{"sumdb/", stored[5:]},
		{"c/", nil},
		{"a/x/@v/list/", nil},
	} {
		if got := WalkAll(t, w, tt.prefix); !slices.Equal(got, tt.want) {
			t.Errorf("Walk(%q): got %q, want %q", tt.prefix, got, tt.want)
		}
	}

	errStop := errors.New("stop")
	calls := 0
	err := w.Walk(ctx, "", func(string) error {
		calls++
		return errStop
	})
	if !errors.Is(err, errStop) || calls != 1 {
		t.Errorf("Walk whose fn fails: got %v after %d calls, want the fn's error after 1", err, calls)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := w.Walk(cctx, "", func(string) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Walk with a canceled context: got %v, want context.Canceled", err)
	}
}

// Content returns n bytes generated from seed.
func Content(seed uint64, n int) []byte {
	var key [32]byte
	key[0], key[1] = byte(seed), byte(seed>>8)
	data := make([]byte, n)
	rand.NewChaCha8(key).Read(data)
	return data
}

// Put stores content under name or fails the test.
func Put(t testing.TB, s store.Store, name string, content io.Reader) {
	t.Helper()
	if err := s.Put(t.Context(), name, content); err != nil {
		t.Fatalf("Put(%q): %v", name, err)
	}
}

// CheckContent checks that Get(name) reads want and that the reader's Stat
// reports its size.
func CheckContent(t testing.TB, s store.Store, name string, want []byte) {
	t.Helper()
	rc, err := s.Get(t.Context(), name)
	if err != nil {
		t.Errorf("Get(%q): %v", name, err)
		return
	}
	defer rc.Close()
	size, _, ok := store.Stat(rc)
	if !ok {
		t.Errorf("Get(%q) returned %T: want a Stat method that works", name, rc)
	} else if size != int64(len(want)) {
		t.Errorf("Get(%q): Stat size: got %d, want %d", name, size, len(want))
	}
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Errorf("Get(%q): reading: %v", name, err)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Get(%q): got %d bytes (sha256 %x), want %d bytes (sha256 %x)",
			name, len(got), sha256.Sum256(got), len(want), sha256.Sum256(want))
	}
}

// CheckNotExist checks that Get(name) fails with fs.ErrNotExist.
func CheckNotExist(t testing.TB, s store.Store, name string) {
	t.Helper()
	rc, err := s.Get(t.Context(), name)
	if err == nil {
		data, _ := io.ReadAll(rc)
		rc.Close()
		t.Errorf("Get(%q): got %d bytes, want fs.ErrNotExist", name, len(data))
		return
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Get(%q): got %v, want fs.ErrNotExist", name, err)
	}
}

// WalkAll returns the sorted names that Walk(prefix) reports, or fails the
// test.
func WalkAll(t testing.TB, w store.Walker, prefix string) []string {
	t.Helper()
	var got []string
	err := w.Walk(t.Context(), prefix, func(name string) error {
		got = append(got, name)
		return nil
	})
	if err != nil {
		t.Fatalf("Walk(%q): %v", prefix, err)
	}
	slices.Sort(got)
	return got
}

func get(ctx context.Context, s store.Store, name string) ([]byte, error) {
	rc, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// hideSize hides every method of r but Read, so that a store cannot learn
// the size of the content in advance.
func hideSize(r io.Reader) io.Reader { return struct{ io.Reader }{r} }

// gateReader returns the first half of its data, then waits until open is
// called before returning the rest. It hides its size.
type gateReader struct {
	data    []byte
	half    int
	reached chan struct{}
	opened  chan struct{}
	reach   sync.Once
	opening sync.Once
}

func newGateReader(data []byte) *gateReader {
	return &gateReader{
		data:    data,
		half:    len(data) / 2,
		reached: make(chan struct{}),
		opened:  make(chan struct{}),
	}
}

func (g *gateReader) open() { g.opening.Do(func() { close(g.opened) }) }

func (g *gateReader) Read(p []byte) (int, error) {
	if g.half > 0 {
		n := copy(p, g.data[:g.half])
		g.data, g.half = g.data[n:], g.half-n
		return n, nil
	}
	g.reach.Do(func() { close(g.reached) })
	<-g.opened
	if len(g.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p, g.data)
	g.data = g.data[n:]
	return n, nil
}

// cancelingReader returns data, calling cancel on its second Read, and
// returns EOF after remaining bytes.
type cancelingReader struct {
	cancel    context.CancelFunc
	reads     int
	remaining int
}

func (r *cancelingReader) Read(p []byte) (int, error) {
	r.reads++
	if r.reads == 2 {
		r.cancel()
	}
	if r.remaining == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.remaining, 32<<10)
	clear(p[:n])
	r.remaining -= n
	return n, nil
}
