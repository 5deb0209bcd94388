// Package m2settings edits Maven's settings.xml (~/.m2/settings.xml) in
// place: it adds or replaces one <mirror> or <server> by its <id>, and
// leaves every other byte of the file as it was (comments, formatting,
// other mirrors, profiles).
package m2settings

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// File is a settings.xml being edited. The zero value is not usable; use
// [Parse].
type File struct {
	data []byte
}

// Mirror is a <mirror> of a settings file.
type Mirror struct {
	ID, MirrorOf, URL string
}

// Parse reads a settings file. Empty data (a missing file) is a file with
// no settings. A file that is not XML, or whose root is not <settings>,
// is an error.
func Parse(data []byte) (*File, error) {
	f := &File{data: bytes.Clone(data)}
	if len(bytes.TrimSpace(data)) == 0 {
		f.data = nil
		return f, nil
	}
	if _, err := f.scan("", ""); err != nil {
		return nil, err
	}
	return f, nil
}

// Bytes returns the file's content.
func (f *File) Bytes() []byte { return bytes.Clone(f.data) }

// UseMirror makes the file have the mirror id, of mirrorOf, at url: the
// first of its <mirrors>, so that it wins over others of the same
// repositories. It reports whether the file changed.
func (f *File) UseMirror(id, mirrorOf, url string) (bool, error) {
	return f.upsert("mirrors", "mirror", id, [][2]string{{"id", id}, {"mirrorOf", mirrorOf}, {"url", url}})
}

// SetServer makes the file have the server id with username and password,
// which Maven sends to the mirror or repository of the same id. It
// reports whether the file changed.
func (f *File) SetServer(id, username, password string) (bool, error) {
	return f.upsert("servers", "server", id, [][2]string{{"id", id}, {"username", username}, {"password", password}})
}

// Mirrors returns the file's mirrors, in order.
func (f *File) Mirrors() []Mirror {
	var doc struct {
		Mirrors []struct {
			ID       string `xml:"id"`
			MirrorOf string `xml:"mirrorOf"`
			URL      string `xml:"url"`
		} `xml:"mirrors>mirror"`
	}
	if f.data == nil || xml.Unmarshal(f.data, &doc) != nil {
		return nil
	}
	var out []Mirror
	for _, m := range doc.Mirrors {
		out = append(out, Mirror{ID: strings.TrimSpace(m.ID), MirrorOf: strings.TrimSpace(m.MirrorOf), URL: strings.TrimSpace(m.URL)})
	}
	return out
}

// layout is where things are in the file, as byte offsets.
type layout struct {
	rootStart, rootOpenEnd, rootClose int // <settings ...>, after it, </settings>
	rootSelfClosing                   bool
	listOpenEnd, listClose            int  // after <mirrors>, </mirrors>; -1 when absent
	listSelfClosing                   bool // <mirrors/>
	listStart                         int
	itemStart, itemEnd                int // the item with the id, -1 when absent
	indent                            string
}

// scan finds the root, the list element named list among its children,
// and the item of that list whose <id> is id.
func (f *File) scan(list, id string) (*layout, error) {
	l := &layout{rootStart: -1, listOpenEnd: -1, listClose: -1, listStart: -1, itemStart: -1, itemEnd: -1}
	d := xml.NewDecoder(bytes.NewReader(f.data))
	d.Strict = true
	var (
		path      []string
		itemStart int
		idText    strings.Builder
		inID      bool
		itemIsOur bool
		lastWS    string
	)
	for {
		before := int(d.InputOffset())
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("settings.xml is not well-formed XML: %w", err)
		}
		after := int(d.InputOffset())
		switch t := tok.(type) {
		case xml.StartElement:
			if len(path) == 0 {
				if l.rootStart >= 0 {
					return nil, errors.New("settings.xml has two root elements")
				}
				if t.Name.Local != "settings" || !bytes.HasPrefix(f.data[before:], []byte("<settings")) {
					return nil, fmt.Errorf("settings.xml: root element is <%s>, want <settings>", t.Name.Local)
				}
				l.rootStart, l.rootOpenEnd = before, after
			}
			path = append(path, t.Name.Local)
			switch {
			case len(path) == 2 && l.indent == "":
				l.indent = indentOf(lastWS)
				if list != "" && t.Name.Local == list && l.listStart < 0 {
					l.listStart, l.listOpenEnd = before, after
				}
			case len(path) == 2 && list != "" && t.Name.Local == list && l.listStart < 0:
				l.listStart, l.listOpenEnd = before, after
			case len(path) == 3 && before >= l.listStart && l.listStart >= 0 && l.listClose < 0 && path[1] == list:
				itemStart, itemIsOur = before, false
				idText.Reset()
			case len(path) == 4 && path[1] == list && t.Name.Local == "id":
				inID = true
			}
		case xml.EndElement:
			if len(path) == 0 {
				return nil, errors.New("settings.xml: unbalanced end tag")
			}
			switch {
			case len(path) == 4 && inID:
				inID = false
				itemIsOur = strings.TrimSpace(idText.String()) == id && id != ""
			case len(path) == 3 && path[1] == list && l.listClose < 0 && l.listStart >= 0:
				if itemIsOur && l.itemStart < 0 {
					l.itemStart, l.itemEnd = itemStart, after
				}
			case len(path) == 2 && path[1] == list && l.listStart >= 0 && l.listClose < 0:
				l.listClose = before
				l.listSelfClosing = before == l.listOpenEnd && f.data[before-2] == '/'
			case len(path) == 1:
				l.rootClose = before
				l.rootSelfClosing = before == l.rootOpenEnd && f.data[before-2] == '/'
			}
			path = path[:len(path)-1]
		case xml.CharData:
			if inID {
				idText.Write(t)
			}
			if len(bytes.TrimSpace(t)) == 0 {
				lastWS = string(t)
			} else if len(path) == 0 {
				return nil, errors.New("settings.xml has text outside its root element")
			}
		}
	}
	if l.rootStart < 0 {
		return nil, errors.New("settings.xml has no <settings> element")
	}
	if l.indent == "" {
		l.indent = "  "
	}
	return l, nil
}

