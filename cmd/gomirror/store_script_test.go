package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
	"golang.org/x/mod/module"

	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
)

// TestStoreScripts runs the import and fsck scripts against a fake checksum
// database served by this test process. Each script gets, in $WORK:
//
//	modcache/   a module cache with example.com/good, corp.example.com/secret
//	            (private) and example.com/bad, whose zip is not the one the
//	            database knows
//	goodcache/  a module cache with example.com/good only
//	tampered.zip  another build of example.com/good v1.0.0
//
// and the variables SUMDB (a --sumdb value reaching the fake database),
// and, quoted for regular expressions, BAD_WANT and BAD_GOT (the published
// and the cached zip hashes of example.com/bad), GOOD_WANT and TAMPERED_GOT.
func TestStoreScripts(t *testing.T) {
	good := sumdbtest.NewModule(t, "example.com/good", "v1.0.0", map[string]string{"good.go": "package good\n"})
	goodTampered := sumdbtest.NewModule(t, "example.com/good", "v1.0.0", map[string]string{"good.go": "package good // tampered\n"})
	published := sumdbtest.NewModule(t, "example.com/bad", "v1.0.0", map[string]string{"bad.go": "package bad\n"})
	cached := sumdbtest.NewModule(t, "example.com/bad", "v1.0.0", map[string]string{"bad.go": "package bad // tampered\n"})
	private := sumdbtest.NewModule(t, "corp.example.com/secret", "v1.0.0", nil)
	db := sumdbtest.NewDB(t, "sum.example.test", good, published)

	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script", "store"),
		Setup: func(env *testscript.Env) error {
			modcache := filepath.Join(env.WorkDir, "modcache")
			goodcache := filepath.Join(env.WorkDir, "goodcache")
			for _, m := range []*sumdbtest.Module{good, cached, private} {
				if err := writeModCache(modcache, m); err != nil {
					return err
				}
			}
			if err := writeModCache(goodcache, good); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(env.WorkDir, "tampered.zip"), goodTampered.Zip, 0o666); err != nil {
				return err
			}
			env.Setenv("SUMDB", db.Key+" "+db.URL)
			env.Setenv("BAD_WANT", regexp.QuoteMeta(published.ZipHash))
			env.Setenv("BAD_GOT", regexp.QuoteMeta(cached.ZipHash))
			env.Setenv("GOOD_WANT", regexp.QuoteMeta(good.ZipHash))
			env.Setenv("TAMPERED_GOT", regexp.QuoteMeta(goodTampered.ZipHash))
			return nil
		},
	})
}

// writeModCache writes m's files into the module cache dir as the go
// command lays them out, with the files import must leave alone.
func writeModCache(dir string, m *sumdbtest.Module) error {
	esc, err := module.EscapePath(m.Path)
	if err != nil {
		return err
	}
	vdir := filepath.Join(dir, "cache", "download", filepath.FromSlash(esc), "@v")
	if err := os.MkdirAll(vdir, 0o777); err != nil {
		return err
	}
	v := m.Version.Version
	for name, data := range map[string][]byte{
		v + ".info": m.Info, v + ".mod": m.Mod, v + ".zip": m.Zip,
		v + ".lock": nil, v + ".ziphash": []byte(m.ZipHash), "list": []byte(v + "\n"),
	} {
		if err := os.WriteFile(filepath.Join(vdir, name), data, 0o666); err != nil {
			return err
		}
	}
	return nil
}
