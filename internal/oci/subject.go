package oci

import (
	"net/http"
)

// Subject returns the repository that a /v2/ request names, with its
// registry ("docker.io/library/alpine"), for access control, read by the
// handler's own parser: the registry from ?ns=, else from a first
// element that is a host, else defaultRegistry (empty means docker.io);
// Docker Hub's one-element names get "library/". The base endpoint
// (/v2/) and paths that name nothing the mirror serves name no
// repository (name ""). ok is false for a path the handler refuses as
// malformed.
func Subject(r *http.Request, defaultRegistry string) (name string, ok bool) {
	if defaultRegistry == "" {
		defaultRegistry = DockerHub
	}
	req, err := parseRequest(r.URL, NormalizeRegistry(defaultRegistry))
	switch {
	case err != nil && err.Status == http.StatusBadRequest:
		return "", false
	case err != nil, req.kind == kindBase:
		return "", true
	}
	return req.name(), true
}
