// Package uvconf edits uv's configuration file (uv.toml) in place, to make
// a mirror uv's default package index. It understands as much TOML as it
// needs: table headers, "key = value" lines, and values (multi-line
// strings and arrays) that run over several lines, which it steps over.
// Everything the edit does not touch is kept byte for byte.
package uvconf

import (
	"bytes"
	"errors"
	"strings"
)

// File is a parsed uv.toml. The zero value is an empty file.
type File struct {
	lines []string // each line with its line ending
}

// Parse parses data. It never fails: lines it does not understand are kept
// as they are and otherwise ignored, as gomirror must not destroy a file it
// cannot fully read.
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

// entry is one "key = value" line, in the table that holds it.
type entry struct {
	table string // "" for the top level; "[[index]]" entries are "index"
	block int    // which [[index]] block, counting from 0; -1 otherwise
	key   string // unquoted
	value string // raw value, without a trailing comment
	line  int
}

// header is a table header line.
type header struct {
	table string
	array bool // [[table]]
	block int
	line  int
}

func trimEOL(l string) string { return strings.TrimRight(l, "\r\n") }

// ErrUnterminated is returned for a file that ends inside a multi-line
// string or array: gomirror does not add to a file it cannot read.
var ErrUnterminated = errors.New("uv.toml ends inside an unterminated multi-line string or array")

// scan lists the file's headers and entries, stepping over the lines of
// multi-line values. ok is false when the last value is unterminated.
func (f *File) scan() (headers []header, entries []entry, complete bool) {
	complete = true
	table, block, blocks := "", -1, 0
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
			h.line, h.block = i, -1
			if h.array && h.table == "index" {
				h.block = blocks
				blocks++
			}
			headers = append(headers, h)
			table, block = h.table, h.block
			continue
		}
		key, value, ok := parseEntry(t)
		if !ok {
			continue
		}
		entries = append(entries, entry{table: table, block: block, key: key, value: value, line: i})
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
	name := strings.TrimSpace(rest[:end])
	return header{table: unquote(name), array: array}, name != ""
}

// parseEntry reads "key = value # comment".
func parseEntry(t string) (key, value string, ok bool) {
	eq := strings.IndexByte(t, '=')
	if eq <= 0 {
		return "", "", false
	}
	key = unquote(strings.TrimSpace(t[:eq]))
	value = strings.TrimSpace(stripComment(t[eq+1:]))
	return key, value, key != ""
}

func unquote(k string) string {
	if len(k) >= 2 && (k[0] == '"' && k[len(k)-1] == '"' || k[0] == '\'' && k[len(k)-1] == '\'') {
		return k[1 : len(k)-1]
	}
	return k
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
// whether the value ends there rather than running off the end of the file.
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
	if !strings.HasPrefix(value, "[") {
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

// brackets counts "[" minus "]" outside strings.
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
		case quote == 0 && c == '[':
			n++
		case quote == 0 && c == ']':
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

// quote writes s as a TOML basic string.
func quote(s string) string {
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

// setLine replaces the value of the entry on line i with value, keeping
// the key as written, the spacing and a trailing comment.
func (f *File) setLine(e entry, value string) bool {
	if e.value == value {
		return false
	}
	line := f.lines[e.line]
	eol := line[len(trimEOL(line)):]
	body := trimEOL(line)
	eq := strings.IndexByte(body, '=')
	rest := body[eq+1:]
	pad := rest[:len(rest)-len(strings.TrimLeft(rest, " \t"))]
	comment := strings.TrimPrefix(rest, stripComment(rest))
	if comment != "" {
		comment = " " + comment
	}
	last, _ := f.skipValue(e.line, e.value)
	f.lines = append(f.lines[:e.line], append([]string{body[:eq+1] + pad + value + comment + eol}, f.lines[last+1:]...)...)
	return true
}

// DefaultIndex returns the URL of the index marked default = true, or of
// the top-level index-url, as written (quoted). ok is false when there is
// neither.
func (f *File) DefaultIndex() (value string, ok bool) {
	_, entries, _ := f.scan()
	for _, b := range defaultBlocks(entries) {
		for _, e := range entries {
			if e.block == b && e.key == "url" {
				return e.value, true
			}
		}
	}
	for _, e := range entries {
		if e.table == "" && e.key == "index-url" {
			return e.value, true
		}
	}
	return "", false
}

// defaultBlocks lists the [[index]] blocks that say default = true.
func defaultBlocks(entries []entry) []int {
	var out []int
	for _, e := range entries {
		if e.block >= 0 && e.key == "default" && e.value == "true" {
			out = append(out, e.block)
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
	value := quote(url)
	nl := f.eol()
	changed := false
	headers, entries, ok := f.scan()
	if !ok {
		return false, ErrUnterminated
	}
	// Edits go from the last line up, so earlier line numbers stay valid.
	blocks := defaultBlocks(entries)
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if e.key == "index-url" && (e.table == "" || e.table == "pip") && e.block < 0 {
			changed = f.setLine(e, value) || changed
		}
	}
	if len(blocks) > 0 {
		// uv takes the first default index.
		b := blocks[0]
		headers, entries, _ = f.scan()
		for _, e := range entries {
			if e.block == b && e.key == "url" {
				return f.setLine(e, value) || changed, nil
			}
		}
		for _, h := range headers {
			if h.block == b {
				f.lines = append(f.lines[:h.line+1], append([]string{"url = " + value + nl}, f.lines[h.line+1:]...)...)
				return true, nil
			}
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
	f.lines = append(f.lines, "[[index]]"+nl, `name = "gomirror"`+nl, "url = "+value+nl, "default = true"+nl)
	return true, nil
}
