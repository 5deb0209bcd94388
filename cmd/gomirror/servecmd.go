package main

import (
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/server"
	"github.com/gomirror/gomirror/internal/upstream"
)

// serverCommands returns the serve command.
func (a *app) serverCommands() []*cobra.Command {
	def := config.Default(a.getenv)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the module proxy and checksum database mirror",
		Long: `Serve runs a Go module proxy (the GOPROXY protocol) that verifies every file
against the checksum database before storing it, and proxies the checksum
database itself under /sumdb/.

Each setting can also come from a GOMIRROR_* environment variable or a YAML
file given with --config; flags win over the environment, which wins over
the file.`,
		Args: cobra.NoArgs,
	}
	loader := config.Bind(cmd.Flags(), def)
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		cfg, err := loader.Load(def, a.getenv)
		if err != nil {
			return err
		}
		log, flushLog := newLogger(a.stderr, cfg)
		defer flushLog()
		ctx := cmd.Context()
		srv, err := server.New(ctx, cfg, log, a.env)
		if err != nil {
			return err
		}
		defer srv.Close()
		ln, err := net.Listen("tcp", cfg.Listen)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		log.Info("serving", "addr", ln.Addr().String(), "data", cfg.Data, "upstream", upstream.Redact(cfg.Upstream), "sumdb", cfg.SumDB)
		return srv.Serve(ctx, ln)
	}
	return []*cobra.Command{cmd}
}
