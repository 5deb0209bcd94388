package vulndb

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/gomirror/gomirror/internal/store"
)

// MaxFileSize bounds the size of a file read from a served database; the
// largest, index/modules.json, is a few megabytes.
const MaxFileSize = 256 << 20

// Source reads the files of a served database.
type Source interface {
	// ReadFile returns the content of the file called name, such as
	// "index/db.json" or "ID/GO-2021-0113.json", uncompressed. A missing
	// file is an error matching fs.ErrNotExist.
	ReadFile(ctx context.Context, name string) ([]byte, error)
}

// StoreSource reads a database stored in st under prefix, as [DB.Write]
// puts it there.
func StoreSource(st store.Store, prefix string) Source { return storeSource{st, prefix} }

type storeSource struct {
	st     store.Store
	prefix string
}

func (s storeSource) ReadFile(ctx context.Context, name string) ([]byte, error) {
	rc, err := s.st.Get(ctx, s.prefix+name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return readAll(rc, s.prefix+name)
}

// DirSource reads a database from the directory dir, as govulncheck reads
// -db file://dir.
func DirSource(dir string) Source { return dirSource(dir) }

type dirSource string

func (d dirSource) ReadFile(ctx context.Context, name string) ([]byte, error) {
	f, err := os.Open(filepath.Join(string(d), filepath.FromSlash(name)))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAll(f, name)
}

// HTTPSource reads a database served at baseURL (such as
// "https://vuln.go.dev" or "http://mirror:8080/vuln") with client, as
// govulncheck does: it asks for NAME.json.gz and decompresses it. A nil
// client is http.DefaultClient. A 404 is an error matching fs.ErrNotExist.
func HTTPSource(client *http.Client, baseURL string) Source {
	if client == nil {
		client = http.DefaultClient
	}
	return httpSource{client, strings.TrimRight(baseURL, "/")}
}

type httpSource struct {
	client *http.Client
	base   string
}

func (h httpSource) ReadFile(ctx context.Context, name string) ([]byte, error) {
	u := h.base + "/" + name + ".gz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, fmt.Errorf("GET %s: %s: %w", u, resp.Status, fs.ErrNotExist)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u, err)
	}
	defer zr.Close()
	return readAll(zr, u)
}

func readAll(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("reading %s: larger than %d bytes", name, MaxFileSize)
	}
	return data, nil
}

// ParseDBMeta parses index/db.json.
func ParseDBMeta(data []byte) (DBMeta, error) {
	var m DBMeta
	if err := json.Unmarshal(data, &m); err != nil {
		return DBMeta{}, fmt.Errorf("%s: %w", DBIndex, err)
	}
	return m, nil
}

// ParseModules parses index/modules.json. It refuses a module listed twice,
// an empty path and an ID not of the form GO-YYYY-NNNN.
func ParseModules(data []byte) ([]ModuleMeta, error) {
	var mods []ModuleMeta
	if err := json.Unmarshal(data, &mods); err != nil {
		return nil, fmt.Errorf("%s: %w", ModulesIndex, err)
	}
	seen := make(map[string]bool, len(mods))
	for _, m := range mods {
		if m.Path == "" {
			return nil, fmt.Errorf("%s: module with no path", ModulesIndex)
		}
		if seen[m.Path] {
			return nil, fmt.Errorf("%s: module %s listed twice", ModulesIndex, m.Path)
		}
		seen[m.Path] = true
		for _, v := range m.Vulns {
			if !idRE.MatchString(v.ID) {
				return nil, fmt.Errorf("%s: module %s: id %q is not of the form GO-YYYY-NNNN", ModulesIndex, m.Path, v.ID)
			}
		}
	}
	return mods, nil
}

// ParseVulns parses index/vulns.json. It refuses an ID listed twice or not
// of the form GO-YYYY-NNNN.
func ParseVulns(data []byte) ([]VulnMeta, error) {
	var vulns []VulnMeta
	if err := json.Unmarshal(data, &vulns); err != nil {
		return nil, fmt.Errorf("%s: %w", VulnsIndex, err)
	}
	seen := make(map[string]bool, len(vulns))
	for _, v := range vulns {
		if !idRE.MatchString(v.ID) {
			return nil, fmt.Errorf("%s: id %q is not of the form GO-YYYY-NNNN", VulnsIndex, v.ID)
		}
		if seen[v.ID] {
			return nil, fmt.Errorf("%s: id %s listed twice", VulnsIndex, v.ID)
		}
		seen[v.ID] = true
	}
	return vulns, nil
}

// Load reads a whole database from the files src serves: index/db.json,
// the IDs in index/vulns.json (or, in a database without it, in
// index/modules.json) and the entry of each. Every file is checked as
// [Build] checks it. Errors name the file.
func Load(ctx context.Context, src Source) (*DB, error) {
	wrap := func(err error) error { return fmt.Errorf("loading vulnerability database: %w", err) }
	data, err := src.ReadFile(ctx, DBIndex)
	if err != nil {
		return nil, wrap(err)
	}
	meta, err := ParseDBMeta(data)
	if err != nil {
		return nil, wrap(err)
	}
	ids, err := indexIDs(ctx, src)
	if err != nil {
		return nil, wrap(err)
	}
	if len(ids) > MaxEntries {
		return nil, wrap(fmt.Errorf("more than %d entries", MaxEntries))
	}
	entries, raw := make([]*Entry, len(ids)), make([][]byte, len(ids))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(10)
	for i, id := range ids {
		g.Go(func() error {
			name := EntryName(id)
			data, err := src.ReadFile(gctx, name)
			if err != nil {
				return err
			}
			e, err := ParseEntry(data)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if e.ID != id {
				return fmt.Errorf("%s: holds entry %s", name, e.ID)
			}
			entries[i], raw[i] = e, data
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, wrap(err)
	}
	db, err := newDB(meta.Modified, entries, raw)
	if err != nil {
		return nil, wrap(err)
	}
	return db, nil
}

// indexIDs returns the sorted IDs of the entries of the database src
// serves.
func indexIDs(ctx context.Context, src Source) ([]string, error) {
	data, err := src.ReadFile(ctx, VulnsIndex)
	if err == nil {
		vulns, err := ParseVulns(data)
		if err != nil {
			return nil, err
		}
		ids := make([]string, len(vulns))
		for i, v := range vulns {
			ids[i] = v.ID
		}
		slices.Sort(ids)
		return ids, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	data, err = src.ReadFile(ctx, ModulesIndex)
	if err != nil {
		return nil, err
	}
	mods, err := ParseModules(data)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, m := range mods {
		for _, v := range m.Vulns {
			ids = append(ids, v.ID)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}
