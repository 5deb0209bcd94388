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
//
// Lookups are bounded by their callers: a lookup shared by several callers
// is cancelled when the last of them stops waiting. [SumDB.Shutdown] waits
// for the lookups and fetches still running. The verifier's state (the
// latest tree head it has checked) is written durably under StateDir; when
// it is found damaged it is rebuilt from the database, and [SumDB.Check]
// reports the damage until then.
package sumdb
