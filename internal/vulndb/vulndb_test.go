package vulndb_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/store/memstore"
	"github.com/gomirror/gomirror/internal/vulndb"
	"github.com/gomirror/gomirror/internal/vulndb/vulndbtest"
)

var sampleIDs = []string{"GO-2021-0113", "GO-2022-0617", "GO-2022-0969", "GO-2022-1059", "GO-2099-0001"}

func TestBuildFiles(t *testing.T) {
	db := vulndbtest.SampleDB(t)

	var want []string
	for _, id := range sampleIDs {
		want = append(want, "ID/"+id+".json", "ID/"+id+".json.gz")
	}
	for _, name := range []string{"db", "modules", "vulns"} {
		want = append(want, "index/"+name+".json", "index/"+name+".json.gz")
	}
	if got := db.Names(); !slices.Equal(got, want) {
		t.Fatalf("got files %q, want %q", got, want)
	}
	if got, want := db.Len(), len(sampleIDs); got != want {
		t.Errorf("got Len %d, want %d", got, want)
	}
	if got, want := db.Modified(), vulndbtest.SampleTime(); !got.Equal(want) {
		t.Errorf("got Modified %v, want the .info time %v", got, want)
	}

	// Every .json.gz is the gzip of its .json.
	for _, name := range db.Names() {
		plain, ok := strings.CutSuffix(name, ".gz")
		if !ok {
			continue
		}
		gz, _ := db.File(name)
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if want, _ := db.File(plain); !bytes.Equal(got, want) {
			t.Errorf("%s decompresses to %q, want %q", name, got, want)
		}
	}

	t.Run("db.json", func(t *testing.T) {
		got, _ := db.File("index/db.json")
		if want := `{"modified":"2024-01-02T03:04:05Z"}`; string(got) != want {
			t.Errorf("got %s, want %s", got, want)
		}
	})

	t.Run("modules.json", func(t *testing.T) {
		data, _ := db.File("index/modules.json")
		got, err := vulndb.ParseModules(data)
		if err != nil {
			t.Fatal(err)
		}
		zero := time.Time{}
		made := time.Date(2099, 1, 2, 3, 4, 5, 0, time.UTC)
		want := []vulndb.ModuleMeta{
			{Path: "example.com/all", Vulns: []vulndb.ModuleVuln{{ID: "GO-2099-0001", Modified: made}}},
			{Path: "example.com/multi", Vulns: []vulndb.ModuleVuln{{ID: "GO-2099-0001", Modified: made}}},
			{Path: "golang.org/x/net", Vulns: []vulndb.ModuleVuln{{ID: "GO-2022-0969", Modified: zero, Fixed: "0.0.0-20220906165146-f3363e06e74c"}}},
			{Path: "golang.org/x/text", Vulns: []vulndb.ModuleVuln{
				{ID: "GO-2021-0113", Modified: zero, Fixed: "0.3.7"},
				{ID: "GO-2022-1059", Modified: zero, Fixed: "0.3.8"},
			}},
			{Path: "k8s.io/kubernetes", Vulns: []vulndb.ModuleVuln{{ID: "GO-2022-0617", Modified: zero}}},
			{Path: "stdlib", Vulns: []vulndb.ModuleVuln{{ID: "GO-2022-0969", Modified: zero, Fixed: "1.19.1"}}},
		}
		if len(got) != len(want) {
			t.Fatalf("got %d modules, want %d: %+v", len(got), len(want), got)
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Path != w.Path || len(g.Vulns) != len(w.Vulns) {
				t.Errorf("module %d: got %+v, want %+v", i, g, w)
				continue
			}
			for j := range w.Vulns {
				gv, wv := g.Vulns[j], w.Vulns[j]
				if gv.ID != wv.ID || !gv.Modified.Equal(wv.Modified) || gv.Fixed != wv.Fixed {
					t.Errorf("%s vuln %d: got %+v, want %+v", w.Path, j, gv, wv)
				}
			}
		}
		// The JSON names are govulncheck's, the zero time is written out
		// and an absent fix leaves "fixed" out.
		if !bytes.Contains(data, []byte(`{"path":"k8s.io/kubernetes","vulns":[{"id":"GO-2022-0617","modified":"0001-01-01T00:00:00Z"}]}`)) {
			t.Errorf("modules.json lacks the kubernetes element as x/vulndb writes it:\n%s", data)
		}
	})

	t.Run("vulns.json", func(t *testing.T) {
		data, _ := db.File("index/vulns.json")
		got, err := vulndb.ParseVulns(data)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, v := range got {
			ids = append(ids, v.ID)
		}
		if !slices.Equal(ids, sampleIDs) {
			t.Errorf("got IDs %q, want %q", ids, sampleIDs)
		}
		if got, want := got[0].Aliases, []string{"CVE-2021-38561", "GHSA-ppp9-7jff-5vj2"}; !slices.Equal(got, want) {
			t.Errorf("GO-2021-0113: got aliases %q, want %q", got, want)
		}
		if !strings.HasPrefix(string(data), `[{"id":"GO-2021-0113","modified":"0001-01-01T00:00:00Z","aliases":["CVE-2021-38561","GHSA-ppp9-7jff-5vj2"]}`) {
			t.Errorf("vulns.json does not start as x/vulndb writes it:\n%s", data)
		}
	})

	t.Run("entries", func(t *testing.T) {
		// Each entry is its OSV file, compacted, with every field kept
		// and its own modified time.
		for name, raw := range vulndbtest.OSVFiles() {
			id := strings.TrimSuffix(strings.TrimPrefix(name, "data/osv/"), ".json")
			got, ok := db.File("ID/" + id + ".json")
			if !ok {
				t.Errorf("no file for %s", id)
				continue
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, raw); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, compact.Bytes()) {
				t.Errorf("%s: got %s, want the OSV file compacted: %s", id, got, compact.Bytes())
			}
		}
		got, _ := db.File("ID/GO-2099-0001.json")
		for _, want := range []string{`"modified":"2099-01-02T03:04:05Z"`, `"custom_ranges":[{"type":"ECOSYSTEM"`} {
			if !bytes.Contains(got, []byte(want)) {
				t.Errorf("GO-2099-0001: %s lacks %s", got, want)
			}
		}
		e := db.Entry("GO-2022-0617")
		if e == nil || e.Withdrawn == nil || !e.Withdrawn.Equal(time.Date(2024, 8, 21, 16, 25, 56, 0, time.UTC)) {
			t.Errorf("GO-2022-0617: got %+v, want withdrawn at 2024-08-21T16:25:56Z", e)
		}
	})
}

