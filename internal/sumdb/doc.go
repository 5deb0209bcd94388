// Package sumdb proxies a Go checksum database and checks module hashes
// against it.
//
// A [SumDB] serves the checksum database protocol under
// /sumdb/NAME/ (supported, latest, lookup, tile) to go commands that use
// gomirror as their GOPROXY, keeping every lookup and tile in the store so
// they are served again without the database, and serving /latest stale when
// the database cannot be reached. [SumDB.Lookup] gives gomirror itself the
// hashes of a module version, after checking the signed tree head and the
// tile proofs with golang.org/x/mod/sumdb's verifying client, which reads
// the same cached lookups and tiles.
package sumdb
