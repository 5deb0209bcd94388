// Package verify checks the files of a module version that gomirror is
// about to store or serve: their structure (what the go command would refuse
// to use) and their hashes against the ones the checksum database holds.
//
// The checks are pure: they read only what they are given and never reach
// the network. Looking the hashes up is the job of package sumdb.
package verify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/sumdb/dirhash"
)

// ErrInvalid is wrapped by every error that reports a file the go command
// would refuse whatever its hash: a malformed zip, a go.mod that declares
// another module, an .info file for another version.
var ErrInvalid = errors.New("invalid module file")

// MismatchError reports a file whose hash differs from the one the checksum
// database holds for it.
type MismatchError struct {
	// Module is the module version the file belongs to.
	Module module.Version
	// File is "zip" or "go.mod".
	File string
	// Want is the hash in the checksum database, Got the hash of the file.
	Want, Got string
}

// Error says which file of which module version did not match, with both
// hashes, in the words a go command user reads as a client of gomirror.
func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s: %s checksum mismatch: checksum database has %s, upstream sent %s",
		e.Module, e.File, e.Want, e.Got)
}

// invalid returns an error naming m that wraps ErrInvalid.
func invalid(m module.Version, format string, args ...any) error {
	return &module.ModuleError{
		Path:    printable(m.Path),
		Version: printable(m.Version),
		Err:     fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...)),
	}
}

// printable quotes s when it has characters that would break a one-line
// message.
func printable(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }) {
		return strconv.Quote(clip(s))
	}
	return s
}

// Mod checks the go.mod file data of m: it parses as a dependency's go.mod
// (leniently, as the go command reads one) and its module directive names
// m.Path. It returns the "h1:" hash the go command records for a go.mod
// (the "/go.mod" line of go.sum). When want is not empty and the hash
// differs, the error is a *MismatchError. Structural failures wrap ErrInvalid.
func Mod(m module.Version, data []byte, want string) (got string, err error) {
	f, err := modfile.ParseLax("go.mod", data, nil)
	if err != nil {
		return "", invalid(m, "go.mod: %s", firstLine(err.Error()))
	}
	if f.Module == nil || f.Module.Mod.Path == "" {
		return "", invalid(m, "go.mod has no module directive")
	}
	if f.Module.Mod.Path != m.Path {
		return "", invalid(m, "go.mod declares module %q", clip(f.Module.Mod.Path))
	}
	got, err = ModHash(data)
	if err != nil {
		return "", fmt.Errorf("hashing %s go.mod: %w", m, err)
	}
	if want != "" && got != want {
		return got, &MismatchError{Module: m, File: "go.mod", Want: want, Got: got}
	}
	return got, nil
}

// ModHash returns the "h1:" hash of a go.mod file's content, computed as
// the go command does: dirhash.Hash1 over the single file "go.mod".
func ModHash(data []byte) (string, error) {
	return dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
}

// info is the JSON object of an .info file (the go command's RevInfo).
type info struct {
	Version string
	Time    time.Time
}

// Info checks the .info file data of m: a JSON object whose Version is a
// canonical semantic version and, when m.Version is itself canonical (not a
// query such as "master"), equals m.Version. The error wraps ErrInvalid.
func Info(m module.Version, data []byte) error {
	var in info
	if err := json.Unmarshal(data, &in); err != nil {
		return invalid(m, "info: %s", firstLine(err.Error()))
	}
	if in.Version == "" {
		return invalid(m, "info has no Version")
	}
	if !semver.IsValid(in.Version) || module.CanonicalVersion(in.Version) != in.Version {
		return invalid(m, "info has non-canonical version %q", clip(in.Version))
	}
	if m.Version == module.CanonicalVersion(m.Version) && module.Check(m.Path, m.Version) == nil &&
		in.Version != m.Version {
		return invalid(m, "info is for version %q", clip(in.Version))
	}
	return nil
}

// firstLine keeps the first line of s, so that a reason stays one line.
func firstLine(s string) string {
	if line, _, more := strings.Cut(s, "\n"); more {
		return line + " (and more)"
	}
	return s
}

// clip shortens an untrusted string quoted in an error.
func clip(s string) string {
	const max = 100
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// File checks the module file at path for m, choosing the check by ext:
// ".zip" with Zip against zipHash, ".mod" with Mod against modHash, ".info"
// with Info. An empty hash skips the hash comparison. Errors are those of
// Zip, Mod and Info, or of reading path.
func File(m module.Version, ext, path, zipHash, modHash string) error {
	if ext == ".zip" {
		_, err := Zip(m, path, zipHash)
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("verifying %s%s: %w", m, ext, err)
	}
	switch ext {
	case ".mod":
		_, err = Mod(m, data, modHash)
	case ".info":
		err = Info(m, data)
	default:
		err = invalid(m, "unknown module file %q", ext)
	}
	return err
}
