// Package npmrc edits npm configuration files (.npmrc) in place: "key=value"
// lines, "#" and ";" comments, and "[section]" headers. Lines the edit does
// not touch are kept byte for byte.
package npmrc

import (
	"strings"
)

// File is a parsed .npmrc. The zero value is an empty file.
type File struct {
	lines []string // with line endings
}

// Parse parses data. It never fails: lines it does not understand are kept.
func Parse(data []byte) *File {
	f := &File{}
	for line := range strings.SplitAfterSeq(string(data), "\n") {
		if line != "" { // The split ends with "" after a final newline.
			f.lines = append(f.lines, line)
		}
	}
	return f
}

// Bytes returns the file's content.
func (f *File) Bytes() []byte {
	return []byte(strings.Join(f.lines, ""))
}

// find returns the index of the top-level line that sets key, or -1.
// Lines after a "[section]" header belong to that section and are skipped.
func (f *File) find(key string) int {
	for i, l := range f.lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") {
			return -1
		}
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		k, _, ok := strings.Cut(t, "=")
		if ok && strings.TrimSpace(k) == key {
			return i
		}
	}
	return -1
}

// Get returns the value of the top-level key. ok is false when it is absent.
func (f *File) Get(key string) (value string, ok bool) {
	i := f.find(key)
	if i < 0 {
		return "", false
	}
	_, v, _ := strings.Cut(f.lines[i], "=")
	return strings.TrimSpace(v), true
}

// Set sets the top-level key to value: it replaces the line that sets it
// (and drops later top-level lines that set it again, which npm would apply
// instead) or, when there is none, adds a line before the first section. It
// reports whether the content changed.
func (f *File) Set(key, value string) bool {
	nl := "\n"
	for _, l := range f.lines {
		if strings.HasSuffix(l, "\r\n") {
			nl = "\r\n"
			break
		}
	}
	newLine := key + "=" + value + nl
	i := f.find(key)
	if i < 0 {
		at := len(f.lines)
		for j, l := range f.lines {
			if strings.HasPrefix(strings.TrimSpace(l), "[") {
				at = j
				break
			}
		}
		if at > 0 && !strings.HasSuffix(f.lines[at-1], "\n") {
			f.lines[at-1] += nl
		}
		f.lines = append(f.lines[:at], append([]string{newLine}, f.lines[at:]...)...)
		return true
	}
	changed := false
	if v, _ := f.Get(key); v != value {
		f.lines[i] = newLine
		changed = true
	}
	for {
		j := f.findAfter(key, i+1)
		if j < 0 {
			break
		}
		f.lines = append(f.lines[:j], f.lines[j+1:]...)
		changed = true
	}
	return changed
}

func (f *File) findAfter(key string, from int) int {
	rest := &File{lines: f.lines[from:]}
	if j := rest.find(key); j >= 0 {
		return from + j
	}
	return -1
}

// ScopedRegistries returns the scopes that the file routes to registries
// of their own ("@corp:registry=URL" lines at the top level), by scope.
func (f *File) ScopedRegistries() map[string]string {
	out := map[string]string{}
	for _, l := range f.lines {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "[") {
			break
		}
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		k, v, ok := strings.Cut(t, "=")
		k = strings.TrimSpace(k)
		scope, found := strings.CutSuffix(k, ":registry")
		if ok && found && strings.HasPrefix(scope, "@") && len(scope) > 1 {
			out[scope] = strings.TrimSpace(v)
		}
	}
	return out
}

// ScopeKey returns the key that routes scope ("@corp", or "corp") to a
// registry: "@corp:registry".
func ScopeKey(scope string) string {
	return "@" + strings.TrimPrefix(scope, "@") + ":registry"
}
