// Package cargoconf edits cargo's configuration file (config.toml under
// CARGO_HOME) in place, to replace crates.io with a mirror's sparse
// index. It reads and edits the file with [tomllines]: everything the
// edit does not touch is kept byte for byte.
package cargoconf

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gomirror/gomirror/internal/client/tomllines"
)

// Source is the name of the source that gomirror adds, and that
// crates-io is replaced with.
const Source = "gomirror"

// File is a parsed config.toml. The zero value is an empty file.
type File struct {
	doc tomllines.File
}

// Parse parses data. It never fails: lines it does not understand are kept
// as they are and otherwise ignored.
func Parse(data []byte) *File { return &File{doc: *tomllines.Parse(data)} }

// Bytes returns the file's content.
func (f *File) Bytes() []byte { return f.doc.Bytes() }

// ErrUnterminated is returned for a file that ends inside a multi-line
// string or array: gomirror does not add to a file it cannot read.
var ErrUnterminated = errors.New("config.toml ends inside an unterminated multi-line string or array")

// Quote writes s as a TOML basic string.
func Quote(s string) string { return tomllines.Quote(s) }

// Get returns the raw value (quoted, as written) of key in table. ok is
// false when the file does not set it there.
func (f *File) Get(table, key string) (value string, ok bool) { return f.doc.Get(table, key) }

// UseMirror points cargo at registry, a sparse index URL
// ("sparse+https://mirror.example/cargo/index/"): [source.crates-io] gets
// replace-with = "gomirror", and [source.gomirror] registry = registry.
// It reports whether the content changed. It changes nothing and returns
// an error for a file it cannot read to its end, and for one that
// configures those sources in another form (dotted keys, inline tables,
// another kind of source named gomirror), which it leaves to the user.
func (f *File) UseMirror(registry string) (bool, error) {
	_, entries, ok := f.doc.Scan()
	if !ok {
		return false, ErrUnterminated
	}
	own := map[string]string{"source.crates-io": "replace-with", "source." + Source: "registry"}
	for _, e := range entries {
		full := e.Key
		if e.Table != "" {
			full = e.Table + "." + e.Key
		}
		for table, key := range own {
			if !strings.HasPrefix(full+".", table+".") {
				continue
			}
			if e.Table != table {
				return false, fmt.Errorf("config.toml sets %s on line %d in a form gomirror does not edit: write it as [%s] %s = ... or edit it by hand", full, e.Line+1, table, key)
			}
			if e.Key != key && table == "source."+Source {
				return false, fmt.Errorf("config.toml line %d: [%s] already has %s; gomirror would make it a registry source", e.Line+1, table, e.Key)
			}
		}
	}
	changed := f.doc.Set("source.crates-io", "replace-with", tomllines.Quote(Source))
	changed = f.doc.Set("source."+Source, "registry", tomllines.Quote(registry)) || changed
	return changed, nil
}
