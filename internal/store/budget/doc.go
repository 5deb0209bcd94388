// Package budget keeps a store within a byte budget by evicting the least
// recently used immutable files.
//
// A [Store] wraps another [store.Store] (in gomirror, the disk store). It
// counts the bytes of every file the store holds: those it sees stored, and,
// from a walk that runs in the background when it is made, those already
// there. When a write takes the count over the budget, a background
// eviction removes immutable files, least recently used first, until the
// count is under a low-water mark (90% of the budget).
//
// Only immutable artifacts are ever evicted: files that the pull-through
// core fetches again from upstream, and checks, whenever they are missing
// (Go module .info, .mod and .zip files, release archives, PyPI files, npm
// tarballs, OCI blobs and manifests by digest). Metadata (lists, indexes,
// packuments, tags, the checksum database's cache) is small and is what a
// mirror serves stale when its upstream is down: it is never evicted. The
// core says which is which with every [Store.Touch]; a file that no Touch
// has described since the Store was made is classified by its name, by the
// Config's Immutable function, and kept when that cannot tell.
//
// Eviction never cuts a transfer short. A file being written is never
// evicted, nor is the file just stored, nor any file read or written within
// Config.Recent. A file that is open when it is evicted stays readable to
// its end through its open handle (on Linux and other Unix systems, where
// removing a name leaves open files intact).
//
// The bookkeeping costs one map entry, about 130 bytes and the name, per
// stored file. A Touch is a lock-free map lookup and, at most once a
// second per file, an atomic store: it does not even read the system's
// clock, but one that a background goroutine moves every second.
package budget
