// Package uvconf edits uv's configuration file (uv.toml) in place, to make
// a mirror uv's default package index. It reads and edits the file with
// [tomllines]: everything the edit does not touch is kept byte for byte.
package uvconf

import (
	"errors"

	"github.com/gomirror/gomirror/internal/client/tomllines"
)

// File is a parsed uv.toml. The zero value is an empty file.
type File struct {
	doc tomllines.File
}

// Parse parses data. It never fails: lines it does not understand are kept
// as they are and otherwise ignored, as gomirror must not destroy a file it
// cannot fully read.
func Parse(data []byte) *File {
	f := &File{doc: *tomllines.Parse(data)}
	f.doc.CommentSpace = " " // A value it replaces is followed by one space before its comment.
	return f
}

// Bytes returns the file's content.
func (f *File) Bytes() []byte { return f.doc.Bytes() }

// ErrUnterminated is returned for a file that ends inside a multi-line
// string or array: gomirror does not add to a file it cannot read.
var ErrUnterminated = errors.New("uv.toml ends inside an unterminated multi-line string or array")

// DefaultIndex returns the URL of the index marked default = true, or of
// the top-level index-url, as written (quoted). ok is false when there is
// neither.
func (f *File) DefaultIndex() (value string, ok bool) {
	_, entries, _ := f.doc.Scan()
	for _, b := range defaultBlocks(entries) {
		for _, e := range entries {
			if e.Table == "index" && e.Block == b && e.Key == "url" {
				return e.Value, true
			}
		}
	}
	for _, e := range entries {
		if e.Table == "" && e.Key == "index-url" {
			return e.Value, true
		}
	}
	return "", false
}

// defaultBlocks lists the [[index]] blocks that say default = true.
func defaultBlocks(entries []tomllines.Entry) []int {
	var out []int
	for _, e := range entries {
		if e.Table == "index" && e.Block >= 0 && e.Key == "default" && e.Value == "true" {
			out = append(out, e.Block)
		}
	}
	return out
}

// SetDefaultIndex makes url uv's default index: the url of the [[index]]
// marked default = true, or a new such [[index]], named "gomirror", at the
// end of the file. An index-url that the file also sets, at the top level
// or in [pip], is pointed at url too, so that no older setting overrides
// the new one. It reports whether the content changed, and returns
// ErrUnterminated, changing nothing, for a file it cannot read to its end.
func (f *File) SetDefaultIndex(url string) (bool, error) {
	value := tomllines.Quote(url)
	changed := false
	headers, entries, ok := f.doc.Scan()
	if !ok {
		return false, ErrUnterminated
	}
	// Edits go from the last line up, so earlier line numbers stay valid.
	blocks := defaultBlocks(entries)
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if e.Key == "index-url" && (e.Table == "" || e.Table == "pip") && e.Block < 0 {
			changed = f.doc.SetLine(e, value) || changed
		}
	}
	if len(blocks) > 0 {
		// uv takes the first default index.
		b := blocks[0]
		headers, entries, _ = f.doc.Scan()
		for _, e := range entries {
			if e.Table == "index" && e.Block == b && e.Key == "url" {
				return f.doc.SetLine(e, value) || changed, nil
			}
		}
		for _, h := range headers {
			if h.Table == "index" && h.Block == b {
				f.doc.Insert(h, "url = "+value)
				return true, nil
			}
		}
	}
	f.doc.Append("[[index]]", `name = "gomirror"`, "url = "+value, "default = true")
	return true, nil
}
