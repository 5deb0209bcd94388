// Package yarnrc edits yarn's configuration files in place: Yarn Berry's
// .yarnrc.yml (YAML) and Yarn Classic's .yarnrc (one "key value" per
// line). Lines an edit does not touch are kept byte for byte.
package yarnrc

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// lines splits data after each newline, keeping the line endings.
func lines(data []byte) []string {
	var out []string
	for l := range strings.SplitAfterSeq(string(data), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// newline returns the line ending the file uses.
func newline(ls []string) string {
	for _, l := range ls {
		if strings.HasSuffix(l, "\r\n") {
			return "\r\n"
		}
	}
	return "\n"
}

// quote returns s as a double-quoted string, valid in YAML and in a
// .yarnrc alike.
func quote(s string) string {
	data, _ := json.Marshal(s) // A string: cannot fail.
	return string(data)
}

// Berry is a parsed .yarnrc.yml.
type Berry struct {
	lines []string // with line endings
}

// ParseBerry parses data, which must be a YAML mapping (or empty).
func ParseBerry(data []byte) (*Berry, error) {
	b := &Berry{lines: lines(data)}
	if _, err := b.root(); err != nil {
		return nil, err
	}
	return b, nil
}

// Bytes returns the file's content.
func (b *Berry) Bytes() []byte { return []byte(strings.Join(b.lines, "")) }

// root parses the file and returns its top-level mapping, or nil when the
// file holds no document.
func (b *Berry) root() (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b.Bytes(), &doc); err != nil {
		return nil, fmt.Errorf(".yarnrc.yml: %w", err)
	}
	if len(doc.Content) == 0 {
		return nil, nil
	}
	n := doc.Content[0]
	if n.Kind != yaml.MappingNode {
		if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
			return nil, nil
		}
		return nil, errors.New(".yarnrc.yml: not a mapping")
	}
	if n.Style&yaml.FlowStyle != 0 {
		return nil, errors.New(".yarnrc.yml: a flow mapping ({...}) at the top; edit it by hand")
	}
	return n, nil
}

// rootIndent returns the indentation of the keys of the top-level
// mapping m (nil for none).
func rootIndent(m *yaml.Node) string {
	if m == nil || len(m.Content) == 0 {
		return ""
	}
	return strings.Repeat(" ", m.Content[0].Column-1)
}

// lookup returns the key and value nodes of key in mapping m.
func lookup(m *yaml.Node, key string) (k, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i], m.Content[i+1]
		}
	}
	return nil, nil
}

// Get returns the string at path (["npmScopes", "corp",
// "npmRegistryServer"]). ok is false when it is absent or not a string.
func (b *Berry) Get(path ...string) (value string, ok bool) {
	n, err := b.root()
	if err != nil || n == nil {
		return "", false
	}
	for i, key := range path {
		_, v := lookup(n, key)
		if v == nil {
			return "", false
		}
		if i == len(path)-1 {
			return v.Value, v.Kind == yaml.ScalarNode && v.Tag != "!!null"
		}
		if v.Kind != yaml.MappingNode {
			return "", false
		}
		n = v
	}
	return "", false
}

// insert inserts text, a whole line, before line index at (0-based),
// making sure the line before ends with a newline.
func (b *Berry) insert(at int, text string) {
	nl := newline(b.lines)
	if at > 0 && !strings.HasSuffix(b.lines[at-1], "\n") {
		b.lines[at-1] += nl
	}
	b.lines = slices.Insert(b.lines, at, text+nl)
}

// Set sets the string at path to value, creating the mappings on the way,
// and reports whether the content changed. It fails, changing nothing, on
// files whose shape it cannot edit line by line (flow mappings on the
// way, a value that is not a one-line scalar): every edit is checked by
// reading the file back and comparing it with what was meant.
func (b *Berry) Set(value string, path ...string) (bool, error) {
	return b.checked(func() (bool, error) { return b.set(value, path...) }, func(m map[string]any) bool {
		for _, k := range path[:len(path)-1] {
			child, ok := m[k].(map[string]any)
			if !ok {
				if m[k] != nil {
					return false
				}
				child = map[string]any{}
				m[k] = child
			}
			m = child
		}
		m[path[len(path)-1]] = value
		return true
	})
}

// AddToList adds item to the list at the top-level key, creating it when
// absent, and reports whether the content changed. Like Set, it checks
// its edit.
func (b *Berry) AddToList(key, item string) (bool, error) {
	return b.checked(func() (bool, error) { return b.addToList(key, item) }, func(m map[string]any) bool {
		list, ok := m[key].([]any)
		if !ok && m[key] != nil {
			return false
		}
		for _, it := range list {
			if it == item {
				return true
			}
		}
		m[key] = append(list, item)
		return true
	})
}

