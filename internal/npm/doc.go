// Package npm is gomirror's npm registry mirror: the read side of the npm
// registry API under /npm/, on the pull-through core (internal/pull).
//
// It serves packuments (full, and abbreviated for clients that ask for
// application/vnd.npm.install-v1+json, built from the full one so that
// cpu, os, engines and time are never lost), version documents,
// dist-tags, tarballs, the registry's signing keys, and passes audit
// requests through to the upstream uncached.
//
// Trust: tarball URLs in the packuments it serves point at the mirror,
// and nothing else in a version changes, so dist.integrity, shasum,
// signatures and attestations reach the client as the upstream signed
// them. A tarball is downloaded once and checked against the integrity
// (sha512) or shasum (sha1) of the stored packument before it is stored;
// a mismatch is refused and never stored.
//
// Freshness: a packument is metadata, fresh for its TTL, then revalidated
// with the upstream's ETag (a 304 keeps the stored copy), and served stale
// when the upstream is down. A request for a version or a tarball that the
// stored packument lacks refreshes it early, at most once per
// [Config.RefreshAfter].
//
// Scopes can be routed to their own upstreams, with a token, so that a
// private scope's names never reach the public registry.
package npm
