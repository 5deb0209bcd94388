package switcher

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/gomirror/gomirror/internal/client/m2settings"
)

// mavenMirrorID is the id of the <mirror> (and the <server> that holds
// its credentials) that gomirror writes into settings.xml.
const mavenMirrorID = "gomirror"

// mavenDefaultFile is Maven's user settings, ~/.m2/settings.xml.
func mavenDefaultFile(getenv func(string) string) (string, error) {
	home, err := homeDir(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".m2", "settings.xml"), nil
}

// MavenRepositoryURL returns the Maven repository of a gomirror station
// at mirror: its /maven2/, unless mirror already names a repository
// ending in /maven2.
func MavenRepositoryURL(mirror string) string {
	if strings.HasSuffix(mirror, "/maven2") || strings.HasSuffix(mirror, "/maven2/") {
		return strings.TrimSuffix(mirror, "/") + "/"
	}
	return strings.TrimRight(mirror, "/") + "/maven2/"
}

// useMaven makes the settings.xml old send Maven Central's requests (all
// repositories' when mirrorOf is "*") to the mirror. It returns nil when
// nothing changes, and notes for the user.
func useMaven(old []byte, opts UseOptions, mirrorOf string) (updated []byte, notes []string, err error) {
	if mirrorOf == "" {
		mirrorOf = "central"
	}
	if mirrorOf != "central" && mirrorOf != "*" {
		return nil, nil, fmt.Errorf("--mirror-of: %q is not central or *", mirrorOf)
	}
	f, err := m2settings.Parse(old)
	if err != nil {
		return nil, nil, err
	}
	repo := MavenRepositoryURL(opts.Mirror)
	changed, err := f.UseMirror(mavenMirrorID, mirrorOf, repo)
	if err != nil {
		return nil, nil, err
	}
	if opts.Token != "" {
		c, err := f.SetServer(mavenMirrorID, opts.user(), opts.Token)
		if err != nil {
			return nil, nil, err
		}
		changed = changed || c
	}
	if changed {
		updated = f.Bytes()
	}
	for _, m := range f.Mirrors() {
		if m.ID != mavenMirrorID && mirrorOf == "*" && mirrorCovers(m.MirrorOf, "central") {
			notes = append(notes, fmt.Sprintf("note: the mirror %q (mirrorOf %s) names central itself, and Maven prefers it for Maven Central", m.ID, m.MirrorOf))
		}
	}
	return updated, notes, nil
}

// mirrorCovers reports whether a mirrorOf list names repository id itself.
func mirrorCovers(mirrorOf, id string) bool {
	for p := range strings.SplitSeq(mirrorOf, ",") {
		if strings.TrimSpace(p) == id {
			return true
		}
	}
	return false
}