// checked runs edit, then reads the file back and compares it with the
// old content changed by apply; when they differ, it puts the old content
// back and fails.
func (b *Berry) checked(edit func() (bool, error), apply func(map[string]any) bool) (bool, error) {
	old := slices.Clone(b.lines)
	var want map[string]any
	if err := yaml.Unmarshal(b.Bytes(), &want); err != nil {
		return false, fmt.Errorf(".yarnrc.yml: %w", err)
	}
	if want == nil {
		want = map[string]any{}
	}
	changed, err := edit()
	if err != nil || !changed {
		b.lines = old
		return false, err
	}
	var got map[string]any
	if !apply(want) || yaml.Unmarshal(b.Bytes(), &got) != nil || !reflect.DeepEqual(got, want) {
		b.lines = old
		return false, errors.New(".yarnrc.yml: its layout cannot be edited line by line; edit it by hand")
	}
	return true, nil
}

func (b *Berry) set(value string, path ...string) (bool, error) {
	if len(path) == 0 {
		return false, errors.New("yarnrc: empty path")
	}
	n, err := b.root()
	if err != nil {
		return false, err
	}
	if n == nil {
		b.appendPath("", path, value)
		return true, nil
	}
	indent := ""
	for i, key := range path {
		k, v := lookup(n, key)
		last := i == len(path)-1
		switch {
		case k == nil:
			childIndent := indent
			if i > 0 && len(n.Content) > 0 {
				childIndent = strings.Repeat(" ", n.Content[0].Column-1)
			}
			if i == 0 {
				b.appendPath(rootIndent(n), path, value)
			} else {
				b.insertPath(n.Content[0].Line-1, childIndent, path[i:], value)
			}
			return true, nil
		case last:
			if v.Kind != yaml.ScalarNode || v.Line != k.Line || v.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
				return false, fmt.Errorf(".yarnrc.yml: %s is not a one-line value; edit it by hand", strings.Join(path, "."))
			}
			if v.Value == value && v.Tag != "!!null" {
				return false, nil
			}
			b.replaceValue(k, v, quote(value))
			return true, nil
		case v.Kind == yaml.ScalarNode && v.Tag == "!!null" && v.Value == "":
			// "key:" with nothing under it: the rest goes below.
			b.insertPath(k.Line, strings.Repeat(" ", k.Column-1)+"  ", path[i+1:], value)
			return true, nil
		case v.Kind != yaml.MappingNode || v.Style&yaml.FlowStyle != 0:
			return false, fmt.Errorf(".yarnrc.yml: %s is not a block mapping; edit it by hand", strings.Join(path[:i+1], "."))
		}
		indent = strings.Repeat(" ", k.Column-1)
		n = v
	}
	return false, nil
}

// replaceValue rewrites the line of key k so that its value v becomes
// text, keeping what precedes the value and a trailing comment.
func (b *Berry) replaceValue(k, v *yaml.Node, text string) {
	i := k.Line - 1
	line := b.lines[i]
	body := strings.TrimRight(line, "\r\n")
	ending := line[len(body):]
	prefix := body
	if v.Value != "" || v.Style != 0 {
		prefix = body[:min(v.Column-1, len(body))]
	} else {
		prefix = strings.TrimRight(body, " \t")
		if c := strings.Index(prefix, " #"); c >= 0 {
			prefix = strings.TrimRight(prefix[:c], " \t")
		}
		prefix += " "
	}
	comment := ""
	if v.LineComment != "" {
		comment = " " + v.LineComment
	}
	b.lines[i] = prefix + text + comment + ending
}

// appendPath appends path: value at the end of the file.
func (b *Berry) appendPath(indent string, path []string, value string) {
	b.insertPath(len(b.lines), indent, path, value)
}

// insertPath inserts the nested keys of path, the last set to value,
// before line index at, the first key indented by indent.
func (b *Berry) insertPath(at int, indent string, path []string, value string) {
	for j, key := range path {
		text := indent + yamlKey(key) + ":"
		if j == len(path)-1 {
			text += " " + quote(value)
		}
		b.insert(at+j, text)
		indent += "  "
	}
}

// yamlKey writes key plainly when YAML would read it back as the same
// string, else quoted.
func yamlKey(key string) string {
	for _, c := range key {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return quote(key)
		}
	}
	if key == "" {
		return `""`
	}
	return key
}

