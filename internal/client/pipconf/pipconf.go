// Package pipconf edits pip configuration files (pip.conf, pip.ini) in
// place. It follows the syntax of Python's configparser, which pip uses:
// "[section]" headers, "key = value" or "key: value" entries whose value may
// continue on indented lines, and "#" or ";" comment lines. Everything the
// edit does not touch is kept byte for byte.
package pipconf

import (
	"bytes"
	"strings"
)

// File is a parsed pip configuration file. The zero value is an empty file.
type File struct {
	lines []string // each line with its line ending
}

// Parse parses data. It never fails: lines it does not understand are kept
// as they are and otherwise ignored, as gomirror must not destroy a file it
// cannot fully read.
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
	var b bytes.Buffer
	for _, l := range f.lines {
		b.WriteString(l)
	}
	return b.Bytes()
}

// entry is the location of one key in the file: lines [start, end).
type entry struct {
	section    string
	key        string // normalized
	value      string // joined value, continuation lines separated by "\n"
	start, end int
}

// normalize gives a key the form pip compares: lower case with "-" for "_".
func normalize(key string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(key)), "_", "-")
}

func trimEOL(l string) string { return strings.TrimRight(l, "\r\n") }

func isComment(l string) bool {
	t := strings.TrimSpace(l)
	return strings.HasPrefix(t, "#") || strings.HasPrefix(t, ";")
}

func isIndented(l string) bool { return l != "" && (l[0] == ' ' || l[0] == '\t') }

// sectionName returns the name of a "[name]" header line.
func sectionName(l string) (string, bool) {
	t := strings.TrimSpace(trimEOL(l))
	if len(t) >= 2 && t[0] == '[' && strings.HasSuffix(t, "]") && !isIndented(l) {
		return t[1 : len(t)-1], true
	}
	return "", false
}

// entries lists every key = value entry with its section.
func (f *File) entries() []entry {
	var out []entry
	section := ""
	for i := 0; i < len(f.lines); i++ {
		l := trimEOL(f.lines[i])
		if name, ok := sectionName(l); ok {
			section = name
			continue
		}
		if strings.TrimSpace(l) == "" || isComment(l) || isIndented(l) {
			continue
		}
		sep := strings.IndexAny(l, "=:")
		if sep < 0 {
			continue
		}
		e := entry{section: section, key: normalize(l[:sep]), value: strings.TrimSpace(l[sep+1:]), start: i, end: i + 1}
		// As in configparser, comment lines are not part of a value and do
		// not end it: an indented line after them still continues it.
		for j := e.end; j < len(f.lines); j++ {
			next := trimEOL(f.lines[j])
			if isComment(next) {
				continue
			}
			if !isIndented(next) || strings.TrimSpace(next) == "" {
				break
			}
			e.value += "\n" + strings.TrimSpace(next)
			e.end = j + 1
		}
		i = e.end - 1
		out = append(out, e)
	}
	return out
}

func (f *File) find(section, key string) (entry, bool) {
	key = normalize(key)
	for _, e := range f.entries() {
		if e.section == section && e.key == key {
			return e, true
		}
	}
	return entry{}, false
}

// Get returns the value of key in section, with continuation lines joined by
// "\n". ok is false when the key is absent.
func (f *File) Get(section, key string) (value string, ok bool) {
	e, ok := f.find(section, key)
	return e.value, ok
}

// Sections returns every section that sets key, in file order.
func (f *File) Sections(key string) []string {
	key = normalize(key)
	var out []string
	for _, e := range f.entries() {
		if e.key == key {
			out = append(out, e.section)
		}
	}
	return out
}

func (f *File) eol() string {
	for _, l := range f.lines {
		if strings.HasSuffix(l, "\r\n") {
			return "\r\n"
		}
	}
	return "\n"
}

// Set sets key to value in section, replacing an existing entry (all of its
// continuation lines) or adding one at the end of the section, creating the
// section at the end of the file when needed. It reports whether the
// content changed.
func (f *File) Set(section, key, value string) bool {
	nl := f.eol()
	if e, ok := f.find(section, key); ok {
		if e.value == value {
			return false
		}
		line := f.lines[e.start]
		sep := strings.IndexAny(line, "=:")
		// Keep the key as written and the spacing around the separator.
		rest := line[sep+1:]
		pad := rest[:len(rest)-len(strings.TrimLeft(rest, " \t"))]
		newLine := line[:sep+1] + pad + value + nl
		f.lines = append(f.lines[:e.start], append([]string{newLine}, f.lines[e.end:]...)...)
		return true
	}
	newLine := key + " = " + value + nl
	// Find the section; insert after its last entry (before trailing blank
	// lines and comments that precede the next section).
	cur := ""
	found := false
	insertAt := -1
	for i, l := range f.lines {
		if name, ok := sectionName(l); ok {
			if found && cur == section {
				break
			}
			cur = name
			if name == section && !found {
				found = true
				insertAt = i + 1
			}
			continue
		}
		if found && cur == section && strings.TrimSpace(l) != "" && !isComment(l) {
			insertAt = i + 1
		}
	}
	if !found {
		f.ensureFinalNewline(nl)
		if len(f.lines) > 0 && strings.TrimSpace(f.lines[len(f.lines)-1]) != "" {
			f.lines = append(f.lines, nl)
		}
		f.lines = append(f.lines, "["+section+"]"+nl, newLine)
		return true
	}
	if insertAt == len(f.lines) {
		f.ensureFinalNewline(nl)
	}
	f.lines = append(f.lines[:insertAt], append([]string{newLine}, f.lines[insertAt:]...)...)
	return true
}

func (f *File) ensureFinalNewline(nl string) {
	if n := len(f.lines); n > 0 && !strings.HasSuffix(f.lines[n-1], "\n") {
		f.lines[n-1] += nl
	}
}

// AddToList adds item to the whitespace-separated list in key (pip's
// trusted-host), unless it is there already. It reports whether the content
// changed.
func (f *File) AddToList(section, key, item string) bool {
	e, ok := f.find(section, key)
	if !ok {
		return f.Set(section, key, item)
	}
	for _, v := range strings.Fields(e.value) {
		if v == item {
			return false
		}
	}
	nl := f.eol()
	if e.end-e.start == 1 {
		l := trimEOL(f.lines[e.start])
		sep := strings.IndexAny(l, "=:")
		if strings.TrimSpace(l[sep+1:]) == "" {
			f.lines[e.start] = l + " " + item + nl
		} else {
			f.lines[e.start] = strings.TrimRight(l, " \t") + " " + item + nl
		}
		return true
	}
	last := f.lines[e.end-1]
	indent := last[:len(last)-len(strings.TrimLeft(last, " \t"))]
	if !strings.HasSuffix(last, "\n") {
		f.lines[e.end-1] += nl
	}
	f.lines = append(f.lines[:e.end], append([]string{indent + item + nl}, f.lines[e.end:]...)...)
	return true
}
