package server

import (
	"cmp"
	"context"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/feed"
	"github.com/gomirror/gomirror/internal/jobs"
	"github.com/gomirror/gomirror/internal/maven"
	"github.com/gomirror/gomirror/internal/station"
	"github.com/gomirror/gomirror/internal/status"
	"github.com/gomirror/gomirror/internal/store"
	"github.com/gomirror/gomirror/internal/usage"
)

// stationParts are the mirror station's own pages and feeds: the status
// page, the tunasync and mirrorz feeds, the sync jobs and the sizes.
type stationParts struct {
	runner *jobs.Runner
	meter  *usage.Meter
	ids    []string
	pages  http.Handler // "/", "/status.json", "/help/..."
	feeds  http.Handler // "/jobs", "/mirrorz.json"
	ops    http.Handler // "/-/jobs..."
}

// mirrorIDs lists the mirrors cfg serves, in the status page's order.
func mirrorIDs(cfg config.Config, sumdbOn bool) []string {
	ids := []string{"go"}
	on := map[string]bool{
		"sumdb": sumdbOn, "golang": cfg.Golang.Enabled, "vuln": cfg.Vuln.Enabled,
		"oci": cfg.OCI.Enabled, "pypi": cfg.PyPI.Enabled, "npm": cfg.NPM.Enabled,
	}
	on[maven.Ecosystem] = cfg.Maven.Enabled
	on["cargo"] = cfg.Cargo.Enabled
	for _, id := range station.KnownIDs() {
		if on[id] {
			ids = append(ids, id)
		}
	}
	return ids
}

// newStation builds the station's parts; handler is the whole routed
// server, through which every sync job's request goes.
func newStation(cfg config.Config, st store.Store, handler http.Handler, locker jobs.Locker, sumdbOn bool, reg prometheus.Registerer, log *slog.Logger) (*stationParts, error) {
	ids := mirrorIDs(cfg, sumdbOn)
	meter := usage.New(st, log)
	runner, err := jobs.New(jobs.Options{
		Jobs:       cfg.Sync.Jobs,
		Handler:    handler,
		StateDir:   cmp.Or(cfg.Sync.StateDir, filepath.Join(cfg.Data, ".state", "jobs")),
		Locker:     locker,
		Registerer: reg,
		Logger:     log,
		AfterRun: func(ctx context.Context, s jobs.Status) {
			if err := meter.Refresh(ctx, s.Mirror); err != nil {
				log.WarnContext(ctx, "measuring a mirror's size", "mirror", s.Mirror, "err", err)
			}
		},
	})
	if err != nil {
		return nil, err
	}
	upstreams := map[string]string{
		"go": cfg.Upstream, "sumdb": cfg.SumDB, "golang": cfg.Golang.Base, "vuln": cfg.Vuln.Upstream,
		"oci": cfg.OCI.Registries, "pypi": cfg.PyPI.Indexes, "npm": cfg.NPM.Upstream,
	}
	upstreams[maven.Ecosystem] = mavenUpstreams(cfg)
	upstreams["cargo"] = cfg.Cargo.Index
	if cfg.Vuln.Source == "module" {
		upstreams["vuln"] = "golang.org/x/vulndb through this mirror"
	}
	var infos []station.Info
	for _, id := range ids {
		infos = append(infos, station.Info{ID: id, Upstream: upstreams[id]})
	}
	cat := station.NewCatalog(infos, runner, meter)
	mux := http.NewServeMux()
	mux.Handle("/jobs", feed.TunasyncHandler(cat))
	mux.Handle("/mirrorz.json", feed.MirrorzHandler(cat, feed.Options{PublicURL: cfg.NPM.PublicURL}))
	return &stationParts{
		runner: runner,
		meter:  meter,
		ids:    ids,
		pages:  status.New(cat, status.Options{PublicURL: cfg.NPM.PublicURL, Logger: log}),
		feeds:  mux,
		ops:    runner.Handler(),
	}, nil
}

// run starts the job runner and the size meter until ctx ends.
func (p *stationParts) run(ctx context.Context, log *slog.Logger) {
	go func() {
		if err := p.runner.Serve(ctx); err != nil && ctx.Err() == nil {
			log.Error("sync jobs stopped", "err", err)
		}
	}()
	go p.meter.Run(ctx, p.ids, time.Hour)
}

// stationPath reports which of the station's handlers serves path p, if
// any. None of these paths can be a module path, whose first element holds
// a dot.
func (p *stationParts) handlerFor(path string) http.Handler {
	switch {
	case path == "/" || path == "/status.json" || path == "/help" || strings.HasPrefix(path, "/help/"):
		return p.pages
	case path == "/jobs" || path == "/mirrorz.json":
		return p.feeds
	case path == "/-/jobs" || strings.HasPrefix(path, "/-/jobs/"):
		return p.ops
	}
	return nil
}
