package vulndb

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"
)

// MaxEntries bounds the number of entries of a database; the Go database
// has a few thousand.
const MaxEntries = 100_000

// Build makes the database of a version of the golang.org/x/vulndb module
// from its module zip, size bytes read from zr, whose .info time is
// modified. It reads every data/osv/GO-YYYY-NNNN.json file of the zip,
// checks it with [ParseEntry], and fails, naming the file, when one is bad,
// is larger than [MaxEntrySize], or is not named after its ID. A zip with no
// entry at all is refused too: it is not a version of the database.
func Build(ctx context.Context, zr io.ReaderAt, size int64, modified time.Time) (*DB, error) {
	r, err := zip.NewReader(zr, size)
	if err != nil {
		return nil, fmt.Errorf("building vulnerability database: %w", err)
	}
	var (
		entries []*Entry
		raw     [][]byte
	)
	for _, f := range r.File {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rel, ok := osvFile(f.Name)
		if !ok {
			continue
		}
		if len(entries) == MaxEntries {
			return nil, fmt.Errorf("building vulnerability database: more than %d entries", MaxEntries)
		}
		data, err := readZipFile(f)
		if err != nil {
			return nil, fmt.Errorf("building vulnerability database: %s: %w", rel, err)
		}
		e, err := ParseEntry(data)
		if err != nil {
			return nil, fmt.Errorf("building vulnerability database: %s: %w", rel, err)
		}
		if want := e.ID + ".json"; path.Base(rel) != want {
			return nil, fmt.Errorf("building vulnerability database: %s: holds entry %s, want a file named %s", rel, e.ID, want)
		}
		entries = append(entries, e)
		raw = append(raw, data)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("building vulnerability database: no data/osv/*.json file in the zip")
	}
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(entries[a].ID, entries[b].ID) })
	sortedEntries, sortedRaw := make([]*Entry, len(order)), make([][]byte, len(order))
	for i, j := range order {
		sortedEntries[i], sortedRaw[i] = entries[j], raw[j]
	}
	db, err := newDB(modified, sortedEntries, sortedRaw)
	if err != nil {
		return nil, fmt.Errorf("building vulnerability database: %w", err)
	}
	return db, nil
}

// osvFile reports whether name, a file of a module zip
// ("golang.org/x/vulndb@v0.0.0-.../data/osv/GO-2021-0113.json"), is an OSV
// file, and returns its name inside the module.
func osvFile(name string) (rel string, ok bool) {
	at := strings.Index(name, "@")
	if at < 0 {
		return "", false
	}
	slash := strings.Index(name[at:], "/")
	if slash < 0 {
		return "", false
	}
	rel = name[at+slash+1:]
	dir, file := path.Split(rel)
	return rel, dir == "data/osv/" && strings.HasSuffix(file, ".json")
}

func readZipFile(f *zip.File) ([]byte, error) {
	if f.UncompressedSize64 > MaxEntrySize {
		return nil, fmt.Errorf("larger than %d bytes", MaxEntrySize)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, MaxEntrySize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxEntrySize {
		return nil, fmt.Errorf("larger than %d bytes", MaxEntrySize)
	}
	return data, nil
}
