package main

import (
	"os"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestMain lets testscript scripts run gomirror as a command: the test
// binary re-executes itself as "gomirror".
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"gomirror": func() { os.Exit(runProcess()) },
	})
}
