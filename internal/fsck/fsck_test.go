package fsck_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/fsck"
	"github.com/gomirror/gomirror/internal/store/disk"
	"github.com/gomirror/gomirror/internal/store/memstore"
	"github.com/gomirror/gomirror/internal/sumdb"
	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
)

func put(t *testing.T, st *memstore.Store, name string, data []byte) {
	t.Helper()
	if err := st.Put(t.Context(), name, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
}

func TestRun(t *testing.T) {
	good := sumdbtest.NewModule(t, "example.com/good", "v1.0.0", map[string]string{"good.go": "package good\n"})
	published := sumdbtest.NewModule(t, "example.com/bad", "v1.0.0", map[string]string{"bad.go": "package bad\n"})
	tampered := sumdbtest.NewModule(t, "example.com/bad", "v1.0.0", map[string]string{"bad.go": "package bad // tampered\n"})
	private := sumdbtest.NewModule(t, "corp.example.com/secret", "v1.0.0", nil)
	db := sumdbtest.NewDB(t, "sum.example.test", good, published)

	for _, dryRun := range []bool{true, false} {
		name := "quarantine"
		if dryRun {
			name = "dry-run"
		}
		t.Run(name, func(t *testing.T) {
			st := memstore.New()
			checker, err := sumdb.New(sumdb.Config{
				GOSUMDB:  db.Key + " " + db.URL,
				Private:  "corp.example.com",
				Store:    st,
				StateDir: t.TempDir(),
				Client:   sumdbtest.LocalClient(t),
			})
			if err != nil {
				t.Fatal(err)
			}
			put(t, st, "example.com/good/@v/v1.0.0.info", good.Info)
			put(t, st, "example.com/good/@v/v1.0.0.mod", good.Mod)
			put(t, st, "example.com/good/@v/v1.0.0.zip", good.Zip)
			put(t, st, "example.com/good/@v/list", []byte("v1.0.0\n"))
			put(t, st, "example.com/bad/@v/v1.0.0.mod", published.Mod)
			put(t, st, "example.com/bad/@v/v1.0.0.zip", tampered.Zip)
			put(t, st, "example.com/bad/@v/v1.0.0.info", []byte(`{"Version":"v1.0.1"}`))
			put(t, st, "corp.example.com/secret/@v/v1.0.0.mod", private.Mod)
			put(t, st, "corp.example.com/secret/@v/v1.0.0.zip", []byte("not a zip"))
			put(t, st, "quarantine/example.com/old/@v/v1.0.0.zip", []byte("already quarantined"))

			rep, err := fsck.Run(t.Context(), fsck.Options{Store: st, Checker: checker, DryRun: dryRun, TempDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Checked != 8 || rep.OK != 5 || len(rep.Errors) != 0 {
				t.Errorf("got checked %d, ok %d, errors %v; want 8, 5, none", rep.Checked, rep.OK, rep.Errors)
			}
			want := []struct{ name, reason string }{
				{"corp.example.com/secret/@v/v1.0.0.zip", "invalid module file"},
				{"example.com/bad/@v/v1.0.0.info", `info is for version "v1.0.1"`},
				{"example.com/bad/@v/v1.0.0.zip", "example.com/bad@v1.0.0: zip checksum mismatch: checksum database has " + published.ZipHash + ", store has " + tampered.ZipHash},
			}
			if len(rep.Quarantined) != len(want) {
				t.Fatalf("got quarantined %+v, want %d files", rep.Quarantined, len(want))
			}
			for i, w := range want {
				got := rep.Quarantined[i]
				if got.Name != w.name || !strings.Contains(got.Reason, w.reason) {
					t.Errorf("got quarantined %s: %q, want %s: %q", got.Name, got.Reason, w.name, w.reason)
				}
				_, inPlace := st.Bytes(w.name)
				moved, inQuarantine := st.Bytes("quarantine/" + w.name)
				if dryRun && (!inPlace || inQuarantine) {
					t.Errorf("dry run: %s moved", w.name)
				}
				if !dryRun && (inPlace || !inQuarantine || len(moved) == 0) {
					t.Errorf("%s: got in place %v, in quarantine %v; want it moved", w.name, inPlace, inQuarantine)
				}
			}
			if _, ok := st.Bytes("example.com/good/@v/v1.0.0.zip"); !ok {
				t.Errorf("the good zip is gone")
			}

			// A second run finds nothing more to quarantine, unless the
			// first was a dry run.
			rep, err = fsck.Run(t.Context(), fsck.Options{Store: st, Checker: checker})
			if err != nil {
				t.Fatal(err)
			}
			wantQ := 0
			if dryRun {
				wantQ = 3
			}
			if len(rep.Quarantined) != wantQ {
				t.Errorf("second run: got %d quarantined, want %d", len(rep.Quarantined), wantQ)
			}
		})
	}
}

func TestRunLookupFails(t *testing.T) {
	good := sumdbtest.NewModule(t, "example.com/good", "v1.0.0", nil)
	db := sumdbtest.NewDB(t, "sum.example.test")
	st := memstore.New()
	checker, err := sumdb.New(sumdb.Config{
		GOSUMDB: db.Key + " " + db.URL, Store: st, StateDir: t.TempDir(), Client: sumdbtest.LocalClient(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	put(t, st, "example.com/good/@v/v1.0.0.mod", good.Mod)
	rep, err := fsck.Run(t.Context(), fsck.Options{Store: st, Checker: checker})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Errors) != 1 || len(rep.Quarantined) != 0 || !strings.Contains(rep.Errors[0].Reason, "not in the checksum database") {
		t.Errorf("got errors %+v, quarantined %+v; want one error saying the module is unknown", rep.Errors, rep.Quarantined)
	}
	if _, ok := st.Bytes("example.com/good/@v/v1.0.0.mod"); !ok {
		t.Errorf("a file that could not be checked was moved")
	}
}

// TestRunDiskInPlace checks the zips of a disk store where they lie: with
// a temporary directory that does not exist, any copy would fail, yet
// every file is checked and the tampered zip found.
func TestRunDiskInPlace(t *testing.T) {
	good := sumdbtest.NewModule(t, "example.com/good", "v1.0.0", map[string]string{"good.go": "package good\n"})
	published := sumdbtest.NewModule(t, "example.com/bad", "v1.0.0", map[string]string{"bad.go": "package bad\n"})
	tampered := sumdbtest.NewModule(t, "example.com/bad", "v1.0.0", map[string]string{"bad.go": "package bad // tampered\n"})
	db := sumdbtest.NewDB(t, "sum.example.test", good, published)
	st, err := disk.New(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	checker, err := sumdb.New(sumdb.Config{
		GOSUMDB: db.Key + " " + db.URL, Store: st, StateDir: t.TempDir(), Client: sumdbtest.LocalClient(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{
		"example.com/good/@v/v1.0.0.info": good.Info,
		"example.com/good/@v/v1.0.0.mod":  good.Mod,
		"example.com/good/@v/v1.0.0.zip":  good.Zip,
		"example.com/bad/@v/v1.0.0.mod":   published.Mod,
		"example.com/bad/@v/v1.0.0.zip":   tampered.Zip,
	} {
		if err := st.Put(t.Context(), name, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
	}
	noTemp := filepath.Join(t.TempDir(), "absent")
	rep, err := fsck.Run(t.Context(), fsck.Options{Store: st, Checker: checker, TempDir: noTemp})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Checked != 5 || rep.OK != 4 || len(rep.Errors) != 0 {
		t.Errorf("got checked %d, ok %d, errors %+v; want 5, 4, none (no copy made)", rep.Checked, rep.OK, rep.Errors)
	}
	if len(rep.Quarantined) != 1 || rep.Quarantined[0].Name != "example.com/bad/@v/v1.0.0.zip" || !strings.Contains(rep.Quarantined[0].Reason, "checksum mismatch") {
		t.Errorf("got quarantined %+v, want the tampered zip for a checksum mismatch", rep.Quarantined)
	}
	if _, err := os.Stat(noTemp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temporary directory: Stat got %v, want it never made", err)
	}
}

// TestRunCopiesWithoutLocalPath checks that zips of a store without local
// paths are copied into TempDir: when it cannot be written, the zips are
// reported as errors, not passed.
func TestRunCopiesWithoutLocalPath(t *testing.T) {
	good := sumdbtest.NewModule(t, "example.com/good", "v1.0.0", nil)
	db := sumdbtest.NewDB(t, "sum.example.test", good)
	st := memstore.New()
	checker, err := sumdb.New(sumdb.Config{
		GOSUMDB: db.Key + " " + db.URL, Store: st, StateDir: t.TempDir(), Client: sumdbtest.LocalClient(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	put(t, st, "example.com/good/@v/v1.0.0.zip", good.Zip)
	put(t, st, "example.com/good/@v/v1.0.0.mod", good.Mod)
	rep, err := fsck.Run(t.Context(), fsck.Options{Store: st, Checker: checker, TempDir: filepath.Join(t.TempDir(), "absent")})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK != 1 || len(rep.Errors) != 1 || rep.Errors[0].Name != "example.com/good/@v/v1.0.0.zip" {
		t.Errorf("got ok %d, errors %+v; want the .mod checked from memory and the zip's copy failing", rep.OK, rep.Errors)
	}
	rep, err = fsck.Run(t.Context(), fsck.Options{Store: st, Checker: checker, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK != 2 || len(rep.Errors) != 0 || len(rep.Quarantined) != 0 {
		t.Errorf("with a usable TempDir: got ok %d, errors %+v, quarantined %+v; want both files good", rep.OK, rep.Errors, rep.Quarantined)
	}
}