func TestBuildRefuses(t *testing.T) {
	good := vulndbtest.OSVFiles()["data/osv/GO-2021-0113.json"]
	tests := []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"no entries", map[string][]byte{"README.md": []byte("hi")}, "no data/osv/*.json file"},
		{"not JSON", map[string][]byte{"data/osv/GO-2021-0113.json": []byte("{")}, "data/osv/GO-2021-0113.json: OSV entry: unexpected end of JSON input"},
		{"named after another ID", map[string][]byte{"data/osv/GO-2021-0114.json": good}, "data/osv/GO-2021-0114.json: holds entry GO-2021-0113, want a file named GO-2021-0113.json"},
		{"bad ID", map[string][]byte{"data/osv/x.json": []byte(`{"id":"../../etc/passwd"}`)}, `id "../../etc/passwd" is not of the form GO-YYYY-NNNN`},
		{"bad time", map[string][]byte{"data/osv/GO-2021-0001.json": []byte(`{"id":"GO-2021-0001","modified":"yesterday"}`)}, "OSV entry: parsing time"},
		{"bad version", map[string][]byte{"data/osv/GO-2021-0001.json": []byte(`{"id":"GO-2021-0001","affected":[{"package":{"name":"example.com/m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.x"}]}]}]}`)},
			`example.com/m: fixed version "1.x" is not valid semver`},
		{"event with both ends", map[string][]byte{"data/osv/GO-2021-0001.json": []byte(`{"id":"GO-2021-0001","affected":[{"package":{"name":"example.com/m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0","fixed":"1.0.0"}]}]}]}`)},
			"exactly one of introduced and fixed"},
		{"module without a name", map[string][]byte{"data/osv/GO-2021-0001.json": []byte(`{"id":"GO-2021-0001","affected":[{"package":{"name":""}}]}`)}, "affected module has no name"},
		{"too large", map[string][]byte{"data/osv/GO-2021-0001.json": bytes.Repeat([]byte(" "), vulndb.MaxEntrySize+1)}, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			z := vulndbtest.ModuleZip(t, vulndbtest.SampleVersion, tt.files)
			_, err := vulndb.Build(t.Context(), bytes.NewReader(z), int64(len(z)), vulndbtest.SampleTime())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one containing %q", err, tt.want)
			}
		})
	}
	t.Run("not a zip", func(t *testing.T) {
		_, err := vulndb.Build(t.Context(), strings.NewReader("not a zip"), 9, vulndbtest.SampleTime())
		if err == nil || !strings.Contains(err.Error(), "zip: not a valid zip file") {
			t.Errorf("got error %v, want zip: not a valid zip file", err)
		}
	})
}

