package pull

import (
	"context"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/store/disk"
)

// A request whose store lookup missed just before another request's fill
// stored the file joins no flight and starts a fill of its own: that fill
// must find the file stored and not ask upstream again.
func TestFillAfterStoredFetchesNothing(t *testing.T) {
	dir := t.TempDir()
	st, err := disk.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := New(Config{Store: st, TempDir: dir + "/" + disk.TempDir})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		ttl  time.Duration
	}{{"immutable", 0}, {"metadata", time.Hour}} {
		t.Run(tt.name, func(t *testing.T) {
			var fetches atomic.Int32
			a := &Artifact{
				Ecosystem: "test", Kind: tt.name, Name: "test/" + tt.name, TTL: tt.ttl,
				Fetch: func(context.Context, io.Reader) (io.ReadCloser, error) {
					fetches.Add(1)
					return io.NopCloser(strings.NewReader("content")), nil
				},
			}
			e, err := c.Open(t.Context(), a)
			if err != nil {
				t.Fatal(err)
			}
			e.Body.Close()
			// The late request's join, after the first fill ended.
			f, err := c.join(t.Context(), a)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.wait(t.Context()); err != nil {
				t.Fatal(err)
			}
			if n := fetches.Load(); n != 1 {
				t.Errorf("upstream fetches: got %d, want 1", n)
			}
		})
	}
}
