// Package tomllines holds a TOML file as lines, for the editors of files
// that gomirror changes a few keys of (cargo's config.toml, uv.toml) and
// must otherwise give back byte for byte. It understands as much TOML as
// such an edit needs: table headers (dotted, with quoted parts, and
// arrays of tables), "key = value" lines, and values (multi-line strings,
// arrays and inline tables) that run over several lines, which it steps
// over. Each line keeps its own line ending.
package tomllines

import (
	"bytes"
	"cmp"
	"strings"
)

// File is a TOML file as lines. The zero value is an empty file.
type File struct {
	// CommentSpace, when not empty, goes before a trailing comment that
	// [File.SetLine] keeps, in place of the spacing the line had there.
	CommentSpace string
	lines        []string // each line with its line ending
}

// Parse parses data. It never fails: lines it does not understand are kept
// as they are and otherwise ignored, as gomirror must not destroy a file
// it cannot fully read.
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

// EOL returns the line ending the file uses: "\r\n" when a line ends in
// it, else "\n".
func (f *File) EOL() string {
	for _, l := range f.lines {
		if strings.HasSuffix(l, "\r\n") {
			return "\r\n"
		}
	}
	return "\n"
}

// Entry is one "key = value" line.
type Entry struct {
	Table string // dotted, unquoted; "" for the top level
	// Block counts the headers of an array of tables ("[[index]]") from
	// 0 per table name: the entries of the second [[index]] have Block 1.
	// It is -1 outside an array of tables.
	Block int
	Key   string // dotted, unquoted
	Value string // raw, without a trailing comment
	Line  int    // 0-based
}

// Header is a "[table]" or "[[table]]" line.
type Header struct {
	Table string // dotted, unquoted
	Array bool   // [[table]]
	Block int    // as in Entry; -1 for a [table]
	Line  int    // 0-based
}

func trimEOL(l string) string { return strings.TrimRight(l, "\r\n") }

// Scan lists the file's headers and entries, stepping over the lines of
// multi-line values. complete is false when the last value runs off the
// end of the file.
func (f *File) Scan() (headers []Header, entries []Entry, complete bool) {
	complete = true
	table, block := "", -1
	blocks := map[string]int{}
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
			h.Line, h.Block = i, -1
			if h.Array {
				h.Block = blocks[h.Table]
				blocks[h.Table]++
			}
			headers = append(headers, h)
			table, block = h.Table, h.Block
			continue
		}
		key, value, ok := parseEntry(t)
		if !ok {
			continue
		}
		entries = append(entries, Entry{Table: table, Block: block, Key: key, Value: value, Line: i})
		var closed bool
		i, closed = f.skipValue(i, value)
		complete = complete && closed
	}
	return headers, entries, complete
}

// Get returns the raw value (quoted, as written) of key in table. ok is
// false when the file does not set it there.
func (f *File) Get(table, key string) (value string, ok bool) {
	_, entries, _ := f.Scan()
	for _, e := range entries {
		if e.Table == table && e.Key == key {
			return e.Value, true
		}
	}
	return "", false
}

// Set sets key in table to value, a TOML value as written: it replaces
// the line that sets it (see [File.SetLine]), or adds the line after the
// table's header, or adds the table at the end of the file. It reports
// whether the content changed.
func (f *File) Set(table, key, value string) bool {
	headers, entries, _ := f.Scan()
	for _, e := range entries {
		if e.Table == table && e.Key == key {
			return f.SetLine(e, value)
		}
	}
	for _, h := range headers {
		if h.Table == table && !h.Array {
			f.Insert(h, key+" = "+value)
			return true
		}
	}
	f.Append("["+table+"]", key+" = "+value)
	return true
}

// Insert adds line, without its line ending, after the header h.
func (f *File) Insert(h Header, line string) {
	nl := f.EOL()
	if !strings.HasSuffix(f.lines[h.Line], "\n") {
		f.lines[h.Line] += nl
	}
	f.lines = append(f.lines[:h.Line+1], append([]string{line + nl}, f.lines[h.Line+1:]...)...)
}

// Append adds lines, without their line endings, at the end of the file,
// after a blank line when the file does not end in one.
func (f *File) Append(lines ...string) {
	nl := f.EOL()
	if n := len(f.lines); n > 0 {
		if !strings.HasSuffix(f.lines[n-1], "\n") {
			f.lines[n-1] += nl
		}
		if strings.TrimSpace(f.lines[n-1]) != "" {
			f.lines = append(f.lines, nl)
		}
	}
	for _, l := range lines {
		f.lines = append(f.lines, l+nl)
	}
}

// SetLine replaces the value of e, an entry of the last [File.Scan], with
// value, keeping the key as written, the spacing and a trailing comment
// with the spacing before it (or CommentSpace). It reports whether the
// content changed.
func (f *File) SetLine(e Entry, value string) bool {
	if e.Value == value {
		return false
	}
	line := f.lines[e.Line]
	eol := line[len(trimEOL(line)):]
	body := trimEOL(line)
	eq := keyEnd(body)
	rest := body[eq+1:]
	pad := rest[:len(rest)-len(strings.TrimLeft(rest, " \t"))]
	vpart := stripComment(rest)
	comment := rest[len(vpart):]
	if comment != "" {
		comment = cmp.Or(f.CommentSpace, vpart[len(strings.TrimRight(vpart, " \t")):]) + comment
	}
	last, _ := f.skipValue(e.Line, e.Value)
	f.lines = append(f.lines[:e.Line], append([]string{body[:eq+1] + pad + value + comment + eol}, f.lines[last+1:]...)...)
	return true
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

// parseHeader reads "[table]" or "[[table]]", with an optional comment.
func parseHeader(t string) (Header, bool) {
	array := strings.HasPrefix(t, "[[")
	open, close := "[", "]"
	if array {
		open, close = "[[", "]]"
	}
	rest := t[len(open):]
	end := strings.Index(rest, close)
	if end < 0 {
		return Header{}, false
	}
	after := strings.TrimSpace(rest[end+len(close):])
	if after != "" && after[0] != '#' {
		return Header{}, false
	}
	name, ok := dotted(rest[:end])
	return Header{Table: name, Array: array}, ok
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
	end := -1
	outside(t, func(i int, c byte) bool {
		if c == '=' {
			end = i
		}
		return end < 0
	})
	return end
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
	end := len(v)
	outside(v, func(i int, c byte) bool {
		if c == '#' {
			end = i
		}
		return end == len(v)
	})
	return v[:end]
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
	outside(v, func(_ int, c byte) bool {
		switch c {
		case '[', '{':
			n++
		case ']', '}':
			n--
		}
		return true
	})
	return n
}

// outside calls fn with each byte of v that stands outside a string, and
// its index, until fn returns false.
func outside(v string, fn func(i int, c byte) bool) {
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
		case quote == 0:
			if !fn(i, c) {
				return
			}
		}
	}
}
