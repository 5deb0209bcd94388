// Package cargo is gomirror's crates.io mirror: the sparse index protocol
// that cargo (1.68 and later) reads, and the .crate downloads it names,
// under [Prefix], on the pull-through core (internal/pull).
//
// Layout, as cargo reads a "sparse+" registry:
//
//	/cargo/index/config.json                 the mirror's own: dl and api name the mirror
//	/cargo/index/1/a, 2/ab, 3/a/abc, se/rd/serde   index files, one JSON line per version
//	/cargo/api/v1/crates/NAME/VERSION/download     .crate files
//
// Trust: index files are passed through as the upstream wrote them, so
// each version's cksum reaches cargo unchanged, and cargo checks every
// .crate against it. The mirror checks first: a .crate is downloaded once
// and stored only when its sha256 is the cksum of its version's line in
// the index; a mismatch is a 502 that names both digests, and nothing is
// stored.
//
// Freshness: an index file is metadata, fresh for its TTL, then
// revalidated with the upstream's ETag or Last-Modified (a 304 keeps the
// stored copy), and served stale when the upstream is down. Clients
// revalidate with the mirror the same way. A download of a version that
// the stored index file lacks refreshes it early, at most once per
// [Config.RefreshAfter]. A .crate never changes once published.
//
// Hosts: the upstream's download URL comes from its config.json, and is
// followed, like any redirect, only to the index's host or the configured
// download host; a config.json or redirect that names another host is
// refused.
package cargo
