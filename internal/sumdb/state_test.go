package sumdb_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/gomirror/gomirror/internal/sumdb"
)

// stateFile returns the file holding the verifier's latest tree head.
func (w *world) stateFile() string { return filepath.Join(w.stateDir, dbName, "latest") }

// checkState fails the test unless the state file holds a tree head
// signed by the database, of at least minSize records.
func (w *world) checkState(t *testing.T, minSize int64) {
	t.Helper()
	data, err := os.ReadFile(w.stateFile())
	if err != nil {
		t.Fatalf("state: %v", err)
	}
	v, err := note.NewVerifier(w.db.Key)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(data, note.VerifierList(v))
	if err != nil {
		t.Fatalf("state: got %q (%v), want a signed tree head", data, err)
	}
	tree, err := tlog.ParseTree([]byte(n.Text))
	if err != nil || tree.N < minSize {
		t.Fatalf("state: got tree %+v (%v), want one of at least %d records", tree, err, minSize)
	}
	matches, _ := filepath.Glob(filepath.Join(w.stateDir, dbName, ".latest-*"))
	if len(matches) != 0 {
		t.Errorf("state directory: got temporary files %v, want none", matches)
	}
}

// damages are ways a crash or a bad disk leaves the state file.
var damages = []struct {
	name   string
	damage func(t *testing.T, file string, good []byte)
}{
	{"torn", func(t *testing.T, file string, good []byte) {
		if err := os.WriteFile(file, good[:len(good)/2], 0o666); err != nil {
			t.Fatal(err)
		}
	}},
	{"empty", func(t *testing.T, file string, good []byte) {
		if err := os.WriteFile(file, nil, 0o666); err != nil {
			t.Fatal(err)
		}
	}},
	{"garbage", func(t *testing.T, file string, good []byte) {
		if err := os.WriteFile(file, []byte("\x00\x00\x00\x00"), 0o666); err != nil {
			t.Fatal(err)
		}
	}},
	{"unreadable", func(t *testing.T, file string, good []byte) {
		// A directory in its place: reading it fails.
		if err := os.Remove(file); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(file, 0o777); err != nil {
			t.Fatal(err)
		}
	}},
}

// warm makes the world's SumDB look up the good module, so that the state
// file holds a tree head, and returns the file's content.
func (w *world) warm(t *testing.T) []byte {
	t.Helper()
	good := w.mods["good"]
	if _, _, err := w.sumdb.Lookup(t.Context(), good.Path, good.Version.Version); err != nil {
		t.Fatal(err)
	}
	w.checkState(t, 1)
	data, err := os.ReadFile(w.stateFile())
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestStateDamagedAtUse damages the state file under a running SumDB: the
// next Lookup rebuilds it from the database and succeeds, where it used to
// fail with "malformed note" until someone removed the file by hand.
func TestStateDamagedAtUse(t *testing.T) {
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			w := newWorld(t, time.Hour)
			good := w.warm(t)
			d.damage(t, w.stateFile(), good)

			other := w.mods["other"]
			zip, mod, err := w.sumdb.Lookup(t.Context(), other.Path, other.Version.Version)
			if err != nil || zip != other.ZipHash || mod != other.ModHash {
				t.Fatalf("Lookup with a damaged state: got %q, %q, %v; want the module's hashes", zip, mod, err)
			}
			w.checkState(t, 2)
			// Check reports nil once the state has been rebuilt.
			if err := w.sumdb.Check(t.Context()); err != nil {
				t.Errorf("Check after the repair: got %v, want nil", err)
			}
			if logs := w.logs.String(); !strings.Contains(logs, "checksum database state damaged") || !strings.Contains(logs, "state rebuilt") {
				t.Errorf("logs: got %q, want the damage and the repair reported", logs)
			}
		})
	}
}

// TestStateDamagedAtOpen damages the state file while gomirror is stopped:
// New finds it, Check reports it while the database cannot be reached to
// rebuild it, and nil once it has been.
func TestStateDamagedAtOpen(t *testing.T) {
	for _, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			w := newWorld(t, time.Hour)
			good := w.warm(t)
			d.damage(t, w.stateFile(), good)

			w.db.SetDown(true)
			s, err := sumdb.New(w.config(t, time.Hour))
			if err != nil {
				t.Fatalf("New with a damaged state: %v", err)
			}
			shutdown(t, s)
			err = s.Check(t.Context())
			if err == nil || !strings.Contains(err.Error(), "damaged") || !strings.Contains(err.Error(), w.stateFile()) {
				t.Fatalf("Check with a damaged state and the database down: got %v, want an error naming the damaged file", err)
			}
			// Still not healthy: nothing has rebuilt the state.
			if err := s.Check(t.Context()); err == nil {
				t.Errorf("second Check with the database down: got nil, want the damage reported")
			}

			w.db.SetDown(false)
			if err := s.Check(t.Context()); err != nil {
				t.Fatalf("Check with the database back: got %v, want nil (rebuilt)", err)
			}
			w.checkState(t, 1)
			other := w.mods["other"]
			if _, _, err := s.Lookup(t.Context(), other.Path, other.Version.Version); err != nil {
				t.Errorf("Lookup after the repair: %v", err)
			}
		})
	}
}

// TestStateDamagedDatabaseDown damages the state file and takes the
// database down: a lookup served from the store still succeeds, starting
// from the empty tree, and its tree head rebuilds the state.
func TestStateDamagedDatabaseDown(t *testing.T) {
	w := newWorld(t, time.Hour)
	good := w.warm(t)
	damages[0].damage(t, w.stateFile(), good)
	w.db.SetDown(true)
	g := w.mods["good"]
	// A new SumDB over the same store: the warm one remembers the hashes
	// in memory and would not read the store.
	s, err := sumdb.New(w.config(t, time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	shutdown(t, s)
	zip, mod, err := s.Lookup(t.Context(), g.Path, g.Version.Version)
	if err != nil || zip != g.ZipHash || mod != g.ModHash {
		t.Fatalf("Lookup from the store with a damaged state: got %q, %q, %v; want the module's hashes", zip, mod, err)
	}
	w.checkState(t, 1)
	if err := s.Check(t.Context()); err != nil {
		t.Errorf("Check after a lookup rebuilt the state: got %v, want nil", err)
	}
}
