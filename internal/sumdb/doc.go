// Package sumdb proxies a Go checksum database and checks module hashes
// against it.
//
// A [SumDB] serves the checksum database protocol under
// /sumdb/NAME/ (supported, latest, lookup, tile) to go commands that use
// gomirror as their GOPROXY. Its lookups, tiles and tree head are artifacts
// of the pull-through core ([pull.Cache]), like every mirror's files: one
// fill per file across replicas, checked before it is stored, kept in the
// store so that they are served again without the database, upstream 404s
// remembered, and /latest served stale when the database cannot be reached. [SumDB.Lookup] gives gomirror itself the
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
