// Package cargoconf edits cargo's configuration file (config.toml under
// CARGO_HOME) in place, to replace crates.io with a mirror's sparse
// index. It understands as much TOML as it needs: table headers (dotted,
// with quoted parts), "key = value" lines, and values (multi-line strings
// and arrays) that run over several lines, which it steps over.
// Everything the edit does not touch is kept byte for byte.
package cargoconf

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Source is the name of the source that gomirror adds, and that
// crates-io is replaced with.
const Source = "gomirror"

// File is a parsed config.toml. The zero value is an empty file.
type File struct {
	lines []string // each line with its line ending
}

// Parse parses data. It never fails: lines it does not understand are kept
// as they are and otherwise ignored.
func Parse(data []byte) *File {
	f := &File{}
	for line := range strings.SplitAfterSeq(string(data), "\n") {
		if line != "" {
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

// ErrUnterminated is returned for a file that ends inside a multi-line
// string or array: gomirror does not add to a file it cannot read.
var ErrUnterminated = errors.New("config.toml ends inside an unterminated multi-line string or array")

// entry is one "key = value" line.
type entry struct {
	table string // dotted, unquoted; "" for the top level
	key   string // dotted, unquoted
	value string // raw, without a trailing comment
	line  int
}

// header is a "[table]" line; "[[table]]" lines are headers too, with
// array set.
type header struct {
	table string
	array bool
	line  int
}

func trimEOL(l string) string { return strings.TrimRight(l, "\r\n") }

// scan lists the file's headers and entries, stepping over the lines of
// multi-line values. complete is false when the last value is
// unterminated.
func (f *File) scan() (headers []header, entries []entry, complete bool) {
	complete = true
	table := ""
	for i := 0; i < len(f.lines); i++ {
		t := strings.TrimSpace(trimEOL(f.lines[i]))
		if t == "" || t[0] == '#' {
			continue
		}
		if t[0] == '[' {
			h, ok := parseHeader(t)
			if !ok {
				continue
			}
			h.line = i
			headers = append(headers, h)
			table = h.table
			continue
		}
		key, value, ok := parseEntry(t)
		if !ok {
			continue
		}
		entries = append(entries, entry{table: table, key: key, value: value, line: i})
		var closed bool
		i, closed = f.skipValue(i, value)
		complete = complete && closed
	}
	return headers, entries, complete
}

// parseHeader reads "[table]" or "[[table]]", with an optional comment.
func parseHeader(t string) (header, bool) {
	array := strings.HasPrefix(t, "[[")
	open, close := "[", "]"
	if array {
		open, close = "[[", "]]"
	}
	rest := t[len(open):]
	end := strings.Index(rest, close)
	if end < 0 {
		return header{}, false
	}
	after := strings.TrimSpace(rest[end+len(close):])
	if after != "" && after[0] != '#' {
		return header{}, false
	}
	name, ok := dotted(rest[:end])
	return header{table: name, array: array}, ok
}

// parseEntry reads "key = value # comment".
func parseEntry(t string) (key, value string, ok bool) {
	eq := keyEnd(t)
	if eq <= 0 {
		return "", "", false
	}
	key, ok = dotted(t[:eq])
	value = strings.TrimSpace(stripComment(t[eq+1:]))
	return key, value, ok
}

// keyEnd returns the index of the "=" that ends a key, outside quotes, or
// -1.
func keyEnd(t string) int {
	var quote byte
	for i := 0; i < len(t); i++ {
		c := t[i]
		switch {
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case quote == '"' && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && c == '=':
			return i
		}
	}
	return -1
}

// dotted normalises a dotted key: its parts trimmed and unquoted, joined
// with dots. ok is false for an empty part.
func dotted(k string) (string, bool) {
	var parts []string
	var cur strings.Builder
	var quote byte
	quoted := false
	flush := func() bool {
		p := cur.String()
		if !quoted {
			p = strings.TrimSpace(p)
		}
		cur.Reset()
		if p == "" && !quoted {
			return false
		}
		parts = append(parts, p)
		quoted = false
		return true
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case quote == 0 && (c == '"' || c == '\''):
			if strings.TrimSpace(cur.String()) != "" {
				return "", false
			}
			cur.Reset()
			quote, quoted = c, true
		case quote == '"' && c == '\\' && i+1 < len(k):
			i++
			cur.WriteByte(k[i])
		case quote != 0 && c == quote:
			quote = 0
		case quote != 0:
			cur.WriteByte(c)
		case c == '.':
			if !flush() {
				return "", false
			}
		case quoted && c != ' ' && c != '\t':
			return "", false // Text after a closing quote.
		case !quoted:
			cur.WriteByte(c)
		}
	}
	if quote != 0 || !flush() {
		return "", false
	}
	return strings.Join(parts, "."), true
}

// stripComment drops a "#" comment that is outside strings.
func stripComment(v string) string {
	var quote byte
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case quote == '"' && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && c == '#':
			return v[:i]
		}
	}
	return v
}

