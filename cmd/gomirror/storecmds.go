package main

import "github.com/spf13/cobra"

// storeCommands returns the commands that maintain the store: import, fsck.
func (a *app) storeCommands() []*cobra.Command { return nil }
