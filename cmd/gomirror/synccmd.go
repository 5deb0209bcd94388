package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/jobs"
	"github.com/gomirror/gomirror/internal/server"
)

// syncCommands returns gomirror sync and its subcommands.
func (a *app) syncCommands() []*cobra.Command {
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "List, run and report the sync jobs that keep mirrors warm",
		Long: `Sync shows and runs the sync jobs declared under "sync:" in the configuration.

With --server URL it asks a running gomirror (its /-/jobs endpoints, which
must be reachable from where you run it). Without it, it works on this
machine: list and status read the jobs' state files, and run starts the
mirror in process against the store, as serve would, and runs the job
through it. Prefer --server while a server runs on the same store.`,
	}
	def := config.Default(a.getenv)
	var server, jobsFile string
	cmd.PersistentFlags().StringVar(&server, "server", "", "URL of a running gomirror to ask (env GOMIRROR_SERVER)")
	cmd.PersistentFlags().StringVar(&jobsFile, "jobs", "", `YAML file with the "sync:" section (env GOMIRROR_JOBS)`)
	loader := config.Bind(cmd.PersistentFlags(), def)
	src := func(c *cobra.Command) (jobSource, func(), error) {
		if server == "" {
			server = a.getenv("GOMIRROR_SERVER")
		}
		if server != "" {
			u, err := url.Parse(server)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return nil, nil, fmt.Errorf("--server %q: want an http or https URL", server)
			}
			return &remoteJobs{base: strings.TrimRight(server, "/"), client: &http.Client{}}, func() {}, nil
		}
		if jobsFile == "" {
			jobsFile = a.getenv("GOMIRROR_JOBS")
		}
		cfg, err := loader.Load(def, a.getenv)
		if err != nil {
			return nil, nil, err
		}
		sc := cfg.Sync // from the sync: section of --config
		if jobsFile != "" {
			if sc, err = jobs.LoadFile(jobsFile); err != nil {
				return nil, nil, err
			}
		}
		if len(sc.Jobs) == 0 {
			return nil, nil, errors.New("no jobs: give --server URL of a running gomirror, or a --config (or --jobs FILE) with a sync: section")
		}
		return &localJobs{a: a, cfg: cfg, sync: sc}, func() {}, nil
	}

	list := &cobra.Command{
		Use:   "list",
		Short: "List the sync jobs with their last result and next run",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, done, err := src(c)
			if err != nil {
				return err
			}
			defer done()
			all, err := s.list(c.Context())
			if err != nil {
				return err
			}
			printJobs(a.stdout, all, time.Now())
			return nil
		},
	}
	status := &cobra.Command{
		Use:   "status",
		Short: "Print every sync job's state as JSON",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			s, done, err := src(c)
			if err != nil {
				return err
			}
			defer done()
			all, err := s.list(c.Context())
			if err != nil {
				return err
			}
			enc := json.NewEncoder(a.stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(all)
		},
	}
	run := &cobra.Command{
		Use:   "run NAME",
		Short: "Run a sync job now and wait for its end",
		Long: `Run runs the job NAME now, or joins its run under way, and waits for it to
end. It shows the progress on standard error when that is a terminal, and
prints the outcome. It exits 0 when the run succeeded, 1 otherwise.`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			s, done, err := src(c)
			if err != nil {
				return err
			}
			defer done()
			bar := newProgressLine(a.stderr, args[0])
			st, err := s.run(c.Context(), args[0], bar.update)
			bar.finish()
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%s: %s: %d requests, %d failed, %s in %v\n", st.Name, st.Result,
				st.Requests, st.Failures, humanBytes(st.Bytes), st.LastEnd.Sub(st.LastStart).Round(time.Millisecond))
			if st.Result != jobs.Success {
				if st.Error != "" {
					fmt.Fprintf(a.stderr, "gomirror: sync %s: %s\n", st.Name, st.Error)
				}
				return exitError{code: 1}
			}
			return nil
		},
	}
	cmd.AddCommand(list, status, run)
	return []*cobra.Command{cmd}
}

// jobSource is where the sync command finds the jobs: a server, or this
// machine.
type jobSource interface {
	list(ctx context.Context) ([]jobs.Status, error)
	// run runs job name and reports its progress to progress until it
	// ends.
	run(ctx context.Context, name string, progress func(jobs.Progress)) (jobs.Status, error)
}

// remoteJobs asks a running gomirror.
type remoteJobs struct {
	base   string
	client *http.Client
}

func (r *remoteJobs) list(ctx context.Context) ([]jobs.Status, error) {
	var all []jobs.Status
	err := r.call(ctx, http.MethodGet, "/-/jobs", func(body io.Reader) error {
		return json.NewDecoder(body).Decode(&all)
	})
	return all, err
}

