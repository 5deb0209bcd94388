package main

import "github.com/spf13/cobra"

// clientCommands returns the client toolkit: use, restore, env, doctor,
// bench, verify.
func (a *app) clientCommands() []*cobra.Command { return nil }
