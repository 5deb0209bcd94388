package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/fsck"
	"github.com/gomirror/gomirror/internal/seed"
	"github.com/gomirror/gomirror/internal/store/disk"
	"github.com/gomirror/gomirror/internal/sumdb"
)

// storeCommands returns the commands that maintain the store: import, fsck.
func (a *app) storeCommands() []*cobra.Command {
	return []*cobra.Command{a.importCommand(), a.fsckCommand()}
}

// storeFlags are the settings import and fsck share with serve: same names,
// same meaning, same GOMIRROR_* variables.
type storeFlags struct {
	flags                                 *pflag.FlagSet
	data, sumdb, upstream, private, nosum string
	jobs                                  int
}

func (a *app) bindStoreFlags(cmd *cobra.Command) *storeFlags {
	def := config.Default(a.getenv)
	f := &storeFlags{flags: cmd.Flags()}
	fs := cmd.Flags()
	fs.StringVar(&f.data, "data", def.Data, "data directory, laid out like GOMODCACHE/cache/download (env GOMIRROR_DATA)")
	fs.StringVar(&f.sumdb, "sumdb", def.SumDB, "checksum database, in GOSUMDB syntax (env GOMIRROR_SUMDB)")
	fs.StringVar(&f.upstream, "upstream", def.Upstream, "upstream proxies, in GOPROXY syntax, asked whether they proxy the checksum database (env GOMIRROR_UPSTREAM)")
	fs.StringVar(&f.private, "private", def.Private, "private module patterns, in GOPRIVATE syntax: checked structurally only (env GOMIRROR_PRIVATE)")
	fs.StringVar(&f.nosum, "nosumdb", def.NoSumDB, "module patterns not looked up in the checksum database, in GONOSUMDB syntax (env GOMIRROR_NOSUMDB)")
	fs.IntVar(&f.jobs, "jobs", 4, "module versions checked in parallel")
	return f
}

// load applies the GOMIRROR_* variables to the flags that were not set.
func (f *storeFlags) load(getenv func(string) string) error {
	for _, s := range []struct {
		name string
		val  *string
	}{{"data", &f.data}, {"sumdb", &f.sumdb}, {"upstream", &f.upstream}, {"private", &f.private}, {"nosumdb", &f.nosum}} {
		if v := getenv(config.EnvName(s.name)); v != "" && !f.flags.Changed(s.name) {
			*s.val = v
		}
	}
	if f.data == "" {
		return fmt.Errorf("--data: empty")
	}
	if f.jobs < 1 {
		return fmt.Errorf("--jobs: must be at least 1, got %d", f.jobs)
	}
	return nil
}

// open opens the store in the data directory and the checksum database
// client that import and fsck verify with.
func (f *storeFlags) open(log *slog.Logger) (*disk.Store, *sumdb.SumDB, error) {
	st, err := disk.New(f.data, log)
	if err != nil {
		return nil, nil, fmt.Errorf("--data: %w", err)
	}
	var proxies []string
	for entry := range strings.FieldsFuncSeq(f.upstream, func(r rune) bool { return r == ',' || r == '|' }) {
		proxies = append(proxies, strings.TrimSpace(entry))
	}
	sdb, err := sumdb.New(sumdb.Config{
		GOSUMDB:  f.sumdb,
		Proxies:  proxies,
		Private:  f.private,
		NoSumDB:  f.nosum,
		Store:    st,
		StateDir: filepath.Join(f.data, ".state", "sumdb"),
		Logger:   log,
	})
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("--sumdb: %w", err)
	}
	return st, sdb, nil
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
		if err := flags.load(a.getenv); err != nil {
			return err
		}
		log := a.storeLogger()
		st, sdb, err := flags.open(log)
		if err != nil {
			return err
		}
		defer st.Close()
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
		if err := flags.load(a.getenv); err != nil {
			return err
		}
		log := a.storeLogger()
		st, sdb, err := flags.open(log)
		if err != nil {
			return err
		}
		defer st.Close()
		p := a.newProgress("fsck")
		rep, err := fsck.Run(cmd.Context(), fsck.Options{
			Store:   st,
			Checker: sdb,
			DryRun:  *dryRun,
			Jobs:    flags.jobs,
			TempDir: filepath.Join(flags.data, ".tmp"),
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
