package sdk

import (
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb"
)

func TestOpenChecksumDB(t *testing.T) {
	for _, tc := range []struct {
		gosumdb, name, base, err string
	}{
		{gosumdb: "", name: "sum.golang.org"},
		{gosumdb: "sum.golang.org", name: "sum.golang.org"},
		{gosumdb: "sum.golang.google.cn", name: "sum.golang.org", base: "https://sum.golang.google.cn"},
		{gosumdb: SumGolangOrgKey + " https://sumdb.example/", name: "sum.golang.org", base: "https://sumdb.example"},
		{gosumdb: "off", err: "GOSUMDB=off"},
		{gosumdb: "a b c", err: "too many fields"},
		{gosumdb: "sum.example.test", err: "invalid GOSUMDB"},
	} {
		in := &Installer{Mirror: "http://mirror.invalid", GOSUMDB: tc.gosumdb, StateDir: t.TempDir()}
		db, err := in.openChecksumDB(t.Context())
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("GOSUMDB=%q: got %v, want an error saying %q", tc.gosumdb, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("GOSUMDB=%q: %v", tc.gosumdb, err)
			continue
		}
		if db.name != tc.name || db.base != tc.base {
			t.Errorf("GOSUMDB=%q: got name %q base %q, want %q %q", tc.gosumdb, db.name, db.base, tc.name, tc.base)
		}
	}
	if _, err := (&Installer{}).openChecksumDB(t.Context()); err == nil {
		t.Errorf("no StateDir: got no error")
	}
}

// TestChecksumDBBase checks the go command's choice of a path to the
// database: through the mirror when it says it proxies the database,
// directly when it answers 404, and not at all when it fails.
func TestChecksumDBBase(t *testing.T) {
	for _, tc := range []struct {
		status int
		base   string
		fails  bool
	}{
		{http.StatusOK, "MIRROR/sumdb/sum.golang.org", false},
		{http.StatusNotFound, "https://sum.golang.org", false},
		{http.StatusGone, "https://sum.golang.org", false},
		{http.StatusBadGateway, "", true},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/sumdb/sum.golang.org/supported" {
				t.Errorf("unexpected request %s", r.URL.Path)
			}
			w.WriteHeader(tc.status)
		}))
		in := &Installer{Mirror: srv.URL, HTTP: srv.Client(), StateDir: t.TempDir()}
		db, err := in.openChecksumDB(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		db.findBase()
		want := strings.Replace(tc.base, "MIRROR", srv.URL, 1)
		if db.base != want || (db.baseErr != nil) != tc.fails {
			t.Errorf("supported answers %d: got base %q, error %v; want %q, error %v", tc.status, db.base, db.baseErr, want, tc.fails)
		}
		srv.Close()
	}
}

func TestChecksumDBFiles(t *testing.T) {
	state := t.TempDir()
	db := &checksumDB{key: "KEY", stateDir: state, cacheDir: filepath.Join(t.TempDir(), "cache")}
	if key, err := db.ReadConfig("key"); err != nil || string(key) != "KEY" {
		t.Errorf("ReadConfig(key) = %q, %v", key, err)
	}
	if data, err := db.ReadConfig("sum.example.test/latest"); err != nil || len(data) != 0 {
		t.Errorf("ReadConfig before any write = %q, %v; want empty", data, err)
	}
	if err := db.WriteConfig("sum.example.test/latest", nil, []byte("tree 1")); err != nil {
		t.Fatal(err)
	}
	// Another install wrote in between: the write must not be lost.
	if err := db.WriteConfig("sum.example.test/latest", nil, []byte("tree 2")); !errors.Is(err, sumdb.ErrWriteConflict) {
		t.Errorf("a stale write: got %v, want ErrWriteConflict", err)
	}
	if err := db.WriteConfig("sum.example.test/latest", []byte("tree 1"), []byte("tree 3")); err != nil {
		t.Fatal(err)
	}
	if data, _ := db.ReadConfig("sum.example.test/latest"); string(data) != "tree 3" {
		t.Errorf("latest = %q, want %q", data, "tree 3")
	}
	if _, err := db.ReadConfig("../outside"); err == nil {
		t.Errorf("ReadConfig(../outside): no error")
	}
	if err := db.WriteConfig("key", nil, []byte("x")); err == nil {
		t.Errorf("WriteConfig(key): no error")
	}

	if _, err := db.ReadCache("sum.example.test/tile/8/0/000"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadCache before a write: got %v, want ErrNotExist", err)
	}
	db.WriteCache("sum.example.test/tile/8/0/000", []byte("tile"))
	if data, err := db.ReadCache("sum.example.test/tile/8/0/000"); err != nil || string(data) != "tile" {
		t.Errorf("ReadCache = %q, %v", data, err)
	}
	db.WriteCache("../../outside", []byte("x"))
	if _, err := db.ReadCache("../../outside"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("ReadCache(../../outside): got %v, want ErrNotExist", err)
	}
	noCache := &checksumDB{stateDir: state}
	noCache.WriteCache("a", []byte("x"))
	if _, err := noCache.ReadCache("a"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("without a cache directory: got %v, want ErrNotExist", err)
	}
}