func (r *remoteJobs) run(ctx context.Context, name string, progress func(jobs.Progress)) (jobs.Status, error) {
	var final *jobs.Status
	err := r.call(ctx, http.MethodPost, "/-/jobs/"+url.PathEscape(name)+"/run?wait=1", func(body io.Reader) error {
		sc := bufio.NewScanner(body)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			var line jobs.ProgressLine
			if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
				return fmt.Errorf("bad progress line: %w", err)
			}
			if line.Progress != nil {
				progress(*line.Progress)
			}
			if line.Done && line.Status != nil {
				final = line.Status
			}
		}
		return sc.Err()
	})
	if err != nil {
		return jobs.Status{}, err
	}
	if final == nil {
		return jobs.Status{}, fmt.Errorf("sync %s: the server ended the response before the run ended", name)
	}
	return *final, nil
}

// call sends one request to the server and hands a 2xx body to read.
func (r *remoteJobs) call(ctx context.Context, method, path string, read func(io.Reader) error) error {
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("ask %s: %w", r.base, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		var e struct{ Error string }
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if json.Unmarshal(b, &e) != nil || e.Error == "" {
			e.Error = strings.TrimSpace(string(b))
		}
		return fmt.Errorf("%s %s%s: %s: %s", method, r.base, path, resp.Status, e.Error)
	}
	return read(resp.Body)
}

// localJobs works on this machine's state files and store.
type localJobs struct {
	a    *app
	cfg  config.Config
	sync jobs.Config
}

// stateDir is where the jobs' state files are: the configured one, or
// DATA/jobs as serve uses.
func (l *localJobs) stateDir() string {
	if l.sync.StateDir != "" {
		return l.sync.StateDir
	}
	return filepath.Join(l.cfg.Data, ".state", "jobs") // where serve keeps them
}

func (l *localJobs) list(context.Context) ([]jobs.Status, error) {
	r, err := jobs.New(jobs.Options{Jobs: l.sync.Jobs, Handler: http.NotFoundHandler(), StateDir: l.stateDir()})
	if err != nil {
		return nil, err
	}
	return r.Jobs(), nil
}

func (l *localJobs) run(ctx context.Context, name string, progress func(jobs.Progress)) (jobs.Status, error) {
	log, flush := newLogger(l.a.stderr, l.cfg)
	defer flush()
	srv, err := server.New(ctx, l.cfg, log, l.a.env)
	if err != nil {
		return jobs.Status{}, err
	}
	defer srv.Close()
	r, err := jobs.New(jobs.Options{Jobs: l.sync.Jobs, Handler: srv.Handler(), StateDir: l.stateDir(), Logger: log})
	if err != nil {
		return jobs.Status{}, err
	}
	done, err := r.Trigger(ctx, name)
	if err != nil {
		return jobs.Status{}, err
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-done:
			st, _ := r.Job(name)
			if st.LastEnd.Before(st.LastStart) || ctx.Err() != nil {
				return st, fmt.Errorf("sync %s: interrupted", name)
			}
			return st, nil
		case <-tick.C:
			if st, _ := r.Job(name); st.Progress != nil {
				progress(*st.Progress)
			}
		}
	}
}

// printJobs writes a table of jobs.
func printJobs(w io.Writer, all []jobs.Status, now time.Time) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tKIND\tSCHEDULE\tRESULT\tLAST END\tNEXT RUN\tBYTES")
	for _, s := range all {
		result := string(s.Result)
		switch {
		case s.Running:
			result = "running"
		case s.Waiting:
			result = "waiting"
		case s.Elsewhere:
			result = "elsewhere"
		case result == "":
			result = "never ran"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.Kind, s.Schedule, result,
			timeOrDash(s.LastEnd), nextRun(s.NextRun, now), humanBytes(s.Bytes))
	}
	tw.Flush()
}

func timeOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func nextRun(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if !t.After(now) {
		return "due"
	}
	return t.UTC().Format(time.RFC3339)
}

// humanBytes writes n with a binary unit.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// progressLine redraws one line on a terminal with a run's progress; on
// anything else it writes nothing.
type progressLine struct {
	w     io.Writer
	name  string
	on    bool
	drawn bool
	spin  int
}

func newProgressLine(w io.Writer, name string) *progressLine {
	f, ok := w.(*os.File)
	return &progressLine{w: w, name: name, on: ok && term.IsTerminal(int(f.Fd()))}
}

func (p *progressLine) update(pr jobs.Progress) {
	if !p.on {
		return
	}
	const width = 20
	p.spin = (p.spin + 1) % (2 * (width - 3))
	pos := p.spin
	if pos >= width-3 {
		pos = 2*(width-3) - pos
	}
	bar := strings.Repeat(" ", pos) + "<=>" + strings.Repeat(" ", width-3-pos)
	fmt.Fprintf(p.w, "\r\033[K%s [%s] %d requests, %d failed, %s", p.name, bar, pr.Requests, pr.Failed, humanBytes(pr.Bytes))
	p.drawn = true
}

func (p *progressLine) finish() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
