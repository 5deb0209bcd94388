package vulndb

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"golang.org/x/mod/semver"
)

// Entry is the part of an OSV entry of the Go vulnerability database that
// gomirror reads. The database serves an entry's own bytes, so fields not
// named here are kept, not lost.
type Entry struct {
	ID        string     `json:"id"`
	Modified  time.Time  `json:"modified"`
	Withdrawn *time.Time `json:"withdrawn,omitempty"`
	Aliases   []string   `json:"aliases,omitempty"`
	Summary   string     `json:"summary,omitempty"`
	Affected  []Affected `json:"affected"`
}

// Affected names a module and the versions of it an entry affects.
type Affected struct {
	Module Module  `json:"package"`
	Ranges []Range `json:"ranges,omitempty"`
}

// Module is an OSV "package": a Go module path ("stdlib" for the standard
// library, "toolchain" for the go command) and the ecosystem "Go".
type Module struct {
	Path      string `json:"name"`
	Ecosystem string `json:"ecosystem"`
}

// RangeTypeSemver is the only range type the Go database gives versions in.
const RangeTypeSemver = "SEMVER"

// Range is a list of events that open (introduced) and close (fixed)
// intervals of affected versions. Versions have no "v" prefix, and the
// introduced version "0" stands before every version.
type Range struct {
	Type   string  `json:"type"`
	Events []Event `json:"events"`
}

// Event is one end of an interval: exactly one of Introduced and Fixed is
// set.
type Event struct {
	Introduced string `json:"introduced,omitempty"`
	Fixed      string `json:"fixed,omitempty"`
}

// MaxEntrySize bounds the size of one OSV file; the largest in the Go
// database is a few hundred kilobytes.
const MaxEntrySize = 4 << 20

var idRE = regexp.MustCompile(`^GO-[0-9]{4}-[0-9]{4,8}$`)

// ParseEntry parses and checks one OSV entry: a JSON object with an ID of
// the form GO-YYYY-NNNN, RFC 3339 times, affected modules with a path and
// SEMVER ranges whose versions are valid. Its error names what is wrong.
func ParseEntry(data []byte) (*Entry, error) {
	if len(data) > MaxEntrySize {
		return nil, fmt.Errorf("OSV entry: larger than %d bytes", MaxEntrySize)
	}
	var e Entry
	if err := json.Unmarshal(data, &e); err != nil {
		return nil, fmt.Errorf("OSV entry: %w", err)
	}
	if err := e.check(); err != nil {
		return nil, fmt.Errorf("OSV entry %s: %w", e.ID, err)
	}
	return &e, nil
}

func (e *Entry) check() error {
	if !idRE.MatchString(e.ID) {
		return fmt.Errorf("id %q is not of the form GO-YYYY-NNNN", e.ID)
	}
	for _, a := range e.Affected {
		if a.Module.Path == "" {
			return fmt.Errorf("affected module has no name")
		}
		for _, r := range a.Ranges {
			if r.Type != RangeTypeSemver {
				continue
			}
			for _, ev := range r.Events {
				switch {
				case (ev.Introduced == "") == (ev.Fixed == ""):
					return fmt.Errorf("%s: range event must give exactly one of introduced and fixed", a.Module.Path)
				case ev.Introduced == "0":
				case ev.Introduced != "" && !validOSVVersion(ev.Introduced):
					return fmt.Errorf("%s: introduced version %q is not valid semver", a.Module.Path, ev.Introduced)
				case ev.Fixed != "" && !validOSVVersion(ev.Fixed):
					return fmt.Errorf("%s: fixed version %q is not valid semver", a.Module.Path, ev.Fixed)
				}
			}
		}
	}
	return nil
}

// goVersion turns a version of the database, "1.2.3", into the go
// command's form, "v1.2.3". It accepts "v1.2.3" and "go1.2.3" too, as
// govulncheck does.
func goVersion(v string) string {
	v = strings.TrimPrefix(v, "v")
	v = strings.TrimPrefix(v, "go")
	return "v" + v
}

func validOSVVersion(v string) bool {
	return semver.IsValid(goVersion(v))
}
