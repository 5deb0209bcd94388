// Package storetest is the conformance suite that every [store.Store]
// implementation in gomirror runs.
//
// Beyond the [store.Store] contract, the suite requires what gomirror's
// backends promise so that the server can answer Range requests and set
// Content-Length: the reader that Get returns implements io.Seeker and
// Stat() (fs.FileInfo, error). When the store implements [store.Walker],
// the suite checks Walk too, and when it implements [store.FilePutter],
// PutFile.
package storetest
