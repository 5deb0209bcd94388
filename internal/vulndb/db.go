package vulndb

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path"
	"runtime"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gomirror/gomirror/internal/store"
)

// The names of the index files, relative to the root of a database.
const (
	DBIndex      = "index/db.json"
	ModulesIndex = "index/modules.json"
	VulnsIndex   = "index/vulns.json"
)

// StorePrefix is where in gomirror's store the database it serves under
// /vuln/ is kept: "vuln/index/db.json", "vuln/ID/GO-2021-0113.json.gz".
const StorePrefix = "vuln/"

// EntryName returns the name of the file of the entry id: "ID/<id>.json".
func EntryName(id string) string { return "ID/" + id + ".json" }

// DBMeta is the content of index/db.json.
type DBMeta struct {
	Modified time.Time `json:"modified"`
}

// ModuleMeta is an element of index/modules.json: a module and the entries
// that affect some version of it.
type ModuleMeta struct {
	Path  string       `json:"path"`
	Vulns []ModuleVuln `json:"vulns"`
}

// ModuleVuln is an entry as index/modules.json lists it under a module.
// Fixed is the version, with no "v" prefix, from which on no version is
// affected; "" when there is none.
type ModuleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

// VulnMeta is an element of index/vulns.json.
type VulnMeta struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Aliases  []string  `json:"aliases,omitempty"`
}

// DB is a whole vulnerability database, held in memory: its entries, and
// every file it serves, each as NAME.json and NAME.json.gz. A DB never
// changes once made and is safe for concurrent use.
type DB struct {
	modified time.Time
	files    map[string][]byte
	entries  map[string]*Entry
	byModule map[string][]*Entry // in ID order
}

// newDB makes the database of entries, whose raw JSON is raw[i], last
// modified at modified.
func newDB(modified time.Time, entries []*Entry, raw [][]byte) (*DB, error) {
	db := &DB{
		modified: modified.UTC(),
		files:    make(map[string][]byte, 2*len(entries)+6),
		entries:  make(map[string]*Entry, len(entries)),
		byModule: make(map[string][]*Entry),
	}
	modules := make(map[string]*ModuleMeta)
	vulns := make([]VulnMeta, 0, len(entries))
	for i, e := range entries {
		if _, dup := db.entries[e.ID]; dup {
			return nil, fmt.Errorf("entry %s appears twice", e.ID)
		}
		db.entries[e.ID] = e
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw[i]); err != nil {
			return nil, fmt.Errorf("entry %s: %w", e.ID, err)
		}
		db.files[EntryName(e.ID)] = buf.Bytes()
		vulns = append(vulns, VulnMeta{ID: e.ID, Modified: e.Modified.UTC(), Aliases: e.Aliases})
		seen := make(map[string]bool)
		for _, a := range e.Affected {
			m := modules[a.Module.Path]
			if m == nil {
				m = &ModuleMeta{Path: a.Module.Path, Vulns: []ModuleVuln{}}
				modules[a.Module.Path] = m
			}
			// An entry that names a module twice is listed twice, as
			// x/vulndb lists it.
			m.Vulns = append(m.Vulns, ModuleVuln{ID: e.ID, Modified: e.Modified.UTC(), Fixed: latestFixed(a.Ranges)})
			if !seen[a.Module.Path] {
				seen[a.Module.Path] = true
				db.byModule[a.Module.Path] = append(db.byModule[a.Module.Path], e)
			}
		}
	}
	slices.SortFunc(vulns, func(a, b VulnMeta) int { return strings.Compare(a.ID, b.ID) })
	mods := slices.SortedFunc(maps.Values(modules), func(a, b *ModuleMeta) int { return strings.Compare(a.Path, b.Path) })
	for _, m := range mods {
		slices.SortStableFunc(m.Vulns, func(a, b ModuleVuln) int { return strings.Compare(a.ID, b.ID) })
	}
	for _, es := range db.byModule {
		slices.SortFunc(es, func(a, b *Entry) int { return strings.Compare(a.ID, b.ID) })
	}
	for name, v := range map[string]any{DBIndex: DBMeta{Modified: db.modified}, ModulesIndex: mods, VulnsIndex: vulns} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		db.files[name] = b
	}
	if err := db.compressAll(); err != nil {
		return nil, err
	}
	return db, nil
}

