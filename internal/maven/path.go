package maven

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gomirror/gomirror/internal/pull"
)

// Prefix is the URL path under which the mirror serves the repository.
const Prefix = "/maven2/"

// Ecosystem labels the mirror's metrics, routes and access rules.
const Ecosystem = "maven"

// metadataFile is the name of the repository's metadata documents.
const metadataFile = "maven-metadata.xml"

// Limits on a request path.
const (
	maxPathLen = 1024
	maxSegLen  = 255
	maxSegs    = 64
)

// kind says what a request path names.
type kind int

const (
	kindFile     kind = iota // an artifact: a jar, a pom, a signature...
	kindMetadata             // a maven-metadata.xml
	kindChecksum             // a checksum file of an artifact or of metadata
)

// request is a parsed request path.
type request struct {
	kind kind
	// path is the file's path in the repository, without the prefix:
	// "org/slf4j/slf4j-api/2.0.9/slf4j-api-2.0.9.jar". For a checksum
	// file it is the path of the file it sums.
	path string
	// dirs are path's directories: the group's elements, the artifact,
	// and the version for files and version-level metadata.
	dirs []string
	// algorithm is the checksum file's algorithm: "md5", "sha1",
	// "sha256" or "sha512".
	algorithm string
}

// checksumExts are the checksum files a repository holds next to each
// file, by extension.
var checksumExts = []struct{ ext, algorithm string }{
	{".sha512", "sha512"},
	{".sha256", "sha256"},
	{".sha1", "sha1"},
	{".md5", "md5"},
}

// errBadPath marks a request path that is not in the repository layout.
var errBadPath = fmt.Errorf("%w: not a Maven repository path", pull.ErrBadRequest)

// parsePath parses the escaped URL path of a request under [Prefix]. Every
// segment must be made of letters, digits and "._-+~", must not start
// with a dot, and must not be empty; percent escapes are refused, so that
// one file has one spelling. A file's name must start with its artifactId
// and version (the timestamped version for a SNAPSHOT), as the layout
// puts them: group/artifact/version/artifact-version[-classifier].ext.
func parsePath(escaped string) (*request, error) {
	rest, ok := strings.CutPrefix(escaped, Prefix)
	if !ok {
		return nil, errBadPath
	}
	if len(rest) > maxPathLen {
		return nil, fmt.Errorf("%w: path longer than %d bytes", pull.ErrBadRequest, maxPathLen)
	}
	if rest == "" || strings.HasSuffix(rest, "/") {
		return nil, fmt.Errorf("%w: directory listings are not served; ask for a file", pull.ErrBadRequest)
	}
	segs := strings.Split(rest, "/")
	if len(segs) > maxSegs {
		return nil, fmt.Errorf("%w: more than %d path segments", pull.ErrBadRequest, maxSegs)
	}
	for _, s := range segs {
		if err := checkSegment(s); err != nil {
			return nil, err
		}
	}
	file, dirs := segs[len(segs)-1], segs[:len(segs)-1]
	req := &request{kind: kindFile, path: rest, dirs: dirs}
	for _, c := range checksumExts {
		if base, ok := strings.CutSuffix(file, c.ext); ok {
			for _, c2 := range checksumExts {
				if strings.HasSuffix(base, c2.ext) {
					return nil, fmt.Errorf("%w: %s is a checksum of a checksum file, which the mirror does not serve", pull.ErrBadRequest, file)
				}
			}
			req.kind, req.algorithm, file = kindChecksum, c.algorithm, base
			req.path = strings.TrimSuffix(rest, c.ext)
			break
		}
	}
	if file == metadataFile {
		if len(dirs) < 1 {
			return nil, fmt.Errorf("%w: %s must be in a group, artifact or version directory", pull.ErrBadRequest, metadataFile)
		}
		if req.kind == kindFile {
			req.kind = kindMetadata
		}
		return req, nil
	}
	if strings.HasPrefix(file, "maven-metadata") {
		return nil, fmt.Errorf("%w: %s: only %s is served", pull.ErrBadRequest, file, metadataFile)
	}
	// group.../artifact/version/file
	if len(dirs) < 3 {
		return nil, fmt.Errorf("%w: %s: want group/artifact/version/file", pull.ErrBadRequest, rest)
	}
	artifact, version := dirs[len(dirs)-2], dirs[len(dirs)-1]
	if !fileMatches(file, artifact, version) {
		return nil, fmt.Errorf("%w: %s does not start with %s-%s", pull.ErrBadRequest, file, artifact, version)
	}
	return req, nil
}

