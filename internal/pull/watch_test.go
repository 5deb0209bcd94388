package pull

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gomirror/gomirror/internal/store"
	"github.com/gomirror/gomirror/internal/store/disk"
)

// TestWatchSeesEveryByteBeforeCheck fills files below and above the
// held-back tail with a Watch: it reads every byte, then io.EOF, before
// Check runs.
func TestWatchSeesEveryByteBeforeCheck(t *testing.T) {
	for _, size := range []int{0, 100, 1 << 20} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			f := newFixture(t, nil)
			data := big(size)
			f.add("w.bin", data)
			var seen bytes.Buffer
			var seenErr error
			watched := make(chan struct{})
			a := f.artifact("w.bin", 0)
			a.Watch = func(_ context.Context, r io.Reader) {
				defer close(watched)
				_, seenErr = io.Copy(&seen, r)
			}
			checked := false
			a.Check = func(ctx context.Context, _ *os.File) error {
				select {
				case <-watched:
				case <-ctx.Done():
					return ctx.Err()
				}
				checked = true
				if seenErr != nil || !bytes.Equal(seen.Bytes(), data) {
					return fmt.Errorf("watch read %d bytes (%v), want the %d of the download and io.EOF", seen.Len(), seenErr, len(data))
				}
				return nil
			}
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/w.bin", nil)
			if err := f.c.Serve(httptest.NewRecorder(), r, a); err != nil {
				t.Fatalf("Serve: %v", err)
			}
			if !checked {
				t.Error("Check did not run")
			}
			eventually(t, "w.bin stored", func() bool { return f.stored(t, "w.bin") })
		})
	}
}

// TestWatchGetsErrorOnFailedDownload checks that a Watch of a download
// that upstream cuts short (before a byte could stream) reads an error,
// not io.EOF.
func TestWatchGetsErrorOnFailedDownload(t *testing.T) {
	f := newFixture(t, nil)
	f.up.set("cut.bin", big(200<<10))
	watched := make(chan error, 1)
	a := f.artifact("cut.bin", 0)
	a.Fetch = func(context.Context, io.Reader) (io.ReadCloser, error) {
		return io.NopCloser(io.MultiReader(bytes.NewReader(big(10<<10)), errReader{errors.New("connection reset")})), nil
	}
	a.Watch = func(_ context.Context, r io.Reader) {
		_, err := io.Copy(io.Discard, r)
		watched <- err
	}
	r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/cut.bin", nil)
	if err := f.c.Serve(httptest.NewRecorder(), r, a); err == nil {
		t.Fatal("Serve of a cut download: got nil, want an error")
	}
	if err := <-watched; err == nil {
		t.Error("Watch of a cut download: got io.EOF, want an error")
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

// failingPuts is a store whose writes all fail as a full disk's do.
type failingPuts struct{ *disk.Store }

func (failingPuts) Put(context.Context, string, io.Reader) error {
	return &fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}
}

func (s failingPuts) PutFile(ctx context.Context, name string, _ *os.File) error {
	return s.Put(ctx, name, nil)
}

var _ store.FilePutter = failingPuts{}

// TestStreamedClientGetsCheckedFileWhenStoringFails streams a file that
// passes its checks but cannot be stored: the client gets all of it,
// since its tail is released once the file is checked, and the failure
// is counted.
func TestStreamedClientGetsCheckedFileWhenStoringFails(t *testing.T) {
	st, err := disk.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	f := newFixtureOn(t, failingPuts{st}, nil)
	data := big(1 << 20)
	f.add("s.bin", data)
	// The client is streaming before the upstream sends the second half.
	f.up.half = make(chan struct{})
	srv := httptest.NewServer(f.handler(time.Hour))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/s.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 1024)
	if _, err := io.ReadFull(resp.Body, first); err != nil {
		t.Fatalf("reading the first bytes while the fill is under way: %v", err)
	}
	close(f.up.half)
	rest, err := io.ReadAll(resp.Body)
	if got := append(first, rest...); resp.StatusCode != http.StatusOK || err != nil || !bytes.Equal(got, data) {
		t.Fatalf("got %d with %d bytes (%v), want 200 with the %d of the file", resp.StatusCode, len(got), err, len(data))
	}
	eventually(t, "the write failure counted", func() bool {
		return testutil.ToFloat64(f.m.StoreWriteFailures.WithLabelValues("full")) == 1
	})
	if f.stored(t, "s.bin") {
		t.Error("stored by a store whose writes fail")
	}
}

// smallStore reports little free space.
type smallStore struct {
	*disk.Store
	free int64
}

func (s smallStore) FreeSpace(context.Context) (int64, error) { return s.free, nil }

// sizedBody announces its size, as an upstream's Content-Length does.
type sizedBody struct {
	io.Reader
	size int64
}

func (b sizedBody) Size() int64 { return b.size }
func (sizedBody) Close() error  { return nil }

// TestNoRoomIs507BeforeStreaming fills files whose announced size is
// over, at or under the store's free space: over is a 507 before any
// byte is sent, and nothing is stored; the others are served.
func TestNoRoomIs507BeforeStreaming(t *testing.T) {
	tests := []struct {
		name       string
		size, free int64
		want       int
	}{
		{"over", 1 << 20, 1<<20 - 1, http.StatusInsufficientStorage},
		{"at", 1 << 20, 1 << 20, http.StatusOK},
		{"under", 100, 1 << 20, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := disk.New(t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			f := newFixtureOn(t, smallStore{st, tt.free}, nil)
			data := big(int(tt.size))
			f.add("b.bin", data)
			a := f.artifact("b.bin", 0)
			a.Fetch = func(context.Context, io.Reader) (io.ReadCloser, error) {
				return sizedBody{bytes.NewReader(data), tt.size}, nil
			}
			w := httptest.NewRecorder()
			r := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/b.bin", nil)
			if err := f.c.Serve(w, r, a); err != nil {
				http.Error(w, Reason(err), Status(err))
			}
			if w.Code != tt.want {
				t.Fatalf("got %d %q, want %d", w.Code, firstLine(w.Body.String()), tt.want)
			}
			if tt.want == http.StatusOK && !bytes.Equal(w.Body.Bytes(), data) {
				t.Errorf("got %d bytes, want the %d of the file", w.Body.Len(), len(data))
			}
			if tt.want != http.StatusOK {
				if w.Body.Len() > 200 {
					t.Errorf("got a body of %d bytes, want a one-line reason", w.Body.Len())
				}
				if f.stored(t, "b.bin") {
					t.Error("stored a file refused for want of room")
				}
			}
		})
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
