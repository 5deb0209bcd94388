package pull_test

import (
	"context"
	"crypto/sha1"
	"errors"
	"io"
	"io/fs"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/store/disk"
)

// announced is an upstream body that announces the digest it must match,
// as an ecosystem that reads it from a checksum file next to the file
// returns it.
type announced struct {
	io.ReadCloser
	want *pull.Digest
}

func (b announced) Digest() *pull.Digest { return b.want }

func TestFetchAnnouncesTheDigest(t *testing.T) {
	const content = "the file's bytes"
	right := sha1.Sum([]byte(content))
	wrong := sha1.Sum([]byte("other bytes"))
	for _, tt := range []struct {
		name    string
		sum     []byte
		refused bool
	}{
		{"matches", right[:], false},
		{"mismatch", wrong[:], true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			st, err := disk.New(t.TempDir(), nil)
			if err != nil {
				t.Fatal(err)
			}
			cache, err := pull.New(pull.Config{Store: st, TempDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			a := &pull.Artifact{
				Ecosystem: "test", Kind: "file", Name: "announced/file.bin",
				Fetch: func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
					return announced{io.NopCloser(strings.NewReader(content)), &pull.Digest{Algorithm: "sha1", Sum: tt.sum, Size: -1, Source: "its .sha1"}}, nil
				},
			}
			_, err = cache.Prefetch(t.Context(), a)
			switch {
			case tt.refused && !errors.Is(err, pull.ErrRefused):
				t.Fatalf("got %v, want a refusal", err)
			case tt.refused && !strings.Contains(err.Error(), "sha1 mismatch") || tt.refused && !strings.Contains(err.Error(), "its .sha1"):
				t.Errorf("refusal %q does not name the mismatch and its source", err)
			case !tt.refused && err != nil:
				t.Fatalf("got %v, want the file stored", err)
			}
			_, gerr := st.Get(t.Context(), a.Name)
			if stored := gerr == nil; stored == tt.refused {
				t.Errorf("stored: got %v, want %v (%v)", stored, !tt.refused, gerr)
			} else if gerr != nil && !errors.Is(gerr, fs.ErrNotExist) {
				t.Errorf("Get: %v", gerr)
			}
		})
	}
}
