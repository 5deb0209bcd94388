// Package pull is gomirror's pull-through core: the machinery that every
// mirror (Go modules, Go release archives, the vulnerability database, OCI
// images, PyPI, npm) shares, so that each ecosystem package owns only its
// protocol.
//
// An ecosystem describes each file it serves as an [Artifact]: its store
// name, how to fetch it from upstream, how to check it, and whether it is
// immutable or metadata with a TTL. A [Cache] does the rest:
//
//   - one upstream fill per artifact: concurrent misses in this process
//     join one fill, and a [Locker] (Redis) makes it one across replicas;
//   - the fill outlives the client that started it, bounded by a timeout;
//   - the download goes to a temporary file with a size limit, and is
//     checked against the trusted digest (and the ecosystem's own check)
//     before an atomic Put; a file that fails is counted, logged and
//     never stored;
//   - a miss streams to its clients as the bytes arrive, every joined
//     client reading the one download, while the last bytes are held back
//     until the file has passed its checks: on a mismatch every transfer
//     is cut short, so no client ever receives a whole wrong file;
//   - metadata is fresh for its TTL, then refreshed; when the refresh fails,
//     or is slow, the stored copy is served stale and marked so;
//   - upstream "not found" answers are remembered in a [NegativeCache];
//   - stored files are served with ETag, Last-Modified, Range and
//     conditional requests, and the Cache-Control their kind calls for;
//     small immutable files (a page from a local store, 64 KiB from a
//     remote one) are kept in memory for a few seconds after a hit;
//   - every request, lookup, fill and refusal is counted by ecosystem and
//     kind;
//   - a store that keeps a record of use (a [store.Toucher], such as one
//     with a byte budget) is told of each hit served from it and each file
//     stored, and whether the file is an immutable artifact that it may
//     evict.
//
// Errors carry their meaning through sentinels ([ErrBadRequest],
// [ErrRefused], [ErrUpstream], fs.ErrNotExist, store.ErrFull, ...) and
// [Status] maps them to the one HTTP status each means; each ecosystem
// writes that status and [Reason] in its protocol's own error format.
package pull
