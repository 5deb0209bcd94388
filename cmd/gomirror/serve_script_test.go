package main

import (
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestServeScripts runs the scripts of gomirror serve's command line.
func TestServeScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script/serve",
		Setup: func(env *testscript.Env) error {
			env.Setenv("HOME", env.WorkDir)
			return nil
		},
	})
}
