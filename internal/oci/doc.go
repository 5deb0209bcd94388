// Package oci is gomirror's pull-through mirror for container registries:
// the pull side of the OCI distribution spec under /v2/, in front of any
// number of configured upstream registries.
//
// A request names its registry in one of three ways: containerd's
// ?ns=<registry> query (a hosts.toml mirror), a path prefix whose first
// element is a registry host (/v2/ghcr.io/owner/image/..., as podman's
// registries.conf mirrors send it), or nothing, meaning the default
// registry, Docker Hub, whose one-element names get Docker's "library/"
// (so daemon.json registry-mirrors works at the domain root).
//
// Blobs and manifests named by digest are immutable: they are fetched
// once, checked against their digest before they are stored, and a blob
// miss streams to every client that asks while it arrives (the core,
// internal/pull, does the coalescing, streaming and checking). A tag is
// metadata: it resolves to a stored descriptor (media type, digest and
// size) that stays fresh for the manifest TTL, is then refreshed with a
// HEAD, which Docker Hub does not count against its pull limit, and is
// served stale when the upstream fails or answers 429. Tag lists and
// referrers are metadata too.
//
// Upstream requests use the registry's token flow (a Bearer challenge, a
// token from its realm, anonymous or with Basic credentials, cached per
// registry and scope until it expires) or plain Basic authentication.
//
// Every error is answered in the distribution spec's JSON format with its
// codes; push and delete are refused with UNSUPPORTED.
package oci
