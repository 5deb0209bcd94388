package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/fsck"
	"github.com/gomirror/gomirror/internal/seed"
	"github.com/gomirror/gomirror/internal/server"
	"github.com/gomirror/gomirror/internal/store"
	"github.com/gomirror/gomirror/internal/sumdb"
)

// storeCommands returns the commands that maintain the store: import, fsck.
func (a *app) storeCommands() []*cobra.Command {
	return []*cobra.Command{a.importCommand(), a.fsckCommand()}
}

// storeSettings are the settings import and fsck share with serve: same
// names, same GOMIRROR_* variables, same --config file.
var storeSettings = []string{"data", "storage", "sumdb", "upstream", "private", "nosumdb"}

// storeFlags binds the shared settings and --jobs to cmd.
type storeFlags struct {
	def    config.Config
	loader *config.Loader
	jobs   int
}

func (a *app) bindStoreFlags(cmd *cobra.Command) *storeFlags {
	f := &storeFlags{def: config.Default(a.getenv)}
	f.loader = config.Bind(cmd.Flags(), f.def, storeSettings...)
	cmd.Flags().IntVar(&f.jobs, "jobs", 4, "module versions checked in parallel")
	return f
}

// open loads the configuration and opens the store and the checksum
// database client that import and fsck verify with, as serve would.
func (f *storeFlags) open(ctx context.Context, a *app, log *slog.Logger) (config.Config, store.Store, *sumdb.SumDB, error) {
	if f.jobs < 1 {
		return config.Config{}, nil, nil, fmt.Errorf("--jobs: must be at least 1, got %d", f.jobs)
	}
	cfg, err := f.loader.Load(f.def, a.getenv)
	if err != nil {
		return config.Config{}, nil, nil, err
	}
	if err := os.MkdirAll(filepath.Join(cfg.Data, ".tmp"), 0o755); err != nil {
		return config.Config{}, nil, nil, fmt.Errorf("data: %w", err)
	}
	st, err := server.OpenStore(ctx, cfg, log, a.env)
	if err != nil {
		return config.Config{}, nil, nil, err
	}
	sdb, err := server.OpenSumDB(cfg, st, log, a.env)
	if err != nil {
		closeStore(st)
		return config.Config{}, nil, nil, err
	}
	return cfg, st, sdb, nil
}

// closeStore releases a store that holds resources.
func closeStore(st store.Store) {
	if c, ok := st.(io.Closer); ok {
		c.Close()
	}
}

func (a *app) importCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import [flags] DIR",
		Short: "Fill the store from an existing module cache, verifying every file",
		Long: `Import copies the modules of an existing module cache into the store.
DIR is a GOMODCACHE (go env GOMODCACHE) or its cache/download directory.

Every .zip and .mod file is checked against the checksum database, and every
.info file for consistency; private modules (--private, --nosumdb) are checked
for consistency only. Files already stored with the same content are
skipped. A file that fails is refused and named with the reason; the command
then exits with status 1.`,
		Args: cobra.ExactArgs(1),
	}
	flags := a.bindStoreFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		log := a.storeLogger()
		_, st, sdb, err := flags.open(cmd.Context(), a, log)
		if err != nil {
			return err
		}
		defer closeStore(st)
		p := a.newProgress("import")
		rep, err := seed.Import(cmd.Context(), seed.Options{
			Dir:     args[0],
			Store:   st,
			Checker: sdb,
			Jobs:    flags.jobs,
			Logger:  log,
			Progress: func(s seed.Progress) {
				p.update(s.Done, s.Total, fmt.Sprintf("%d imported, %d skipped, %d refused", s.Imported, s.Skipped, s.Refused))
			},
		})
		p.end()
		if rep != nil {
			for _, r := range rep.Refused {
				fmt.Fprintf(a.stdout, "refused %s: %s\n", r.Name, r.Reason)
			}
			fmt.Fprintf(a.stdout, "imported %d files, skipped %d, refused %d\n", rep.Imported, rep.Skipped, len(rep.Refused))
		}
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		if len(rep.Refused) > 0 {
			return exitError{1}
		}
		return nil
	}
	return cmd
}

func (a *app) fsckCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "fsck [flags]",
		Short: "Re-verify the stored modules and quarantine the ones that fail",
		Long: `Fsck checks every stored .zip and .mod file against the checksum database,
and every .info file for consistency. A file that fails is moved to
quarantine/<its name> in the data directory, so it is never served again,
and named with both hashes. With --dry-run, nothing is moved.

It exits with status 1 when a file failed or could not be checked.`,
		Args: cobra.NoArgs,
	}
	flags := a.bindStoreFlags(cmd)
	dryRun := cmd.Flags().Bool("dry-run", false, "report only; move nothing")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		log := a.storeLogger()
		cfg, st, sdb, err := flags.open(cmd.Context(), a, log)
		if err != nil {
			return err
		}
		defer closeStore(st)
		walkable, ok := st.(fsck.Store)
		if !ok {
			return fmt.Errorf("storage: %T cannot list what it holds", st)
		}
		p := a.newProgress("fsck")
		rep, err := fsck.Run(cmd.Context(), fsck.Options{
			Store:   walkable,
			Checker: sdb,
			DryRun:  *dryRun,
			Jobs:    flags.jobs,
			TempDir: filepath.Join(cfg.Data, ".tmp"),
			Logger:  log,
			Progress: func(s fsck.Progress) {
				p.update(s.Done, s.Total, fmt.Sprintf("%d files checked, %d quarantined, %d errors", s.Checked, s.Quarantined, s.Errors))
			},
		})
		p.end()
		if rep != nil {
			verb, summary := "quarantined", "quarantined"
			if *dryRun {
				verb, summary = "would quarantine", "to quarantine (dry run)"
			}
			for _, q := range rep.Quarantined {
				fmt.Fprintf(a.stdout, "%s %s: %s\n", verb, q.Name, q.Reason)
			}
			for _, e := range rep.Errors {
				fmt.Fprintf(a.stdout, "error %s: %s\n", e.Name, e.Reason)
			}
			fmt.Fprintf(a.stdout, "checked %d files: %d ok, %d %s, %d errors\n",
				rep.Checked, rep.OK, len(rep.Quarantined), summary, len(rep.Errors))
		}
		if err != nil {
			return fmt.Errorf("fsck: %w", err)
		}
		if len(rep.Quarantined) > 0 || len(rep.Errors) > 0 {
			return exitError{1}
		}
		return nil
	}
	return cmd
}

// storeLogger logs warnings and errors to stderr.
func (a *app) storeLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// progress shows how far a long command is on stderr: one line rewritten
// in place on a terminal, otherwise a plain line at each tenth of the way.
type progress struct {
	w        io.Writer
	verb     string
	terminal bool
	shown    int // tenths shown, when not a terminal
	dirty    bool
}

func (a *app) newProgress(verb string) *progress {
	p := &progress{w: a.stderr, verb: verb, shown: -1}
	if f, ok := a.stderr.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.terminal = true
		}
	}
	return p
}

func (p *progress) update(done, total int, detail string) {
	if p.terminal {
		fmt.Fprintf(p.w, "\r\033[K%s: %d/%d module versions, %s", p.verb, done, total, detail)
		p.dirty = true
		return
	}
	if tenth := done * 10 / max(total, 1); tenth > p.shown {
		p.shown = tenth
		fmt.Fprintf(p.w, "%s: %d/%d module versions, %s\n", p.verb, done, total, detail)
	}
}

// end finishes the line on a terminal.
func (p *progress) end() {
	if p.dirty {
		fmt.Fprintln(p.w)
	}
}
