package sdk

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestProgressBarFitsEightyColumns(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, true, "golang.org/toolchain@v0.0.1-go1.22.0.linux-amd64.zip", 1500<<20)
	p.n = 1499 << 20
	p.draw()
	p.total = -1
	p.draw()
	for _, line := range strings.Split(buf.String(), "\r\033[K")[1:] {
		if n := utf8.RuneCountInString(line); n > 80 {
			t.Errorf("bar line %q is %d columns, want at most 80", line, n)
		}
		if !strings.HasPrefix(line, "…") || !strings.Contains(line, "linux-amd64.zip") {
			t.Errorf("bar line %q: want the end of a long name, after an ellipsis", line)
		}
	}
}

func TestProgressPlainLines(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, false, "go1.22.0.linux-amd64.tar.gz", 400)
	for range 4 {
		p.Write(make([]byte, 100))
	}
	p.done(true)
	want := `downloading go1.22.0.linux-amd64.tar.gz (400 B)
downloading go1.22.0.linux-amd64.tar.gz: 25% (100 B of 400 B)
downloading go1.22.0.linux-amd64.tar.gz: 50% (200 B of 400 B)
downloading go1.22.0.linux-amd64.tar.gz: 75% (300 B of 400 B)
downloaded go1.22.0.linux-amd64.tar.gz (400 B)
`
	if buf.String() != want {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), want)
	}
}
