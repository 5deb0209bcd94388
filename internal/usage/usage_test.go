package usage

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/store"
	"github.com/gomirror/gomirror/internal/store/disk"
	"github.com/gomirror/gomirror/internal/store/memstore"
)

func TestMeter(t *testing.T) {
	files := map[string]int{
		"golang.org/x/text/@v/v0.3.0.zip":    1000,
		"golang.org/x/text/@v/list":          7,
		"example.com/m/@v/v1.0.0.mod":        20,
		"sumdb/sum.golang.org/tile/8/0/001":  8192,
		"golang/go1.22.0.linux-amd64.tar.gz": 300,
		"vuln/index/db.json":                 40,
		"oci/blobs/sha256/ab":                500,
		"pypi/files/x.whl":                   60,
		"npm/react/-/react-1.0.0.tgz":        70,
	}
	want := map[string]int64{"go": 1027, "sumdb": 8192, "golang": 300, "vuln": 40, "oci": 500, "pypi": 60, "npm": 70}
	dsk, err := disk.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	stores := map[string]store.Store{"memstore": memstore.New(), "disk": dsk}
	for label, st := range stores {
		t.Run(label, func(t *testing.T) {
			for name, n := range files {
				if err := st.Put(t.Context(), name, strings.NewReader(strings.Repeat("x", n))); err != nil {
					t.Fatal(err)
				}
			}
			m := New(st, nil)
			if _, _, ok := m.Size("go"); ok {
				t.Errorf("Size before any measurement: got ok, want not measured")
			}
			ids := []string{"go", "sumdb", "golang", "vuln", "oci", "pypi", "npm"}
			if err := m.RefreshAll(t.Context(), ids); err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				got, at, ok := m.Size(id)
				if !ok || got != want[id] || at.IsZero() {
					t.Errorf("Size(%s): got %d, %v, %v, want %d, measured", id, got, at, ok, want[id])
				}
			}
			// A new file shows after the next refresh, not before.
			st.Put(t.Context(), "npm/left-pad/-/left-pad-1.0.0.tgz", strings.NewReader("12345"))
			if got, _, _ := m.Size("npm"); got != 70 {
				t.Errorf("Size(npm) before refresh: got %d, want the cached 70", got)
			}
			if err := m.Refresh(t.Context(), "npm"); err != nil {
				t.Fatal(err)
			}
			if got, _, _ := m.Size("npm"); got != 75 {
				t.Errorf("Size(npm) after refresh: got %d, want 75", got)
			}
		})
	}
}

// storeOnly hides every method of a store but those of store.Store.
type storeOnly struct{ s store.Store }

func (s storeOnly) Get(ctx context.Context, name string) (io.ReadCloser, error) {
	return s.s.Get(ctx, name)
}
func (s storeOnly) Put(ctx context.Context, name string, r io.Reader) error {
	return s.s.Put(ctx, name, r)
}
func (s storeOnly) Delete(ctx context.Context, name string) error { return s.s.Delete(ctx, name) }

func TestMeterWithoutWalk(t *testing.T) {
	m := New(storeOnly{memstore.New()}, nil)
	if err := m.Refresh(t.Context(), "npm"); !errors.Is(err, ErrNoWalk) {
		t.Errorf("Refresh on a store that cannot walk: got %v, want ErrNoWalk", err)
	}
	if _, _, ok := m.Size("npm"); ok {
		t.Errorf("Size after a failed measurement: got ok, want unknown")
	}
}
