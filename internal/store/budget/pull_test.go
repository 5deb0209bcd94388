package budget

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/store/disk"
)

// TestPullOverTinyBudget runs the pull-through core over a store with a
// budget of a few blobs: as blobs are filled, the least recently used go,
// a blob served again stays, and metadata is never evicted.
func TestPullOverTinyBudget(t *testing.T) {
	dir := t.TempDir()
	h := newHarness(t, dir, Config{Bytes: 10_000, Recent: time.Minute})
	cache, err := pull.New(pull.Config{Store: h.Store, TempDir: filepath.Join(dir, disk.TempDir), HotCacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	blob := func(i int) *pull.Artifact {
		data := bytes.Repeat([]byte{byte(i)}, 2000)
		sum := sha256.Sum256(data)
		return &pull.Artifact{
			Ecosystem: "oci", Kind: "blob",
			Name:        "oci/blobs/example.com/sha256/" + hex.EncodeToString(sum[:]),
			ContentType: "application/octet-stream",
			Want:        &pull.Digest{Algorithm: "sha256", Sum: sum[:], Size: int64(len(data)), Source: "the test"},
			Fetch: func(context.Context, io.Reader) (io.ReadCloser, error) {
				return io.NopCloser(bytes.NewReader(data)), nil
			},
		}
	}
	tag := func(i int) *pull.Artifact {
		return &pull.Artifact{
			Ecosystem: "oci", Kind: "tag",
			Name:        fmt.Sprintf("oci/tags/example.com/app/_tags/v%d", i),
			ContentType: "application/json",
			TTL:         time.Hour,
			Fetch: func(context.Context, io.Reader) (io.ReadCloser, error) {
				return io.NopCloser(strings.NewReader(fmt.Sprintf(`{"tag":%d}`, i))), nil
			},
		}
	}
	serve := func(a *pull.Artifact) {
		t.Helper()
		w := httptest.NewRecorder()
		r := httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
		if err := cache.Serve(w, r, a); err != nil || w.Code != http.StatusOK {
			t.Fatalf("serving %s: got %d, %v", a.Name, w.Code, err)
		}
	}
	for i := range 12 {
		// A tag (metadata) and a 2000-byte blob a minute: a fifth blob
		// takes the store over its budget, and the least recently used
		// blob read or written over a minute ago goes.
		e, err := cache.Open(ctx, tag(i))
		if err != nil {
			t.Fatal(err)
		}
		e.Body.Close()
		serve(blob(i))
		if i >= 2 {
			// Blob 0 is served again each time: it stays.
			serve(blob(0))
		}
		// Evictions run at the time of the writes that call for them.
		h.settle()
		h.advance(time.Minute)
	}
	var blobs, tags []string
	for _, name := range h.stored(t) {
		switch {
		case strings.HasPrefix(name, "oci/blobs/"):
			blobs = append(blobs, name)
		case strings.HasPrefix(name, "oci/tags/"):
			tags = append(tags, name)
		}
	}
	if len(tags) != 12 {
		t.Errorf("got %d tags stored, want all 12: metadata is never evicted", len(tags))
	}
	// Used stays within the budget: 12 tags of about 10 bytes, and as
	// many blobs as fit.
	if used := h.Used(); used > 10_000 {
		t.Errorf("Used: got %d, over the budget of 10000", used)
	}
	var want []string
	for _, i := range []int{0, 9, 10, 11} {
		want = append(want, blob(i).Name)
	}
	slices.Sort(want)
	if !slices.Equal(blobs, want) {
		t.Errorf("blobs stored: got %v, want blob 0 (served again) and the three newest, %v", blobs, want)
	}
	// An evicted blob is filled again on its next request.
	serve(blob(1))
	h.settle()
	h.checkUsed(t)
}
