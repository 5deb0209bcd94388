// Package textlines holds a configuration file as lines, for the editors
// of files that gomirror changes line by line and must give back byte for
// byte: the line ending the file uses, and whether it ended in one, are
// kept.
package textlines

import (
	"bytes"
	"strings"
)

// Text is a file split into lines. Its zero value is an empty file.
type Text struct {
	// Lines are the file's lines, without their line ending.
	Lines []string
	// Final reports whether the file ended in a line ending.
	Final bool
	// EOL is "\n", or "\r\n" when the file uses that.
	EOL string
}

// Split splits data into lines.
func Split(data []byte) Text {
	s := string(data)
	t := Text{EOL: "\n"}
	if strings.Contains(s, "\r\n") {
		t.EOL = "\r\n"
		s = strings.ReplaceAll(s, "\r\n", "\n")
	}
	t.Final = s == "" || strings.HasSuffix(s, "\n")
	if s != "" {
		t.Lines = strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	}
	return t
}

// Bytes joins the lines again, with the file's line ending.
func (t Text) Bytes() []byte {
	eol := t.EOL
	if eol == "" {
		eol = "\n"
	}
	var b bytes.Buffer
	for i, l := range t.Lines {
		b.WriteString(l)
		if i < len(t.Lines)-1 || t.Final {
			b.WriteString(eol)
		}
	}
	return b.Bytes()
}