// skipValue returns the last line of a value that starts on line i, and
// whether the value ends there rather than running off the end of the
// file.
func (f *File) skipValue(i int, value string) (last int, closed bool) {
	for _, delim := range []string{`"""`, `'''`} {
		if rest, ok := strings.CutPrefix(value, delim); ok {
			if strings.Contains(rest, delim) {
				return i, true
			}
			for j := i + 1; j < len(f.lines); j++ {
				if strings.Contains(f.lines[j], delim) {
					return j, true
				}
			}
			return len(f.lines) - 1, false
		}
	}
	if !strings.HasPrefix(value, "[") && !strings.HasPrefix(value, "{") {
		return i, true
	}
	depth := brackets(value)
	j := i
	for depth > 0 && j+1 < len(f.lines) {
		j++
		depth += brackets(stripComment(trimEOL(f.lines[j])))
	}
	return j, depth <= 0
}

// brackets counts "[" and "{" minus "]" and "}" outside strings.
func brackets(v string) int {
	n := 0
	var quote byte
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
		case quote == '"' && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '[' || c == '{'):
			n++
		case quote == 0 && (c == ']' || c == '}'):
			n--
		}
	}
	return n
}

func (f *File) eol() string {
	for _, l := range f.lines {
		if strings.HasSuffix(l, "\r\n") {
			return "\r\n"
		}
	}
	return "\n"
}

// Quote writes s as a TOML basic string.
func Quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < ' ' || r == 0x7f:
			b.WriteString(`\u00`)
			b.WriteByte("0123456789abcdef"[r>>4])
			b.WriteByte("0123456789abcdef"[r&15])
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Get returns the raw value (quoted, as written) of key in table. ok is
// false when the file does not set it there.
func (f *File) Get(table, key string) (value string, ok bool) {
	_, entries, _ := f.scan()
	for _, e := range entries {
		if e.table == table && e.key == key {
			return e.value, true
		}
	}
	return "", false
}

// UseMirror points cargo at registry, a sparse index URL
// ("sparse+https://mirror.example/cargo/index/"): [source.crates-io] gets
// replace-with = "gomirror", and [source.gomirror] registry = registry.
// It reports whether the content changed. It changes nothing and returns
// an error for a file it cannot read to its end, and for one that
// configures those sources in another form (dotted keys, inline tables,
// another kind of source named gomirror), which it leaves to the user.
func (f *File) UseMirror(registry string) (bool, error) {
	_, entries, ok := f.scan()
	if !ok {
		return false, ErrUnterminated
	}
	own := map[string]string{"source.crates-io": "replace-with", "source." + Source: "registry"}
	for _, e := range entries {
		full := e.key
		if e.table != "" {
			full = e.table + "." + e.key
		}
		for table, key := range own {
			if !strings.HasPrefix(full+".", table+".") {
				continue
			}
			if e.table != table {
				return false, fmt.Errorf("config.toml sets %s on line %d in a form gomirror does not edit: write it as [%s] %s = ... or edit it by hand", full, e.line+1, table, key)
			}
			if e.key != key && table == "source."+Source {
				return false, fmt.Errorf("config.toml line %d: [%s] already has %s; gomirror would make it a registry source", e.line+1, table, e.key)
			}
		}
	}
	changed := f.set("source.crates-io", "replace-with", Quote(Source))
	changed = f.set("source."+Source, "registry", Quote(registry)) || changed
	return changed, nil
}

// set sets key in table to value, a TOML value as written: it replaces the
// line that sets it, keeping its spacing and comment, or adds the line
// after the table's header, or adds the table at the end of the file.
func (f *File) set(table, key, value string) bool {
	nl := f.eol()
	headers, entries, _ := f.scan()
	for _, e := range entries {
		if e.table == table && e.key == key {
			return f.setLine(e, value)
		}
	}
	for _, h := range headers {
		if h.table == table && !h.array {
			if !strings.HasSuffix(f.lines[h.line], "\n") {
				f.lines[h.line] += nl
			}
			f.lines = append(f.lines[:h.line+1], append([]string{key + " = " + value + nl}, f.lines[h.line+1:]...)...)
			return true
		}
	}
	if n := len(f.lines); n > 0 {
		if !strings.HasSuffix(f.lines[n-1], "\n") {
			f.lines[n-1] += nl
		}
		if strings.TrimSpace(f.lines[n-1]) != "" {
			f.lines = append(f.lines, nl)
		}
	}
	f.lines = append(f.lines, "["+table+"]"+nl, key+" = "+value+nl)
	return true
}

// setLine replaces the value of e with value, keeping the key as written,
// the spacing and a trailing comment.
func (f *File) setLine(e entry, value string) bool {
	if e.value == value {
		return false
	}
	line := f.lines[e.line]
	eol := line[len(trimEOL(line)):]
	body := trimEOL(line)
	eq := keyEnd(body)
	rest := body[eq+1:]
	pad := rest[:len(rest)-len(strings.TrimLeft(rest, " \t"))]
	// A trailing comment is kept, with the spacing before it.
	vpart := stripComment(rest)
	comment := rest[len(vpart):]
	if comment != "" {
		comment = vpart[len(strings.TrimRight(vpart, " \t")):] + comment
	}
	last, _ := f.skipValue(e.line, e.value)
	f.lines = append(f.lines[:e.line], append([]string{body[:eq+1] + pad + value + comment + eol}, f.lines[last+1:]...)...)
	return true
}
