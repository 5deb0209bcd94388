package seed_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/module"

	"github.com/gomirror/gomirror/internal/seed"
	"github.com/gomirror/gomirror/internal/store/memstore"
	"github.com/gomirror/gomirror/internal/sumdb"
	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
)

// writeCache writes mods into a module cache under dir, as the go command
// lays it out.
func writeCache(t *testing.T, dir string, mods ...*sumdbtest.Module) {
	t.Helper()
	for _, m := range mods {
		esc, err := module.EscapePath(m.Path)
		if err != nil {
			t.Fatal(err)
		}
		vdir := filepath.Join(dir, "cache", "download", filepath.FromSlash(esc), "@v")
		files := map[string][]byte{
			m.Version.Version + ".info":    m.Info,
			m.Version.Version + ".mod":     m.Mod,
			m.Version.Version + ".zip":     m.Zip,
			m.Version.Version + ".lock":    nil,
			m.Version.Version + ".ziphash": []byte(m.ZipHash),
			"list":                         []byte(m.Version.Version + "\n"),
		}
		if err := os.MkdirAll(vdir, 0o777); err != nil {
			t.Fatal(err)
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(vdir, name), data, 0o666); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestImport(t *testing.T) {
	good := sumdbtest.NewModule(t, "example.com/good", "v1.0.0", map[string]string{"good.go": "package good\n"})
	upper := sumdbtest.NewModule(t, "example.com/Upper", "v0.1.0", nil)
	published := sumdbtest.NewModule(t, "example.com/bad", "v1.0.0", map[string]string{"bad.go": "package bad\n"})
	tampered := sumdbtest.NewModule(t, "example.com/bad", "v1.0.0", map[string]string{"bad.go": "package bad // tampered\n"})
	private := sumdbtest.NewModule(t, "corp.example.com/secret", "v1.0.0", nil)
	unknown := sumdbtest.NewModule(t, "example.com/unknown", "v1.0.0", nil)

	db := sumdbtest.NewDB(t, "sum.example.test", good, upper, published)
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
	cache := t.TempDir()
	writeCache(t, cache, good, upper, tampered, private, unknown)
	// The checksum database cache of the go command is not imported.
	if err := os.MkdirAll(filepath.Join(cache, "cache", "download", "sumdb", "sum.golang.org", "lookup"), 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cache, "cache", "download", "sumdb", "sum.golang.org", "lookup", "x@v1.0.0"), []byte("x"), 0o666); err != nil {
		t.Fatal(err)
	}

	var progress []seed.Progress
	rep, err := seed.Import(t.Context(), seed.Options{
		Dir:      cache,
		Store:    st,
		Checker:  checker,
		Jobs:     2,
		Progress: func(p seed.Progress) { progress = append(progress, p) },
	})
	if err != nil {
		t.Fatal(err)
	}
	// good, upper and private: 3 files each; bad: .mod (the published
	// go.mod) and .info; unknown: .info.
	if rep.Imported != 12 || rep.Skipped != 0 {
		t.Errorf("got %d imported, %d skipped; want 12, 0", rep.Imported, rep.Skipped)
	}
	wantRefused := map[string]string{
		"example.com/bad/@v/v1.0.0.zip":     "example.com/bad@v1.0.0: zip checksum mismatch: checksum database has " + published.ZipHash + ", file has " + tampered.ZipHash,
		"example.com/unknown/@v/v1.0.0.mod": "not in the checksum database",
		"example.com/unknown/@v/v1.0.0.zip": "not in the checksum database",
	}
	if len(rep.Refused) != len(wantRefused) {
		t.Errorf("got refused %+v, want %d files", rep.Refused, len(wantRefused))
	}
	for _, r := range rep.Refused {
		want, ok := wantRefused[r.Name]
		if !ok || !strings.Contains(r.Reason, want) {
			t.Errorf("got refused %s: %q, want reason containing %q", r.Name, r.Reason, want)
		}
	}
	if len(progress) != 5 || progress[4].Done != 5 || progress[4].Total != 5 {
		t.Errorf("got progress %+v, want 5 calls ending at 5/5", progress)
	}
	for name, want := range map[string][]byte{
		"example.com/good/@v/v1.0.0.zip":         good.Zip,
		"example.com/!upper/@v/v0.1.0.mod":       upper.Mod,
		"corp.example.com/secret/@v/v1.0.0.info": private.Info,
		"example.com/bad/@v/v1.0.0.mod":          tampered.Mod,
	} {
		if got, ok := st.Bytes(name); !ok || !bytes.Equal(got, want) {
			t.Errorf("store %s: got %d bytes (present %v), want the module's %d", name, len(got), ok, len(want))
		}
	}
	for _, name := range []string{"example.com/bad/@v/v1.0.0.zip", "example.com/good/@v/list", "example.com/good/@v/v1.0.0.ziphash", "sumdb/sum.golang.org/lookup/x@v1.0.0"} {
		if _, ok := st.Bytes(name); ok {
			t.Errorf("store has %s, want it not imported", name)
		}
	}

	// Again, from the cache/download directory itself: all skipped.
	rep, err = seed.Import(t.Context(), seed.Options{Dir: filepath.Join(cache, "cache", "download"), Store: st, Checker: checker})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 0 || rep.Skipped != 12 || len(rep.Refused) != 3 {
		t.Errorf("second import: got %d imported, %d skipped, %d refused; want 0, 12, 3", rep.Imported, rep.Skipped, len(rep.Refused))
	}
}

func TestImportMissingDir(t *testing.T) {
	_, err := seed.Import(t.Context(), seed.Options{Dir: filepath.Join(t.TempDir(), "none"), Store: memstore.New()})
	if err == nil {
		t.Errorf("got no error, want one")
	}
}