// indentOf returns the indentation at the end of white space ws.
func indentOf(ws string) string {
	if i := strings.LastIndexByte(ws, '\n'); i >= 0 {
		return ws[i+1:]
	}
	return ""
}

// upsert makes the list element have an item whose <id> is id with
// fields, in that order.
func (f *File) upsert(list, item, id string, fields [][2]string) (bool, error) {
	if f.data == nil {
		f.data = []byte(xml.Header + `<settings xmlns="http://maven.apache.org/SETTINGS/1.2.0"` +
			` xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"` +
			` xsi:schemaLocation="http://maven.apache.org/SETTINGS/1.2.0 https://maven.apache.org/xsd/settings-1.2.0.xsd">` + "\n</settings>\n")
	}
	l, err := f.scan(list, id)
	if err != nil {
		return false, err
	}
	ind := l.indent
	elem := func(depth int) string {
		pad := strings.Repeat(ind, depth)
		var b strings.Builder
		b.WriteString("<" + item + ">\n")
		for _, kv := range fields {
			b.WriteString(pad + ind + "<" + kv[0] + ">" + escape(kv[1]) + "</" + kv[0] + ">\n")
		}
		b.WriteString(pad + "</" + item + ">")
		return b.String()
	}
	var out []byte
	splice := func(from, to int, s string) {
		out = append(append(append([]byte{}, f.data[:from]...), s...), f.data[to:]...)
	}
	switch {
	case l.itemStart >= 0:
		// Replace the item, at its own indentation when it starts a
		// line.
		depth := 2
		before := string(f.data[:l.itemStart])
		if i := strings.LastIndexByte(before, '\n'); i >= 0 && strings.TrimSpace(before[i+1:]) == "" && strings.Count(before[i+1:], ind) > 0 {
			depth = strings.Count(before[i+1:], ind)
		}
		splice(l.itemStart, l.itemEnd, elem(depth))
	case l.listStart >= 0 && l.listSelfClosing:
		splice(l.listStart, l.listClose, "<"+list+">\n"+ind+ind+elem(2)+"\n"+ind+"</"+list+">")
	case l.listStart >= 0:
		// First in the list.
		splice(l.listOpenEnd, l.listOpenEnd, "\n"+ind+ind+elem(2))
	case l.rootSelfClosing:
		open := strings.TrimSuffix(strings.TrimSpace(string(f.data[l.rootStart:l.rootOpenEnd-2])), "/")
		splice(l.rootStart, l.rootOpenEnd, open+">\n"+ind+"<"+list+">\n"+ind+ind+elem(2)+"\n"+ind+"</"+list+">\n</settings>")
	default:
		splice(l.rootOpenEnd, l.rootOpenEnd, "\n"+ind+"<"+list+">\n"+ind+ind+elem(2)+"\n"+ind+"</"+list+">")
	}
	if bytes.Equal(out, f.data) {
		return false, nil
	}
	f.data = out
	return true, nil
}

// escape escapes s as XML character data.
func escape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