// compressAll adds NAME.gz for every file: gzipped as x/vulndb does, at the
// best compression, with no name and no time in the header, so the same
// file always gives the same bytes. Each worker reuses one writer.
func (db *DB) compressAll() error {
	names := slices.Collect(maps.Keys(db.files))
	gz := make([][]byte, len(names))
	workers := min(runtime.GOMAXPROCS(0), len(names))
	g := new(errgroup.Group)
	for w := range workers {
		g.Go(func() error {
			var buf bytes.Buffer
			zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			if err != nil {
				return err
			}
			for i := w; i < len(names); i += workers {
				buf.Reset()
				zw.Reset(&buf)
				if _, err := zw.Write(db.files[names[i]]); err != nil {
					return fmt.Errorf("%s: %w", names[i], err)
				}
				if err := zw.Close(); err != nil {
					return fmt.Errorf("%s: %w", names[i], err)
				}
				gz[i] = bytes.Clone(buf.Bytes())
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for i, name := range names {
		db.files[name+".gz"] = gz[i]
	}
	return nil
}

// Modified returns the time the database was last modified: what
// index/db.json says.
func (db *DB) Modified() time.Time { return db.modified }

// Len returns the number of entries.
func (db *DB) Len() int { return len(db.entries) }

// Entry returns the entry id, or nil when there is none.
func (db *DB) Entry(id string) *Entry { return db.entries[id] }

// Names returns the names of every file of the database, sorted:
// "ID/GO-2021-0113.json", "ID/GO-2021-0113.json.gz", ...,
// "index/db.json", "index/db.json.gz", ...
func (db *DB) Names() []string { return slices.Sorted(maps.Keys(db.files)) }

// File returns the content of the file called name (a name Names returns),
// and whether there is one. The caller must not modify it.
func (db *DB) File(name string) ([]byte, bool) {
	b, ok := db.files[name]
	return b, ok
}

// Write puts every file of the database into st under prefix (such as
// "vuln/"; prefix+name must pass store.CheckName). The entries go first and
// the indexes last, index/db.json at the very end, so a reader of a store
// being updated never finds an index naming an entry that is not there yet.
// Entries are never deleted: the Go database withdraws an entry instead of
// removing it. Files st already holds with the same content are left alone.
func (db *DB) Write(ctx context.Context, st store.Store, prefix string) error {
	var entries, indexes []string
	for _, name := range db.Names() {
		if err := store.CheckName(prefix + name); err != nil {
			return fmt.Errorf("writing vulnerability database: %w", err)
		}
		if strings.HasPrefix(name, "index/") {
			indexes = append(indexes, name)
		} else {
			entries = append(entries, name)
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for _, name := range entries {
		g.Go(func() error { return db.put(gctx, st, prefix, name) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// db.json, which says when the database changed, comes last.
	slices.SortStableFunc(indexes, func(a, b string) int {
		return cmpBool(strings.HasPrefix(a, DBIndex), strings.HasPrefix(b, DBIndex))
	})
	for _, name := range indexes {
		if err := db.put(ctx, st, prefix, name); err != nil {
			return err
		}
	}
	return nil
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// put stores one file, unless st already holds the same bytes: a new
// version of the database changes few entries.
func (db *DB) put(ctx context.Context, st store.Store, prefix, name string) error {
	if rc, err := st.Get(ctx, prefix+name); err == nil {
		old, err := io.ReadAll(io.LimitReader(rc, int64(len(db.files[name]))+1))
		rc.Close()
		if err == nil && bytes.Equal(old, db.files[name]) {
			return nil
		}
	}
	if err := st.Put(ctx, prefix+name, bytes.NewReader(db.files[name])); err != nil {
		return fmt.Errorf("writing vulnerability database %s: %w", path.Join(prefix, name), err)
	}
	return nil
}