// AddToList adds item to the list at the top-level key, creating it when
// absent, and reports whether the content changed.
func (b *Berry) addToList(key, item string) (bool, error) {
	n, err := b.root()
	if err != nil {
		return false, err
	}
	var k, v *yaml.Node
	if n != nil {
		k, v = lookup(n, key)
	}
	switch {
	case k == nil:
		indent := rootIndent(n)
		b.insert(len(b.lines), indent+yamlKey(key)+":")
		b.insert(len(b.lines), indent+"  - "+quote(item))
		return true, nil
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null" && v.Value == "":
		b.insert(k.Line, strings.Repeat(" ", k.Column-1)+"  - "+quote(item))
		return true, nil
	case v.Kind != yaml.SequenceNode:
		return false, fmt.Errorf(".yarnrc.yml: %s is not a list; edit it by hand", key)
	}
	for _, it := range v.Content {
		if it.Value == item {
			return false, nil
		}
	}
	if v.Style&yaml.FlowStyle != 0 {
		if len(v.Content) > 0 && v.Content[len(v.Content)-1].Line != v.Line {
			return false, fmt.Errorf(".yarnrc.yml: %s is a list over several lines; edit it by hand", key)
		}
		i := v.Line - 1
		line := b.lines[i]
		start := v.Column - 1
		end := strings.IndexByte(line[start:], ']')
		if end < 0 {
			return false, fmt.Errorf(".yarnrc.yml: %s: cannot find the end of the list", key)
		}
		end += start
		inner := strings.TrimSpace(line[start+1 : end])
		if inner != "" {
			inner += ", "
		}
		b.lines[i] = line[:start] + "[" + inner + quote(item) + "]" + line[end+1:]
		return true, nil
	}
	lastItem := v.Content[len(v.Content)-1]
	if lastItem.Kind != yaml.ScalarNode || lastItem.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return false, fmt.Errorf(".yarnrc.yml: %s holds more than plain strings; edit it by hand", key)
	}
	b.insert(lastItem.Line, strings.Repeat(" ", v.Column-1)+"- "+quote(item))
	return true, nil
}

// Classic is a parsed Yarn Classic .yarnrc: lines of a key and a value,
// either of them quoted, and "#" comments.
type Classic struct {
	lines []string // with line endings
}

// ParseClassic parses data. It never fails: lines it does not understand
// are kept.
func ParseClassic(data []byte) *Classic {
	return &Classic{lines: lines(data)}
}

// Bytes returns the file's content.
func (c *Classic) Bytes() []byte { return []byte(strings.Join(c.lines, "")) }

// field splits the first key or value off s, unquoting it.
func field(s string) (f, rest string, ok bool) {
	s = strings.TrimLeft(s, " \t")
	if s == "" {
		return "", "", false
	}
	if s[0] == '"' {
		end := 1
		for end < len(s) && s[end] != '"' {
			if s[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(s) {
			return "", "", false
		}
		var u string
		if err := json.Unmarshal([]byte(s[:end+1]), &u); err != nil {
			return "", "", false
		}
		return u, s[end+1:], true
	}
	i := strings.IndexAny(s, " \t")
	if i < 0 {
		return s, "", true
	}
	return s[:i], s[i:], true
}

// find returns the index of the line that sets key, or -1.
func (c *Classic) find(key string) int {
	for i, l := range c.lines {
		if strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t") {
			continue // Nested under another key.
		}
		t := strings.TrimSpace(l)
		if t == "" || t[0] == '#' {
			continue
		}
		if k, _, ok := field(t); ok && k == key {
			return i
		}
	}
	return -1
}

// Get returns the value of the top-level key.
func (c *Classic) Get(key string) (value string, ok bool) {
	i := c.find(key)
	if i < 0 {
		return "", false
	}
	_, rest, _ := field(strings.TrimSpace(c.lines[i]))
	v, _, ok := field(rest)
	return v, ok
}

// Set sets the top-level key to value, replacing the line that sets it
// (and dropping later ones, which yarn would apply instead) or appending
// one, and reports whether the content changed.
func (c *Classic) Set(key, value string) bool {
	nl := newline(c.lines)
	k := key
	if strings.ContainsAny(key, "@:\" \t#") {
		k = quote(key)
	}
	text := k + " " + quote(value) + nl
	i := c.find(key)
	if i < 0 {
		if n := len(c.lines); n > 0 && !strings.HasSuffix(c.lines[n-1], "\n") {
			c.lines[n-1] += nl
		}
		c.lines = append(c.lines, text)
		return true
	}
	changed := false
	if v, ok := c.Get(key); !ok || v != value {
		c.lines[i] = text
		changed = true
	}
	for {
		rest := &Classic{lines: c.lines[i+1:]}
		j := rest.find(key)
		if j < 0 {
			break
		}
		c.lines = slices.Delete(c.lines, i+1+j, i+2+j)
		changed = true
	}
	return changed
}
