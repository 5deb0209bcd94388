package pull_test

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"

	"github.com/gomirror/gomirror/internal/pull"
	sumdbproxy "github.com/gomirror/gomirror/internal/sumdb"
	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
	"github.com/gomirror/gomirror/internal/vuln"
	"github.com/gomirror/gomirror/internal/vulndb"
)

func init() {
	ecosystems = append(ecosystems,
		ecosystem{name: "vuln", setup: setupVuln},
		ecosystem{name: "sumdb", setup: setupSumDB},
	)
}

// setupVuln mirrors a vulnerability database by pull-through: every file
// is metadata, an entry standing in for the immutable file.
func setupVuln(t *testing.T, upstreamURL func() string, client *http.Client, cache *pull.Cache) served {
	const id = "GO-2024-0001"
	entry, err := json.Marshal(map[string]any{
		"schema_version": "1.3.1", "id": id, "modified": "2024-01-02T03:04:05Z",
		"summary":  "a vulnerability of the table test",
		"details":  strings.Repeat("A vulnerability of the table test. ", 100),
		"affected": []any{map[string]any{"package": map[string]string{"name": "example.com/table", "ecosystem": "Go"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	origin := http.NewServeMux()
	origin.HandleFunc("/index/db.json", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"modified":"2024-01-02T03:04:05Z"}`))
	})
	origin.HandleFunc("/"+vulndb.EntryName(id), func(w http.ResponseWriter, r *http.Request) { w.Write(entry) })
	build := func(cache *pull.Cache) http.Handler {
		return &lazy{build: func() (http.Handler, error) {
			return vuln.New(vuln.Config{Cache: cache, Upstream: upstreamURL(), HTTP: upstreamFor(client), TTL: time.Hour})
		}}
	}
	return served{
		origin: origin, handler: build(cache), replica: build,
		file: vuln.Prefix + vulndb.EntryName(id), fileUp: vulndb.EntryName(id), fileName: vulndb.StorePrefix + vulndb.EntryName(id),
		eco: vuln.Ecosystem, kind: "entry", want: entry, meta: vuln.Prefix + "index/db.json",
	}
}

// setupSumDB proxies a checksum database: a lookup is the immutable file,
// the signed tree head the metadata.
func setupSumDB(t *testing.T, upstreamURL func() string, client *http.Client, cache *pull.Cache) served {
	const name = "sum.table.test"
	mod := sumdbtest.NewModule(t, "example.com/table", "v1.0.0", map[string]string{"table.go": "package table\n"})
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	gosum := []byte(mod.GoSum())
	origin := sumdb.NewServer(sumdb.NewTestServer(skey, func(path, vers string) ([]byte, error) {
		if path == mod.Path && vers == mod.Version.Version {
			return gosum, nil
		}
		return nil, errNotHere
	}))
	build := func(cache *pull.Cache) http.Handler {
		stateDir := t.TempDir()
		return &lazy{build: func() (http.Handler, error) {
			return sumdbproxy.New(sumdbproxy.Config{
				GOSUMDB: vkey + " " + upstreamURL(), Store: cache.Store(), StateDir: stateDir,
				LatestTTL: time.Hour, Upstream: upstreamFor(client), Cache: cache,
			})
		}}
	}
	lookup := "lookup/" + escaped(t, mod.Version)
	// The answer for the only module of a database that holds nothing
	// else is the same every time it is asked for.
	rec := httptest.NewRecorder()
	origin.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/"+lookup, nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("the table's checksum database: lookup: got %d %s", rec.Code, rec.Body)
	}
	return served{
		origin: origin, handler: build(cache), replica: build,
		file: "/sumdb/" + name + "/" + lookup, fileUp: "/" + lookup, fileName: "sumdb/" + name + "/" + lookup,
		eco: "sumdb", kind: "lookup", want: rec.Body.Bytes(), meta: "/sumdb/" + name + "/latest",
	}
}

var errNotHere = pull.NotFound("not in the table's checksum database")

func escaped(t *testing.T, v module.Version) string {
	p, err := module.EscapePath(v.Path)
	if err != nil {
		t.Fatal(err)
	}
	return p + "@" + v.Version
}
