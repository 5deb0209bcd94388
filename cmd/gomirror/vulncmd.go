package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/proxypath"
	"github.com/gomirror/gomirror/internal/server"
	"github.com/gomirror/gomirror/internal/store"
	"github.com/gomirror/gomirror/internal/vulndb"
)

// vulnFoundExit is the exit status of gomirror vuln when a stored version
// is affected: govulncheck's.
const vulnFoundExit = 3

func (a *app) vulnCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "vuln [flags]",
		Short: "Report the stored module versions that known vulnerabilities affect",
		Long: `Vuln lists every module version in the store that an entry of the Go
vulnerability database affects, with the entry's ID, the version that fixes
it and its summary; --json gives the same as JSON.

The database is the one serve keeps under vuln/ in the store, or the one
--db names: a directory (as govulncheck -db file://DIR reads it) or the URL
of a served database (such as http://mirror:8080/vuln). Nothing else is
fetched.

It exits with status 3 when a stored version is affected, as govulncheck
does, and 1 on an error.`,
		Args: cobra.NoArgs,
	}
	// The same settings as import and fsck, so that one --config or one
	// set of flags serves all three; only the store's are used.
	def := config.Default(a.getenv)
	loader := config.Bind(cmd.Flags(), def, storeSettings...)
	dbFlag := cmd.Flags().String("db", "", "vulnerability database: a directory or an http(s) URL (default: vuln/ in the store)")
	jsonFlag := cmd.Flags().Bool("json", false, "print JSON")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		ctx := cmd.Context()
		log := a.storeLogger()
		cfg, err := loader.Load(def, a.getenv)
		if err != nil {
			return err
		}
		st, err := server.OpenStore(ctx, cfg, log, a.env)
		if err != nil {
			return err
		}
		defer closeStore(st)
		walker, ok := st.(store.Walker)
		if !ok {
			return fmt.Errorf("storage: %T cannot list what it holds", st)
		}
		src, where := vulndb.StoreSource(st, vulndb.StorePrefix), vulndb.StorePrefix+" in the store"
		if *dbFlag != "" {
			if src, err = dbSource(*dbFlag); err != nil {
				return err
			}
			where = *dbFlag
		}
		db, err := vulndb.Load(ctx, src)
		switch {
		case errors.Is(err, fs.ErrNotExist) && *dbFlag == "":
			return fmt.Errorf("no vulnerability database under %s: serve keeps one there, or give one with --db DIR|URL", where)
		case err != nil && *dbFlag == "":
			return fmt.Errorf("%s: %w", where, err)
		case err != nil:
			return fmt.Errorf("--db %s: %w", where, err)
		}
		versions, err := storedVersions(ctx, walker)
		if err != nil {
			return err
		}
		rep := vulnReport{
			Database: vulnDatabase{Source: where, Modified: db.Modified(), Entries: db.Len()},
			Checked:  len(versions),
			Affected: []vulnAffected{},
		}
		for _, v := range versions {
			found := db.Affected(v.Path, v.Version)
			if len(found) == 0 {
				continue
			}
			av := vulnAffected{Module: v.Path, Version: v.Version}
			for _, f := range found {
				av.Vulns = append(av.Vulns, vulnFinding{ID: f.ID, Aliases: f.Aliases, Summary: f.Summary, Fixed: f.Fixed})
			}
			rep.Affected = append(rep.Affected, av)
		}
		if *jsonFlag {
			enc := json.NewEncoder(a.stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
		} else {
			rep.printTable(a)
		}
		if len(rep.Affected) > 0 {
			return exitError{vulnFoundExit}
		}
		return nil
	}
	return cmd
}

// dbSource opens the database --db names.
func dbSource(db string) (vulndb.Source, error) {
	switch {
	case strings.HasPrefix(db, "http://") || strings.HasPrefix(db, "https://"):
		return vulndb.HTTPSource(&http.Client{Timeout: 5 * time.Minute}, db), nil
	case strings.HasPrefix(db, "file://"):
		db = strings.TrimPrefix(db, "file://")
	}
	fi, err := os.Stat(db)
	if err != nil {
		return nil, fmt.Errorf("--db: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("--db: %s is not a directory", db)
	}
	return vulndb.DirSource(filepath.Clean(db)), nil
}

// storedVersion is a module version with a .info, .mod or .zip in the
// store.
type storedVersion struct{ Path, Version string }

// storedVersions lists the module versions of the store, sorted, leaving
// out the checksum database, the vulnerability database and quarantined
// files.
func storedVersions(ctx context.Context, w store.Walker) ([]storedVersion, error) {
	seen := make(map[storedVersion]bool)
	err := w.Walk(ctx, "", func(name string) error {
		for _, skip := range []string{"sumdb/", "quarantine/", vulndb.StorePrefix} {
			if strings.HasPrefix(name, skip) {
				return nil
			}
		}
		n, err := proxypath.Parse(name)
		if err != nil || (n.Kind != proxypath.Info && n.Kind != proxypath.Mod && n.Kind != proxypath.Zip) {
			return nil
		}
		seen[storedVersion{n.Path, n.Version}] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing the store: %w", err)
	}
	versions := make([]storedVersion, 0, len(seen))
	for v := range seen {
		versions = append(versions, v)
	}
	slices.SortFunc(versions, func(a, b storedVersion) int {
		if c := strings.Compare(a.Path, b.Path); c != 0 {
			return c
		}
		return strings.Compare(a.Version, b.Version)
	})
	return versions, nil
}

// vulnReport is what gomirror vuln --json prints.
type vulnReport struct {
	Database vulnDatabase   `json:"database"`
	Checked  int            `json:"checked"` // module versions in the store
	Affected []vulnAffected `json:"affected"`
}

type vulnDatabase struct {
	Source   string    `json:"source"`
	Modified time.Time `json:"modified"`
	Entries  int       `json:"entries"`
}

type vulnAffected struct {
	Module  string        `json:"module"`
	Version string        `json:"version"`
	Vulns   []vulnFinding `json:"vulns"`
}

type vulnFinding struct {
	ID      string   `json:"id"`
	Aliases []string `json:"aliases,omitempty"`
	Summary string   `json:"summary,omitempty"`
	Fixed   string   `json:"fixed,omitempty"`
}

func (r *vulnReport) printTable(a *app) {
	ids := make(map[string]bool)
	if len(r.Affected) > 0 {
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "MODULE\tVERSION\tID\tFIXED\tSUMMARY")
		for _, av := range r.Affected {
			for _, f := range av.Vulns {
				ids[f.ID] = true
				fixed := f.Fixed
				if fixed == "" {
					fixed = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", av.Module, av.Version, f.ID, fixed, f.Summary)
			}
		}
		tw.Flush()
	}
	fmt.Fprintf(a.stdout, "%d of %d stored module versions affected by %d known vulnerabilities (database %s, %d entries, modified %s)\n",
		len(r.Affected), r.Checked, len(ids), r.Database.Source, r.Database.Entries, r.Database.Modified.UTC().Format(time.RFC3339))
}
