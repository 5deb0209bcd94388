// Package netrc edits a .netrc file, the file the go command (and curl,
// git and pip) read credentials from, one machine entry at a time, keeping
// every other byte.
package netrc

import (
	"errors"
	"strings"
	"unicode"
)

// token is one whitespace-separated word of a .netrc file and where it
// starts.
type token struct {
	text  string
	start int
}

func tokens(s string) []token {
	var out []token
	i := 0
	for i < len(s) {
		for i < len(s) && unicode.IsSpace(rune(s[i])) {
			i++
		}
		if i < len(s) && s[i] == '#' {
			for i < len(s) && s[i] != '\n' {
				i++
			}
			continue
		}
		start := i
		for i < len(s) && !unicode.IsSpace(rune(s[i])) {
			i++
		}
		if i > start {
			out = append(out, token{s[start:i], start})
		}
	}
	return out
}

// entryEnd is where an entry that starts at token i ends: at the next
// machine, default or macdef token, or the end.
func entryEnd(s string, toks []token, i int) int {
	for j := i + 1; j < len(toks); j++ {
		switch toks[j].text {
		case "machine", "default", "macdef":
			return toks[j].start
		}
	}
	return len(s)
}

// Line returns the entry Set writes: "machine M login L password P".
func Line(machine, login, password string) string {
	return "machine " + machine + " login " + login + " password " + password + "\n"
}

// Set returns data with the entry for machine replaced by one with login
// and password, or that entry added before any default entry (the go
// command stops reading at it) or at the end. It reports whether data
// changed. The machine of the go command is the host of a URL with its
// port, if it has one ("mirror.example:8443"). Words with spaces cannot be
// written.
func Set(data []byte, machine, login, password string) ([]byte, bool, error) {
	for _, w := range []string{machine, login, password} {
		if w == "" || strings.IndexFunc(w, unicode.IsSpace) >= 0 || strings.HasPrefix(w, "#") {
			return nil, false, errors.New("netrc: machine, login and password must be single words")
		}
	}
	s := string(data)
	line := Line(machine, login, password)
	toks := tokens(s)
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].text == "machine" && toks[i+1].text == machine {
			start, end := toks[i].start, entryEnd(s, toks, i)
			// Keep what separated the entry from the next one.
			old := s[start:end]
			trail := old[len(strings.TrimRightFunc(old, unicode.IsSpace)):]
			repl := strings.TrimSuffix(line, "\n")
			if !strings.Contains(trail, "\n") {
				trail = "\n" + trail
			}
			out := s[:start] + repl + trail + s[end:]
			return []byte(out), out != s, nil
		}
	}
	for _, t := range toks {
		if t.text == "default" {
			out := s[:t.start] + line + s[t.start:]
			return []byte(out), true, nil
		}
	}
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return []byte(s + line), true, nil
}

// Get returns the login and password of machine's entry, if any.
func Get(data []byte, machine string) (login, password string, ok bool) {
	s := string(data)
	toks := tokens(s)
	for i := 0; i+1 < len(toks); i++ {
		if toks[i].text != "machine" || toks[i+1].text != machine {
			continue
		}
		for j := i + 2; j+1 < len(toks); j++ {
			switch toks[j].text {
			case "machine", "default", "macdef":
				return login, password, login != "" || password != ""
			case "login":
				login = toks[j+1].text
				j++
			case "password":
				password = toks[j+1].text
				j++
			}
		}
		return login, password, login != "" || password != ""
	}
	return "", "", false
}
