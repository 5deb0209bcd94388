package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// app carries what every subcommand needs from the process: its environment
// and standard streams. Tests build one per call of run.
type app struct {
	env    []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// getenv looks key up in the app's environment; the last setting wins, as in
// the os package.
func (a *app) getenv(key string) string {
	v, _ := a.lookupEnv(key)
	return v
}

func (a *app) lookupEnv(key string) (string, bool) {
	for i := len(a.env) - 1; i >= 0; i-- {
		if k, v, ok := strings.Cut(a.env[i], "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// exitError makes run exit with code after printing nothing more: the
// command has already said what went wrong.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// run is the whole program: main only adds the process's context, arguments,
// environment and streams.
func run(ctx context.Context, args, env []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{env: env, stdin: stdin, stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:           "gomirror",
		Short:         "A self-hosted mirror for Go modules and the checksum database",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(a.serverCommands()...)
	root.AddCommand(a.storeCommands()...)
	root.AddCommand(a.clientCommands()...)
	root.AddCommand(a.vulnCommand())
	root.AddCommand(a.installCmd())
	root.AddCommand(a.syncCommands()...)

	err := root.ExecuteContext(ctx)
	var exit exitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.code
	default:
		fmt.Fprintf(stderr, "gomirror: %v\n", err)
		return 1
	}
}
