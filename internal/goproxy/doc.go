// Package goproxy serves the GOPROXY protocol from a store, filling misses
// from an upstream.
//
// Every .mod and .zip that comes from upstream is checked before it is
// stored: its structure with golang.org/x/mod/zip and its hash against the
// checksum database, looked up while the download is under way. A file that
// fails is neither stored nor served. Concurrent misses for one file share a
// single upstream fetch, which goes on when the first client hangs up.
//
// Versioned files (.info, .mod, .zip) never change once stored. Lists,
// @latest and queries are kept for a short time and served stale, with the
// header X-Gomirror-Stale, when every upstream fails.
package goproxy
