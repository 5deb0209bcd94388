// Package probes names the modules gomirror fetches to test a Go module
// mirror: a few small, popular modules at fixed versions, and a module that
// is released often, to tell whether a mirror is up to date.
package probes

import "golang.org/x/mod/module"

// Modules returns the modules `gomirror bench` fetches from every mirror
// (.info, .mod and .zip of each). They are small and widely used, so a
// mirror worth using has them cached.
func Modules() []module.Version {
	return []module.Version{
		{Path: "golang.org/x/sync", Version: "v0.10.0"},
		{Path: "github.com/google/uuid", Version: "v1.6.0"},
		{Path: "github.com/pkg/errors", Version: "v0.9.1"},
	}
}

// FreshModule is a module with frequent releases. A mirror whose @v/list
// lacks the newest version that other mirrors list is stale.
const FreshModule = "golang.org/x/tools"

// Known is the module `gomirror doctor` and `gomirror verify` fetch by
// default.
func Known() module.Version { return Modules()[0] }

// SumDB is the name of the Go checksum database.
const SumDB = "sum.golang.org"
