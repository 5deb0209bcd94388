package pypi

import (
	"fmt"
	"strings"
)

// maxNameLen bounds a project name. PyPI's longest names are far shorter.
const maxNameLen = 200

// Normalize returns name in the normal form of PEP 503: lower case, with
// each run of "-", "_" and "." replaced by one "-". It does not check that
// name is valid; see [CheckName].
func Normalize(name string) string {
	var b strings.Builder
	b.Grow(len(name))
	sep := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '-' || c == '_' || c == '.':
			sep = true
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		if sep {
			b.WriteByte('-')
			sep = false
		}
		b.WriteByte(c)
	}
	if sep {
		b.WriteByte('-')
	}
	return b.String()
}

// CheckName reports whether name is a valid project name (PEP 508: ASCII
// letters and digits, with "-", "_" and "." inside, at most 200 bytes). The
// error says what is wrong.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("empty project name")
	case len(name) > maxNameLen:
		return fmt.Errorf("project name longer than %d bytes", maxNameLen)
	case !alnum(name[0]) || !alnum(name[len(name)-1]):
		return fmt.Errorf("invalid project name %q: must start and end with a letter or digit", name)
	}
	for i := 0; i < len(name); i++ {
		if c := name[i]; !alnum(c) && c != '-' && c != '_' && c != '.' {
			return fmt.Errorf("invalid project name %q: only letters, digits, '-', '_' and '.' are allowed", name)
		}
	}
	return nil
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
