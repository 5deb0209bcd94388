package main

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gomirror/gomirror/internal/client/mirrortest"
	"github.com/gomirror/gomirror/internal/client/probes"
)

// TestClientScripts runs the client toolkit's scripts (use, restore, env,
// doctor, bench, verify) against fake mirrors on 127.0.0.1, with a scratch
// HOME and GOENV and the real go command. HTTP_PROXY and HTTPS_PROXY point
// at a guard that fails the test if anything tries to leave the machine.
func TestClientScripts(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not in PATH; the client scripts need it")
	}
	u, err := mirrortest.NewUniverse(probes.SumDB, mirrortest.DefaultModules())
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for name, b := range map[string]mirrortest.Behavior{
		"FAST":    mirrortest.Fast,
		"SLOW":    mirrortest.Slow,
		"BROKEN":  mirrortest.Broken,
		"STALE":   mirrortest.Stale,
		"LIAR":    mirrortest.Lying,
		"NOSUMDB": mirrortest.NoSumDB,
	} {
		srv := httptest.NewServer(u.Handler(b))
		t.Cleanup(srv.Close)
		vars["MIRROR_"+name] = srv.URL
	}
	vars["MIRROR_FAST_LOCALHOST"] = strings.Replace(vars["MIRROR_FAST"], "127.0.0.1", "localhost", 1)
	vars["SUMDB_KEY"] = u.VerifierKey
	known := probes.Known()
	zipHash, modHash, _ := u.Hashes(known.Path, known.Version)
	vars["ZIP_HASH_RE"] = regexp.QuoteMeta(zipHash)
	vars["MOD_HASH_RE"] = regexp.QuoteMeta(modHash)

	guard := mirrortest.NewGuard()
	gs := httptest.NewServer(guard)
	t.Cleanup(gs.Close)
	t.Cleanup(func() {
		if hosts := guard.Hosts(); len(hosts) > 0 {
			t.Errorf("scripts tried to reach %v; want only the fakes on 127.0.0.1", hosts)
		}
	})

	testscript.Run(t, testscript.Params{
		Dir: "testdata/script/client",
		Setup: func(e *testscript.Env) error {
			home := filepath.Join(e.WorkDir, "home")
			if err := os.MkdirAll(home, 0o755); err != nil {
				return err
			}
			e.Setenv("HOME", home)
			e.Setenv("GOENV", filepath.Join(home, ".config", "go", "env"))
			e.Setenv("GOTOOLCHAIN", "local")
			e.Setenv("HTTP_PROXY", gs.URL)
			e.Setenv("HTTPS_PROXY", gs.URL)
			for k, v := range vars {
				e.Setenv(k, v)
			}
			return nil
		},
	})
}
