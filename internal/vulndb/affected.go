package vulndb

import (
	"slices"

	"golang.org/x/mod/semver"
)

// Finding is an entry of the database that affects a module version.
type Finding struct {
	ID      string   // GO-YYYY-NNNN
	Aliases []string // CVE and GHSA IDs of the same vulnerability
	Summary string
	// Fixed is the first version, with a "v" prefix as the go command
	// writes it, that fixes the entry for the affected version; "" when no
	// version does.
	Fixed string
}

// Affected returns the entries that affect version of the module at
// modulePath ("stdlib" for the standard library), in ID order. version is a
// semantic version with the go command's "v" prefix ("v0.3.5"); an invalid
// one is affected by no entry. Withdrawn entries affect nothing. Affected on
// a nil *DB returns nil. It is safe for concurrent use.
func (db *DB) Affected(modulePath, version string) []Finding {
	if db == nil || !semver.IsValid(version) {
		return nil
	}
	var found []Finding
	for _, e := range db.byModule[modulePath] {
		if e.Withdrawn != nil {
			continue
		}
		for _, a := range e.Affected {
			if a.Module.Path != modulePath {
				continue
			}
			if ok, fixed := affects(a.Ranges, version); ok {
				found = append(found, Finding{ID: e.ID, Aliases: slices.Clone(e.Aliases), Summary: e.Summary, Fixed: fixed})
				break
			}
		}
	}
	return found
}

// affects reports whether ranges include v, as govulncheck decides it: no
// ranges, or no SEMVER range, means every version. fixed is the version
// that ends the interval v is in, if one does.
func affects(ranges []Range, v string) (ok bool, fixed string) {
	semverRange := false
	for _, r := range ranges {
		if r.Type != RangeTypeSemver {
			continue
		}
		semverRange = true
		if ok, fixed := inRange(r, v); ok {
			return true, fixed
		}
	}
	return !semverRange, ""
}

func inRange(r Range, v string) (ok bool, fixed string) {
	if len(r.Events) == 0 {
		return true, ""
	}
	events := slices.Clone(r.Events)
	slices.SortStableFunc(events, func(a, b Event) int {
		az, bz := a.Introduced == "0", b.Introduced == "0"
		switch {
		case az && bz:
			return 0
		case az:
			return -1
		case bz:
			return 1
		}
		return semver.Compare(eventVersion(a), eventVersion(b))
	})
	affected := false
	for _, e := range events {
		switch {
		case !affected && e.Introduced != "":
			affected = e.Introduced == "0" || semver.Compare(v, goVersion(e.Introduced)) >= 0
		case affected && e.Fixed != "":
			if semver.Compare(v, goVersion(e.Fixed)) < 0 {
				return true, goVersion(e.Fixed)
			}
			affected = false
		}
	}
	return affected, ""
}

func eventVersion(e Event) string {
	if e.Fixed != "" {
		return goVersion(e.Fixed)
	}
	return goVersion(e.Introduced)
}

// latestFixed is the index's "fixed" of ranges: the latest fixed version
// when no introduction follows it, with no "v" prefix; "" otherwise. It is
// what govulncheck compares a version with before it reads an entry.
func latestFixed(ranges []Range) string {
	latest := ""
	for _, r := range ranges {
		if r.Type != RangeTypeSemver {
			continue
		}
		for _, e := range r.Events {
			if e.Fixed != "" && (latest == "" || semver.Compare(goVersion(latest), goVersion(e.Fixed)) < 0) {
				latest = e.Fixed
			}
		}
		for _, e := range r.Events {
			if e.Introduced != "" && e.Introduced != "0" && semver.Compare(goVersion(latest), goVersion(e.Introduced)) < 0 {
				latest = ""
				break
			}
		}
	}
	return latest
}
