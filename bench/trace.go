package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// entry is one request of a trace: the URL path a client asked for, and
// the answer it got.
type entry struct {
	Path   string // escaped URL path, starting with "/"
	Status int
	Size   int64
	SHA256 string // hex; empty unless Status is 200
}

// trace is an ordered list of requests, as the go command made them.
type trace []entry

// after returns, for each request of t, the index of the request it must
// wait for, or -1: the previous request for a file of the same module
// version. The go command asks for a version's files one after another, in
// one goroutine: `go mod download` reads its .info, then its .mod, then its
// .zip (modcmd.DownloadModule), and loading the module graph stats a
// version before it reads its go.mod. So a replay never asks for a
// version's .mod before its .info was answered, as the go command never
// does; requests for different versions go out as soon as a client is
// free.
func (t trace) after() []int {
	prev := make(map[string]int)
	after := make([]int, len(t))
	for i, e := range t {
		after[i] = -1
		v, ok := versionOf(e.Path)
		if !ok {
			continue
		}
		if j, seen := prev[v]; seen {
			after[i] = j
		}
		prev[v] = i
	}
	return after
}

// versionOf returns the module version a request's path names ("/m/@v/v1.info"
// → "/m/@v/v1"), or false for a path that names none (a list, @latest).
func versionOf(path string) (string, bool) {
	for _, ext := range []string{".info", ".mod", ".zip"} {
		if v, ok := strings.CutSuffix(path, ext); ok && strings.Contains(v, "/@v/") {
			return v, true
		}
	}
	return "", false
}

// totalBytes returns the bytes of every 200 answer in t.
func (t trace) totalBytes() int64 {
	var n int64
	for _, e := range t {
		n += e.Size
	}
	return n
}

// readTrace reads a trace file: one request a line, "status size sha256
// path", with # comments.
func readTrace(file string) (trace, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var t trace
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		f := strings.Fields(text)
		if len(f) != 4 {
			return nil, fmt.Errorf("%s:%d: want 4 fields, got %d", file, line, len(f))
		}
		status, err1 := strconv.Atoi(f[0])
		size, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil || !strings.HasPrefix(f[3], "/") {
			return nil, fmt.Errorf("%s:%d: malformed line", file, line)
		}
		sum := f[2]
		if sum == "-" {
			sum = ""
		}
		t = append(t, entry{Path: f[3], Status: status, Size: size, SHA256: sum})
	}
	return t, sc.Err()
}

// writeTrace writes t in the format readTrace reads.
func writeTrace(file string, t trace, comment string) error {
	var b strings.Builder
	for line := range strings.SplitSeq(comment, "\n") {
		b.WriteString("# " + line + "\n")
	}
	for _, e := range t {
		sum := e.SHA256
		if sum == "" {
			sum = "-"
		}
		fmt.Fprintf(&b, "%d %d %s %s\n", e.Status, e.Size, sum, e.Path)
	}
	return os.WriteFile(file, []byte(b.String()), 0o644)
}

// hashReader returns the size and hex SHA-256 of everything r yields.
func hashReader(r io.Reader) (int64, string, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return n, hex.EncodeToString(h.Sum(nil)), err
}
