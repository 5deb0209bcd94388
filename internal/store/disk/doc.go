// Package disk stores gomirror's files in a directory laid out exactly like
// GOMODCACHE/cache/download, so that GOPROXY=file://DIR serves the same
// files gomirror does.
//
// Files are written under DIR/.tmp and renamed into place, so a reader or a
// crash never sees part of a file at its final name. Every access is
// confined to DIR, by an [os.Root] or on Linux by openat2, so neither a name
// nor a symbolic link can reach outside it.
package disk
