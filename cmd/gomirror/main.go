// Command gomirror runs a self-hosted mirror for Go modules and the checksum
// database, and ships the client tools that point a machine at mirrors.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	os.Exit(runProcess())
}

// runProcess runs gomirror as this process, with a context that ends on
// SIGINT or SIGTERM.
func runProcess() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr)
}
