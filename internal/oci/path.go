package oci

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// kind is what a /v2/ request asks for.
type kind int

const (
	kindBase      kind = iota // /v2/
	kindManifest              // /v2/<name>/manifests/<reference>
	kindBlob                  // /v2/<name>/blobs/<digest>
	kindTags                  // /v2/<name>/tags/list
	kindReferrers             // /v2/<name>/referrers/<digest>
)

// request is a parsed /v2/ request.
type request struct {
	kind kind
	// registry is the normalised registry host ("docker.io", "ghcr.io").
	registry string
	// repo is the repository inside the registry, normalised as Docker
	// does ("library/alpine").
	repo string
	// tag or digest: one is set for manifests; digest for blobs and
	// referrers.
	tag    string
	digest digest
}

// Grammar of the distribution spec (and of distribution's reference
// package) for names and tags.
var (
	componentRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$`)
	tagRE       = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	hostRE      = regexp.MustCompile(`^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*(?::[0-9]{1,5})?$`)
)

// maxNameLen bounds a repository name with its registry, as Docker does.
const maxNameLen = 255

// DockerHub is the registry host of Docker Hub, as names say it.
const DockerHub = "docker.io"

// NormalizeRegistry returns the canonical name of a registry host:
// lower-cased, and "docker.io" for Docker Hub's other names.
func NormalizeRegistry(host string) string {
	host = strings.ToLower(host)
	switch host {
	case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return DockerHub
	}
	return host
}

// isRegistryHost reports whether the first element of a name is a
// registry host rather than a repository component: Docker's rule, it has
// a dot or a colon, or is "localhost".
func isRegistryHost(elem string) bool {
	return strings.ContainsAny(elem, ".:") || elem == "localhost"
}

// checkHost validates a registry host, with an optional port.
func checkHost(h string) *Error {
	if len(h) > maxNameLen || !hostRE.MatchString(h) {
		return errorf(http.StatusBadRequest, CodeNameInvalid, "invalid registry host "+quote(h))
	}
	return nil
}

// parseRequest parses the path and query of a /v2/ request. defaultRegistry
// is the registry of names that do not say one.
func parseRequest(u *url.URL, defaultRegistry string) (*request, *Error) {
	p := u.EscapedPath()
	if p == "/v2" || p == "/v2/" {
		return &request{kind: kindBase}, nil
	}
	rest, ok := strings.CutPrefix(p, "/v2/")
	if !ok {
		return nil, errorf(http.StatusNotFound, CodeNameUnknown, "not a registry API path")
	}
	if strings.Contains(rest, "%") {
		// Nothing in the grammar needs escaping; an escape is an attempt
		// to smuggle a slash or a dot-dot past the parser.
		return nil, errorf(http.StatusBadRequest, CodeNameInvalid, "escaped characters in the path")
	}
	elems := strings.Split(rest, "/")
	r := &request{}
	var ref string
	switch n := len(elems); {
	case n >= 3 && elems[n-2] == "tags" && elems[n-1] == "list":
		r.kind = kindTags
		elems = elems[:n-2]
	case n >= 3 && elems[n-2] == "manifests":
		r.kind, ref = kindManifest, elems[n-1]
		elems = elems[:n-2]
	case n >= 3 && elems[n-2] == "blobs":
		r.kind, ref = kindBlob, elems[n-1]
		elems = elems[:n-2]
	case n >= 3 && elems[n-2] == "referrers":
		r.kind, ref = kindReferrers, elems[n-1]
		elems = elems[:n-2]
	case n == 1 && elems[0] == "_catalog":
		return nil, errorf(http.StatusNotFound, CodeUnsupported, "a pull-through mirror does not list its repositories")
	default:
		return nil, errorf(http.StatusNotFound, CodeNameUnknown, "not a registry API path: want /v2/<name>/manifests/<reference>, blobs/<digest>, tags/list or referrers/<digest>")
	}
	// The registry: ?ns= (containerd), a host as the first element (podman
	// and people), or the default.
	q := u.Query()
	switch ns := q.Get("ns"); {
	case ns != "":
		if err := checkHost(ns); err != nil {
			return nil, err
		}
		r.registry = NormalizeRegistry(ns)
	case len(elems) > 1 && isRegistryHost(elems[0]):
		if err := checkHost(elems[0]); err != nil {
			return nil, err
		}
		r.registry = NormalizeRegistry(elems[0])
		elems = elems[1:]
	default:
		r.registry = defaultRegistry
	}
	for _, e := range elems {
		if !componentRE.MatchString(e) {
			return nil, errorf(http.StatusBadRequest, CodeNameInvalid, "invalid repository name component "+quote(e)+": want lower-case letters and digits, separated by '.', '_', '__' or '-'")
		}
	}
	if r.registry == DockerHub && len(elems) == 1 {
		elems = []string{"library", elems[0]}
	}
	r.repo = strings.Join(elems, "/")
	if len(r.registry)+1+len(r.repo) > maxNameLen {
		return nil, errorf(http.StatusBadRequest, CodeNameInvalid, "repository name longer than 255 characters")
	}
	switch r.kind {
	case kindManifest:
		if strings.Contains(ref, ":") {
			d, err := parseDigest(ref)
			if err != nil {
				return nil, err
			}
			r.digest = d
		} else {
			if !tagRE.MatchString(ref) {
				return nil, errorf(http.StatusBadRequest, CodeTagInvalid, "invalid tag "+quote(ref)+": want up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'")
			}
			r.tag = ref
		}
	case kindBlob, kindReferrers:
		d, err := parseDigest(ref)
		if err != nil {
			return nil, err
		}
		r.digest = d
	}
	return r, nil
}

// quote quotes s for an error message, cut short when long.
func quote(s string) string {
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return `"` + strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '"' {
			return '?'
		}
		return r
	}, s) + `"`
}

// name returns "registry/repo" for messages.
func (r *request) name() string { return r.registry + "/" + r.repo }
