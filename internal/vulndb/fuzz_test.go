package vulndb_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/gomirror/gomirror/internal/vulndb"
	"github.com/gomirror/gomirror/internal/vulndb/vulndbtest"
)

// FuzzParseEntry checks that any input either is refused or gives an entry
// whose Affected answers without panicking and names only its own ID.
func FuzzParseEntry(f *testing.F) {
	for _, data := range vulndbtest.OSVFiles() {
		f.Add(data, "v0.3.5")
	}
	f.Add([]byte(`{"id":"GO-2021-0001","affected":[{"package":{"name":"m"},"ranges":[{"type":"SEMVER","events":[{"fixed":"1.0.0"},{"introduced":"0"},{"introduced":"0"}]}]}]}`), "v0.1.0")
	f.Add([]byte(`{"id":"GO-2021-0001","affected":[{"package":{"name":"m"},"ranges":[{"type":"SEMVER"}]}]}`), "v1.0.0")
	f.Add([]byte(`null`), "")
	f.Fuzz(func(t *testing.T, data []byte, version string) {
		e, err := vulndb.ParseEntry(data)
		if err != nil {
			return
		}
		z := vulndbtest.ModuleZip(t, vulndbtest.SampleVersion, map[string][]byte{"data/osv/" + e.ID + ".json": data})
		db, err := vulndb.Build(t.Context(), bytes.NewReader(z), int64(len(z)), vulndbtest.SampleTime())
		if err != nil {
			t.Fatalf("ParseEntry accepted %q but Build refused it: %v", data, err)
		}
		for _, a := range e.Affected {
			for _, found := range db.Affected(a.Module.Path, version) {
				if found.ID != e.ID {
					t.Errorf("got finding %s from a database of %s", found.ID, e.ID)
				}
			}
		}
	})
}

// FuzzParseIndex feeds the same input to the three index parsers.
func FuzzParseIndex(f *testing.F) {
	db := vulndbtest.SampleDB(f)
	for _, name := range []string{vulndb.DBIndex, vulndb.ModulesIndex, vulndb.VulnsIndex} {
		data, _ := db.File(name)
		f.Add(data)
	}
	f.Add([]byte(`[{"path":"m","vulns":[{"id":"../x"}]}]`))
	f.Add([]byte(`[{"id":"GO-2021-0001"},{"id":"GO-2021-0001"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		vulndb.ParseDBMeta(data)
		if mods, err := vulndb.ParseModules(data); err == nil {
			seen := make(map[string]bool)
			for _, m := range mods {
				if m.Path == "" || seen[m.Path] {
					t.Errorf("accepted a module with an empty or repeated path %q", m.Path)
				}
				seen[m.Path] = true
			}
		}
		if vulns, err := vulndb.ParseVulns(data); err == nil {
			var ids []string
			for _, v := range vulns {
				ids = append(ids, v.ID)
			}
			slices.Sort(ids)
			if len(slices.Compact(ids)) != len(vulns) {
				t.Errorf("accepted repeated IDs in %q", data)
			}
		}
	})
}

// FuzzBuild builds a database from arbitrary bytes given as a zip.
func FuzzBuild(f *testing.F) {
	f.Add(vulndbtest.SampleZip(f))
	f.Add(vulndbtest.ModuleZip(f, "v1.0.0", map[string][]byte{"data/osv/GO-2021-0001.json": []byte(`{"id":"GO-2021-0001"}`)}))
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, data []byte) {
		db, err := vulndb.Build(t.Context(), bytes.NewReader(data), int64(len(data)), vulndbtest.SampleTime())
		if err != nil {
			return
		}
		for _, name := range db.Names() {
			if _, ok := db.File(name); !ok {
				t.Errorf("Names lists %s but File has none", name)
			}
		}
	})
}
