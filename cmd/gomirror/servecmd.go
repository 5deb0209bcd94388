package main

import "github.com/spf13/cobra"

// serverCommands returns the serve command.
func (a *app) serverCommands() []*cobra.Command { return nil }