// fileMatches reports whether file is named as the layout names the files
// of artifact at version: artifact-version, followed by a classifier or
// an extension; for a SNAPSHOT, artifact-base-timestamp-build too.
func fileMatches(file, artifact, version string) bool {
	rest, ok := strings.CutPrefix(file, artifact+"-")
	if !ok {
		return false
	}
	if after, ok := strings.CutPrefix(rest, version); ok && (strings.HasPrefix(after, "-") || strings.HasPrefix(after, ".")) {
		return true
	}
	if base, ok := strings.CutSuffix(version, "SNAPSHOT"); ok {
		after, ok := strings.CutPrefix(rest, base)
		return ok && after != "" && after[0] >= '0' && after[0] <= '9'
	}
	return false
}

// checkSegment checks one segment of a request path.
func checkSegment(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty path segment", pull.ErrBadRequest)
	case s[0] == '.':
		return fmt.Errorf("%w: path segment %q starts with a dot", pull.ErrBadRequest, trunc(s))
	case len(s) > maxSegLen:
		return fmt.Errorf("%w: path segment longer than %d bytes", pull.ErrBadRequest, maxSegLen)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("._-+~", c) >= 0 {
			continue
		}
		if c == '%' {
			return fmt.Errorf("%w: percent escapes are not allowed in Maven paths", pull.ErrBadRequest)
		}
		return fmt.Errorf("%w: path segment %q has a character outside letters, digits and ._-+~", pull.ErrBadRequest, trunc(s))
	}
	return nil
}

// trunc shortens s for an error message.
func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// Subject returns what a request under [Prefix] names for access rules:
// "groupId/artifactId" ("org.slf4j/slf4j-api"), from its escaped URL path,
// as the handler reads it. The group's metadata (plugin prefixes, as in
// org/apache/maven/plugins/maven-metadata.xml) reads as its parent group
// and last element, the layout not telling a group from an artifact
// there; [Handler.PrivateSubject] reads every such name conservatively. ok is
// false for a path the handler refuses.
func Subject(r *http.Request) (name string, ok bool) { return subjectOf(r.URL.EscapedPath()) }

// subjectOf is [Subject] of an escaped URL path.
func subjectOf(escaped string) (name string, ok bool) {
	req, err := parsePath(escaped)
	if err != nil {
		return "", false
	}
	group, artifact := req.coordinates()
	return group + "/" + artifact, true
}

// coordinates returns the groupId and artifactId that r names.
func (r *request) coordinates() (group, artifact string) {
	dirs := r.dirs
	if r.isMetadata() {
		// artifact-level: group/artifact; version-level: a SNAPSHOT
		// directory below it.
		if n := len(dirs); n >= 3 && strings.HasSuffix(dirs[n-1], "-SNAPSHOT") {
			dirs = dirs[:n-1]
		}
		if len(dirs) == 1 {
			return dirs[0], ""
		}
		return strings.Join(dirs[:len(dirs)-1], "."), dirs[len(dirs)-1]
	}
	n := len(dirs)
	return strings.Join(dirs[:n-2], "."), dirs[n-2]
}

// isMetadata reports whether r names metadata or a checksum of it.
func (r *request) isMetadata() bool {
	return strings.HasSuffix(r.path, "/"+metadataFile) || r.path == metadataFile
}
