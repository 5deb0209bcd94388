package main

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/gomirror/gomirror/internal/jobs"
	"github.com/gomirror/gomirror/internal/sumdb/sumdbtest"
)

// vulnMirror answers the requests of a vuln job, as a mirror would.
func vulnMirror(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/vuln/index/db.json":
		w.Write([]byte(`{"modified":"2026-01-01T00:00:00Z"}`))
	case "/vuln/index/modules.json":
		w.Write([]byte(`[]`))
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

// TestSyncScripts runs the scripts of gomirror sync. Each script gets, in
// its environment:
//
//	SERVER    a running server's URL, with the jobs vulndb (which succeeds)
//	          and broken (an npm job whose package does not exist)
//	UPSTREAM  a fake module proxy serving example.com/hello v1.0.0
//	SUMDB     a --sumdb value reaching the fake checksum database
func TestSyncScripts(t *testing.T) {
	runner, err := jobs.New(jobs.Options{
		Handler: http.HandlerFunc(vulnMirror),
		Jobs: []jobs.Spec{
			{Name: "vulndb", Kind: "vuln", Schedule: "1h"},
			{Name: "broken", Kind: "npm", Schedule: "0 */6 * * *", NPM: &jobs.Packages{Packages: []string{"no-such-package"}}},
		},
		StateDir: t.TempDir(),
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/-/jobs", runner.Handler())
	mux.Handle("/-/jobs/", runner.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	hello := sumdbtest.NewModule(t, "example.com/hello", "v1.0.0", map[string]string{"hello.go": "package hello\n"})
	db := sumdbtest.NewDB(t, "sum.example.test", hello)
	up := newFakeUpstream(t, hello)
	guard := guardEnv(t)

	testscript.Run(t, testscript.Params{
		Dir: filepath.Join("testdata", "script", "sync"),
		Setup: func(env *testscript.Env) error {
			env.Setenv("HOME", env.WorkDir)
			env.Setenv("SERVER", srv.URL)
			env.Setenv("UPSTREAM", up.URL)
			env.Setenv("SUMDB", db.Key+" "+db.URL)
			for _, kv := range guard {
				k, v, _ := strings.Cut(kv, "=")
				env.Setenv(k, v)
			}
			return nil
		},
	})
}