func TestAffected(t *testing.T) {
	db := vulndbtest.SampleDB(t)
	tests := []struct {
		module, version string
		want            []string // "ID fixed"
	}{
		{"golang.org/x/text", "v0.3.5", []string{"GO-2021-0113 v0.3.7", "GO-2022-1059 v0.3.8"}},
		{"golang.org/x/text", "v0.3.7", []string{"GO-2022-1059 v0.3.8"}},
		{"golang.org/x/text", "v0.3.8", nil},
		{"golang.org/x/text", "v0.0.0-20170915032832-14c0d48ead0c", []string{"GO-2021-0113 v0.3.7", "GO-2022-1059 v0.3.8"}},
		{"golang.org/x/net", "v0.0.0-20220906165146-f3363e06e74c", nil},
		{"golang.org/x/net", "v0.0.0-20220906000000-000000000000", []string{"GO-2022-0969 v0.0.0-20220906165146-f3363e06e74c"}},
		{"stdlib", "v1.18.5", []string{"GO-2022-0969 v1.18.6"}},
		{"stdlib", "v1.18.6", nil},
		{"stdlib", "v1.19.0-rc.1", []string{"GO-2022-0969 v1.19.1"}},
		{"stdlib", "v1.19.0", []string{"GO-2022-0969 v1.19.1"}},
		{"stdlib", "v1.19.1", nil},
		// Withdrawn entries affect nothing.
		{"k8s.io/kubernetes", "v1.0.0", nil},
		// Events given out of order; a range reintroduced; one never fixed.
		{"example.com/multi", "v0.9.0", nil},
		{"example.com/multi", "v1.0.0", []string{"GO-2099-0001 v1.2.0"}},
		{"example.com/multi", "v1.1.9", []string{"GO-2099-0001 v1.2.0"}},
		{"example.com/multi", "v1.2.0", nil},
		{"example.com/multi", "v1.5.2", []string{"GO-2099-0001 v1.5.3"}},
		{"example.com/multi", "v1.5.3", nil},
		{"example.com/multi", "v2.0.0-pre", []string{"GO-2099-0001 "}},
		{"example.com/multi", "v3.1.0", []string{"GO-2099-0001 "}},
		// No ranges: every version.
		{"example.com/all", "v0.0.1", []string{"GO-2099-0001 "}},
		{"example.com/unknown", "v1.0.0", nil},
		{"golang.org/x/text", "0.3.5", nil}, // not the go command's form
		{"golang.org/x/text", "latest", nil},
	}
	for _, tt := range tests {
		t.Run(tt.module+"@"+tt.version, func(t *testing.T) {
			var got []string
			for _, f := range db.Affected(tt.module, tt.version) {
				got = append(got, f.ID+" "+f.Fixed)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("fields", func(t *testing.T) {
		got := db.Affected("golang.org/x/text", "v0.3.6")
		if len(got) != 2 {
			t.Fatalf("got %d findings, want 2", len(got))
		}
		f := got[0]
		if f.ID != "GO-2021-0113" || f.Summary != "Out-of-bounds read in golang.org/x/text/language" ||
			!slices.Equal(f.Aliases, []string{"CVE-2021-38561", "GHSA-ppp9-7jff-5vj2"}) || f.Fixed != "v0.3.7" {
			t.Errorf("got %+v, want GO-2021-0113 with its summary, aliases and fix", f)
		}
	})
	t.Run("nil", func(t *testing.T) {
		var db *vulndb.DB
		if got := db.Affected("golang.org/x/text", "v0.3.5"); got != nil {
			t.Errorf("got %+v from a nil DB, want nil", got)
		}
	})
}

// TestWriteLoad writes a database into a store and reads it back from the
// store, from a directory and over HTTP: every way gives the same files.
func TestWriteLoad(t *testing.T) {
	built := vulndbtest.SampleDB(t)
	st := memstore.New()
	if err := built.Write(t.Context(), st, "vuln/"); err != nil {
		t.Fatal(err)
	}
	var stored []string
	for _, name := range st.Names() {
		stored = append(stored, strings.TrimPrefix(name, "vuln/"))
	}
	if !slices.Equal(stored, built.Names()) {
		t.Fatalf("got stored %q, want %q under vuln/", st.Names(), built.Names())
	}

	dir := t.TempDir()
	vulndbtest.WriteDir(t, built, dir)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)

	for name, src := range map[string]vulndb.Source{
		"store": vulndb.StoreSource(st, "vuln/"),
		"dir":   vulndb.DirSource(dir),
		"http":  vulndb.HTTPSource(srv.Client(), srv.URL+"/"),
	} {
		t.Run(name, func(t *testing.T) {
			loaded, err := vulndb.Load(t.Context(), src)
			if err != nil {
				t.Fatal(err)
			}
			if !loaded.Modified().Equal(built.Modified()) {
				t.Errorf("got modified %v, want %v", loaded.Modified(), built.Modified())
			}
			if !slices.Equal(loaded.Names(), built.Names()) {
				t.Fatalf("got files %q, want %q", loaded.Names(), built.Names())
			}
			for _, n := range built.Names() {
				got, _ := loaded.File(n)
				want, _ := built.File(n)
				if !bytes.Equal(got, want) {
					t.Errorf("%s: got %s, want %s", n, got, want)
				}
			}
			if got := loaded.Affected("golang.org/x/text", "v0.3.5"); len(got) != 2 {
				t.Errorf("got %+v, want GO-2021-0113 and GO-2022-1059", got)
			}
		})
	}

	t.Run("missing", func(t *testing.T) {
		_, err := vulndb.Load(t.Context(), vulndb.DirSource(t.TempDir()))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("got %v, want an error matching fs.ErrNotExist", err)
		}
		_, err = vulndb.Load(t.Context(), vulndb.HTTPSource(srv.Client(), srv.URL+"/nothing"))
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("HTTP: got %v, want an error matching fs.ErrNotExist", err)
		}
	})
	t.Run("bad name", func(t *testing.T) {
		if err := built.Write(t.Context(), st, "/abs/"); err == nil {
			t.Error("writing under /abs/: got no error, want an invalid store name")
		}
	})
}

func TestLatest(t *testing.T) {
	var l vulndb.Latest
	if got := l.Affected("golang.org/x/text", "v0.3.5"); got != nil {
		t.Errorf("got %+v before Set, want nil", got)
	}
	db := vulndbtest.SampleDB(t)
	l.Set(db)
	if l.DB() != db {
		t.Errorf("got DB %p, want %p", l.DB(), db)
	}
	if got := l.Affected("golang.org/x/text", "v0.3.5"); len(got) != 2 {
		t.Errorf("got %+v after Set, want two findings", got)
	}
}

// countingStore counts Puts.
type countingStore struct {
	*memstore.Store
	mu   sync.Mutex
	puts []string
}

func (s *countingStore) Put(ctx context.Context, name string, r io.Reader) error {
	s.mu.Lock()
	s.puts = append(s.puts, name)
	s.mu.Unlock()
	return s.Store.Put(ctx, name, r)
}

// TestWriteAgain checks that writing a database again rewrites only the
// files that differ, and db.json last.
func TestWriteAgain(t *testing.T) {
	db := vulndbtest.SampleDB(t)
	st := &countingStore{Store: memstore.New()}
	if err := db.Write(t.Context(), st, "vuln/"); err != nil {
		t.Fatal(err)
	}
	if got, want := len(st.puts), len(db.Names()); got != want {
		t.Errorf("first write: got %d puts, want %d", got, want)
	}
	if last := st.puts[len(st.puts)-1]; !strings.HasPrefix(last, "vuln/index/db.json") {
		t.Errorf("first write: last put %s, want index/db.json last", last)
	}
	st.puts = nil
	if err := st.Store.Put(t.Context(), "vuln/ID/GO-2021-0113.json", strings.NewReader("damaged")); err != nil {
		t.Fatal(err)
	}
	if err := db.Write(t.Context(), st, "vuln/"); err != nil {
		t.Fatal(err)
	}
	if want := []string{"vuln/ID/GO-2021-0113.json"}; !slices.Equal(st.puts, want) {
		t.Errorf("second write: got puts %q, want %q", st.puts, want)
	}
	got, _ := st.Bytes("vuln/ID/GO-2021-0113.json")
	if want, _ := db.File("ID/GO-2021-0113.json"); !bytes.Equal(got, want) {
		t.Errorf("second write left %q, want the entry", got)
	}
}
