// Package server wires gomirror together: the store, the upstream chain, the
// checksum database, coordination and the GOPROXY handler, behind one HTTP
// server with health, readiness and metrics endpoints.
package server

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gomirror/gomirror/internal/cargo"
	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/coord"
	"github.com/gomirror/gomirror/internal/golang"
	"github.com/gomirror/gomirror/internal/goproxy"
	"github.com/gomirror/gomirror/internal/jobs"
	"github.com/gomirror/gomirror/internal/maven"
	"github.com/gomirror/gomirror/internal/metrics"
	"github.com/gomirror/gomirror/internal/npm"
	"github.com/gomirror/gomirror/internal/policy"
	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/pypi"
	"github.com/gomirror/gomirror/internal/store"
	"github.com/gomirror/gomirror/internal/store/disk"
	"github.com/gomirror/gomirror/internal/store/s3"
	"github.com/gomirror/gomirror/internal/sumdb"
	"github.com/gomirror/gomirror/internal/upstream"
	"github.com/gomirror/gomirror/internal/vuln"
)

// checker is a part whose health /readyz reports.
type checker interface {
	Check(ctx context.Context) error
}

// closer is a store that holds resources until it is closed.
type closer interface {
	Close() error
}

// Server is a configured gomirror. Make one with New, run it with Serve,
// and Close it when done.
type Server struct {
	cfg     config.Config
	log     *slog.Logger
	handler http.Handler
	cache   *pull.Cache
	vuln    *vuln.Handler // nil when off
	sumdb   *sumdb.SumDB
	station *stationParts
	store   checker
	coord   *coord.Coordinator
	access  *accessControl

	// What New's parts build and hand to the parts after them.
	reg    *prometheus.Registry
	m      *metrics.Metrics
	st     store.Store
	client *http.Client       // the upstream connection pool
	httpUp *pull.HTTPUpstream // the bounds of every upstream request
	up     *upstream.Upstream // the GOPROXY chain
	gp     *goproxy.Handler
	rt     *router

	// cleanups release what the parts hold, run last first by Close.
	cleanups []func() error
}

// New builds a Server from cfg. env is the environment that `direct`
// fetches run the go command with, and where storage credentials are read.
// It creates the data directory, and returns an error naming the setting
// when a part cannot be set up; whatever the parts built before then is
// released.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, env []string) (_ *Server, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	// Each part builds on the ones before it and pushes what it holds
	// onto the cleanup stack.
	for _, part := range []func() error{
		s.newDataDirs,
		s.newMetrics,
		func() error { return s.newStore(ctx, env) },
		func() error { return s.newUpstreams(env) },
		func() error { return s.newCache(ctx, env) },
		s.newSumDB,
		s.newGoproxy,
		s.newRouter,
		func() error { return s.newEcosystems(env) },
		s.newPolicy,
		s.newStation,
	} {
		if err := part(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// onClose pushes f onto the cleanup stack that Close runs.
func (s *Server) onClose(f func() error) { s.cleanups = append(s.cleanups, f) }

// newDataDirs makes the data directory and its temporary and state
// directories.
func (s *Server) newDataDirs() error {
	for _, dir := range []string{s.cfg.Data, filepath.Join(s.cfg.Data, ".tmp"), filepath.Join(s.cfg.Data, ".state")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("data: %w", err)
		}
	}
	return nil
}

// newMetrics makes the registry of /metrics, with the process's and
// readiness gauges.
func (s *Server) newMetrics() error {
	s.reg = prometheus.NewRegistry()
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.m = metrics.New(s.reg)
	s.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gomirror_ready",
		Help: "1 while /readyz answers 200.",
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		code, _ := s.readiness(ctx)
		return boolGauge(code == http.StatusOK)
	}))
	return nil
}

// newStore opens the store, within its budget when there is one.
func (s *Server) newStore(ctx context.Context, env []string) error {
	cfg := s.cfg
	if strings.HasPrefix(cfg.Storage, "s3://") {
		// With an S3 store the data directory is this replica's own, and
		// downloads that a crash interrupted are of no use to anyone. (A
		// disk store cleans its temporary directory itself, minding other
		// processes that share it.)
		if entries, err := os.ReadDir(filepath.Join(cfg.Data, ".tmp")); err == nil {
			for _, e := range entries {
				os.Remove(filepath.Join(cfg.Data, ".tmp", e.Name()))
			}
		}
	}
	st, err := OpenStore(ctx, cfg, s.log, env)
	if err != nil {
		return err
	}
	if st, err = withBudget(cfg, st, s.reg, s.log); err != nil {
		return err
	}
	if c, ok := st.(closer); ok {
		s.onClose(c.Close)
	}
	chk, ok := st.(checker)
	if !ok {
		return fmt.Errorf("storage: %T cannot report its health", st)
	}
	s.st, s.store = st, chk
	if d, ok := diskStore(st); ok {
		d.SetFreeSpaceFloor(cfg.MinFreeSpace)
		s.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gomirror_store_free_bytes",
			Help: "Free space on the disk store's file system.",
		}, func() float64 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			free, err := d.FreeSpace(ctx)
			if err != nil {
				return -1
			}
			return float64(free)
		}))
	}
	return nil
}

// newUpstreams makes the connection pool that every upstream request
// shares, the bounds they all get, and the GOPROXY chain.
func (s *Server) newUpstreams(env []string) error {
	s.client = newUpstreamClient()
	// Every ecosystem's own upstream requests go through the core's
	// client with the same bounds, retries and allow-list; PyPI, OCI, npm,
	// cargo and Maven each guard their upstreams' hosts with a pool of
	// their own.
	s.httpUp = &pull.HTTPUpstream{Client: s.client, HeaderTimeout: s.cfg.UpstreamHeaderTimeout, IdleTimeout: s.cfg.UpstreamIdleTimeout,
		Retries: s.cfg.UpstreamRetries, Allow: s.cfg.AllowHosts(), Logger: s.log}
	up, err := newUpstream(s.cfg, s.client, s.log, env, s.m)
	if err != nil {
		return err
	}
	s.up = up
	return nil
}

// newCache makes the pull-through core under every mirror, with access
// control's admission of fills and, when Redis is configured, the fill
// locks and negative cache that replicas share.
func (s *Server) newCache(ctx context.Context, env []string) error {
	cfg := s.cfg
	pcfg := pull.Config{
		Store:        s.st,
		TempDir:      filepath.Join(cfg.Data, ".tmp"),
		NegativeTTL:  cfg.NegativeTTL,
		FetchTimeout: cfg.FetchTimeout,
		StallTimeout: max(cfg.UpstreamHeaderTimeout, cfg.UpstreamIdleTimeout),
		StaleGrace:   cfg.StaleGrace,
		HotCacheSize: cfg.MemoryCache,
		Logger:       s.log,
		Metrics:      s.m,
	}
	if cfg.MemoryCache == 0 {
		pcfg.HotCacheSize = -1 // Off.
	}
	err := s.setupAccess(cfg, s.log, &pcfg)
	if s.access != nil {
		s.onClose(s.access.close)
	}
	if err != nil {
		return err
	}
	if cfg.Redis != "" {
		coord.SetClientLogger(s.log)
		c, err := coord.New(ctx, coord.Config{
			URL:     cfg.Redis,
			LockTTL: cfg.LockTTL,
			Prefix:  redisPrefix(cfg),
			Logger:  s.log,
			Metrics: s.m,
			Getenv:  envLookup(env),
		})
		if err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		s.onClose(c.Close)
		s.coord = c
		pcfg.Locker = c
		pcfg.Negative = c
	}
	cache, err := pull.New(pcfg)
	if err != nil {
		return err
	}
	s.cache = cache
	return nil
}

// newSumDB makes the checksum database proxy and verifier, filled through
// the core.
func (s *Server) newSumDB() error {
	sdb, err := newSumDB(s.cfg, s.client, s.st, s.up.Proxies(), s.log, s.m, s.httpUp, s.cache)
	if err != nil {
		return err
	}
	s.sumdb = sdb
	return nil
}

// newGoproxy makes the GOPROXY protocol handler, which verifies modules
// with the checksum database unless it is off.
func (s *Server) newGoproxy() error {
	gcfg := goproxy.Config{
		Cache:       s.cache,
		Upstream:    s.up,
		MetadataTTL: s.cfg.MetadataTTL,
		Logger:      s.log,
	}
	if s.sumdb.Name() != "" {
		gcfg.Verifier = s.sumdb
	}
	gp, err := goproxy.New(gcfg)
	if err != nil {
		return err
	}
	s.gp = gp
	return nil
}

// newRouter makes the router with the operations endpoints, the checksum
// database proxy and the GOPROXY protocol; the other mirrors join it in
// newEcosystems.
func (s *Server) newRouter() error {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	mux.HandleFunc("/readyz", s.readyz)
	mux.Handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	var sumdbHandler http.Handler = s.sumdb
	if s.sumdb.Name() == "" {
		sumdbHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			goproxy.WriteError(w, http.StatusNotFound, "checksum database proxy is off")
		})
	}
	s.rt = &router{
		routes: []route{
			{prefix: "/sumdb/", ecosystem: "sumdb", handler: sumdbHandler},
		},
		ops:     mux,
		goproxy: s.gp,
	}
	return nil
}

// newEcosystems makes the mirrors that are turned on and routes their
// prefixes to them.
func (s *Server) newEcosystems(env []string) error {
	cfg, cache, log, rt, httpUp := s.cfg, s.cache, s.log, s.rt, s.httpUp
	// Large npm packuments and PyPI project pages are decoded within one
	// memory budget, however many come at once.
	metaMem := pull.NewMemory(pull.DefaultMemory)
	if cfg.Golang.Enabled {
		gh, err := golang.New(golang.Config{
			Cache: cache, IndexURL: cfg.Golang.Index, BaseURL: cfg.Golang.Base,
			TTL: cfg.MetadataTTL, Upstream: s.httpUp, Logger: log,
		})
		if err != nil {
			return err
		}
		rt.routes = append(rt.routes, route{prefix: golang.Prefix, ecosystem: golang.Ecosystem, handler: gh, subject: trimPrefix(golang.Prefix)})
	}
	if cfg.PyPI.Enabled {
		ph, err := pypi.New(pypi.Config{
			Cache: cache, Indexes: cfg.PyPI.IndexList(), PageTTL: cfg.PyPI.TTL,
			MaxFileSize: cfg.PyPI.MaxFileSize, HTTPUpstream: httpUp, Memory: metaMem, Logger: log,
		})
		if err != nil {
			return fmt.Errorf("pypi: %w", err)
		}
		rt.routes = append(rt.routes, route{prefix: pypi.Prefix, ecosystem: "pypi", handler: ph,
			subject: pypi.Subject, private: pypiPrivate(cfg.PyPI.IndexList(), parsePublic(cfg.Access.PublicUpstreams))})
	}
	if cfg.OCI.Enabled {
		oh, private, err := newOCI(cfg, cache, httpUp, log)
		if err != nil {
			return err
		}
		rt.routes = append(rt.routes, route{prefix: "/v2/", ecosystem: "oci", handler: oh, anyMethod: true,
			subject: ociSubject(cfg.OCI.DefaultRegistry), private: private})
	}
	if cfg.NPM.Enabled {
		nh, private, err := newNPM(cfg, cache, httpUp, metaMem, log, envLookup(env))
		if err != nil {
			return err
		}
		// npm audit posts its bulk advisory requests; the handler passes
		// them through and answers every other POST itself.
		rt.routes = append(rt.routes, route{prefix: "/npm/", ecosystem: "npm", handler: nh, methods: []string{http.MethodPost},
			subject: npm.Subject, private: private})
	}
	if cfg.Maven.Enabled {
		mh, err := newMaven(cfg, cache, httpUp, log, envLookup(env))
		if err != nil {
			return err
		}
		var private func(string) bool
		if cfg.Maven.PrivateGroups != "" {
			private = mh.PrivateSubject
		}
		rt.routes = append(rt.routes, route{prefix: maven.Prefix, ecosystem: maven.Ecosystem, handler: mh,
			subject: maven.Subject, private: private})
	}
	if cfg.Cargo.Enabled {
		ch, err := newCargo(cfg, cache, httpUp, log)
		if err != nil {
			return err
		}
		rt.routes = append(rt.routes, route{prefix: cargo.Prefix, ecosystem: cargo.Ecosystem, handler: ch, subject: cargo.Subject})
	}
	if cfg.Vuln.Enabled {
		vh, err := newVuln(cfg, cache, s.httpUp, s.gp, log, s.reg)
		if err != nil {
			return err
		}
		s.vuln = vh
		rt.routes = append(rt.routes, route{prefix: vuln.Prefix, ecosystem: vuln.Ecosystem, handler: vh, subject: trimPrefix(vuln.Prefix)})
	}
	return nil
}

// newPolicy puts the module policy, when there is one, in front of the
// GOPROXY protocol, and the access control, the metrics and the access
// log in front of everything.
func (s *Server) newPolicy() error {
	cfg := s.cfg
	if len(cfg.Policy.Deny) > 0 || cfg.Policy.DenyVulnerable {
		eco := policy.Ecosystem{Versioning: policy.Semver{}}
		if s.vuln != nil {
			eco.Vulns = s.vuln.DB()
		}
		p, err := policy.New(cfg.Policy, policy.Options{
			Ecosystems: map[string]policy.Ecosystem{policy.Go: eco},
			Logger:     s.Audit(),
			Registerer: s.reg,
		})
		if err != nil {
			return fmt.Errorf("policy: %w", err)
		}
		s.rt.goproxy = policyGuard{p: p, next: s.gp}
	}
	s.handler = instrument(s.access.wrap(s.rt, s.m), s.log, s.m, s.rt)
	return nil
}

// newStation makes the sync jobs, the status pages and the feeds.
func (s *Server) newStation() error {
	var locker jobs.Locker
	if s.coord != nil {
		locker = s.coord
	}
	// Sync jobs carry no identity: their requests go to the router
	// behind the metrics and the log, but not behind access control.
	parts, err := newStation(s.cfg, s.st, instrument(s.rt, s.log, s.m, s.rt), locker, s.sumdb.Name() != "", s.reg, s.log)
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	s.rt.station = parts
	s.station = parts
	return nil
}

// newUpstreamClient returns the HTTP client of a server's upstream fetches
// and checksum database lookups. They share one pool of keep-alive
// connections, large enough for every fill and lookup under way: a cold
// fill looks up the checksum database, and its tiles in parallel, for
// every file it fetches, and a pool of two idle connections per host (Go's
// default) would make most of those requests pay a new TCP and TLS
// handshake.
func newUpstreamClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ForceAttemptHTTP2 = true
	t.MaxIdleConns = 512
	t.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: t}
}

// redisPrefix names a store's keys and channels in Redis. Replicas of one
// mirror share a store and so a prefix; mirrors with different stores, such
// as an edge and its origin, can share a Redis without waiting on each
// other's locks.
func redisPrefix(cfg config.Config) string {
	id := cfg.Storage
	if u, err := url.Parse(cfg.Storage); err == nil && u.Scheme == "s3" {
		// The bucket, prefix and endpoint say which store it is; the order
		// of the query does not.
		id = "s3://" + u.Host + u.Path + "?endpoint=" + u.Query().Get("endpoint")
	} else if id == "" {
		abs, err := filepath.Abs(cfg.Data)
		if err != nil {
			abs = cfg.Data
		}
		id = "file://" + abs
	}
	sum := sha256.Sum256([]byte(id))
	return coord.DefaultPrefix + hex.EncodeToString(sum[:6]) + ":"
}

func envLookup(env []string) func(string) string {
	return func(key string) string {
		for i := len(env) - 1; i >= 0; i-- {
			if k, v, ok := strings.Cut(env[i], "="); ok && k == key {
				return v
			}
		}
		return ""
	}
}

// OpenStore opens the store that cfg names: the data directory, another
// directory (file:///path) or an S3-compatible bucket (s3://). env holds the
// storage credentials. The store also implements Check(ctx) error and
// store.Walker, and Close() error where it holds resources.
func OpenStore(ctx context.Context, cfg config.Config, log *slog.Logger, env []string) (store.Store, error) {
	if strings.HasPrefix(cfg.Storage, "s3://") {
		st, err := s3.New(ctx, cfg.Storage, envLookup(env), log)
		if err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
		return st, nil
	}
	root := cfg.Data
	if cfg.Storage != "" {
		root = strings.TrimPrefix(cfg.Storage, "file://")
		if root == "" || !filepath.IsAbs(root) {
			return nil, fmt.Errorf("storage: %q: want file:///absolute/path", cfg.Storage)
		}
	}
	st, err := disk.New(root, log)
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	return st, nil
}

// OpenSumDB opens the checksum database that cfg names, as serve does: its
// lookups and tiles are kept in st, and it is found through the upstream
// proxies of cfg when cfg gives no URL. Maintenance commands verify with it.
func OpenSumDB(cfg config.Config, st store.Store, log *slog.Logger, env []string) (*sumdb.SumDB, error) {
	client := newUpstreamClient()
	up, err := newUpstream(cfg, client, log, env, nil)
	if err != nil {
		return nil, err
	}
	httpUp := &pull.HTTPUpstream{Client: client, HeaderTimeout: cfg.UpstreamHeaderTimeout, IdleTimeout: cfg.UpstreamIdleTimeout}
	return newSumDB(cfg, client, st, up.Proxies(), log, nil, httpUp, nil)
}

func newUpstream(cfg config.Config, client *http.Client, log *slog.Logger, env []string, m *metrics.Metrics) (*upstream.Upstream, error) {
	up, err := upstream.New(upstream.Config{
		Proxy:         cfg.Upstream,
		Client:        client,
		HeaderTimeout: cfg.UpstreamHeaderTimeout,
		IdleTimeout:   cfg.UpstreamIdleTimeout,
		Retries:       cmp.Or(cfg.UpstreamRetries, -1), // 0 turns them off
		Private:       cfg.Private,
		Timeout:       cfg.FetchTimeout,
		WorkDir:       filepath.Join(cfg.Data, ".state", "direct"),
		Env:           env,
		Logger:        log,
		Metrics:       m,
	})
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	return up, nil
}

func newSumDB(cfg config.Config, client *http.Client, st store.Store, proxies []string, log *slog.Logger, m *metrics.Metrics, httpUp *pull.HTTPUpstream, cache *pull.Cache) (*sumdb.SumDB, error) {
	sdb, err := sumdb.New(sumdb.Config{
		GOSUMDB:   cfg.SumDB,
		Proxies:   proxies,
		Private:   cfg.Private,
		NoSumDB:   cfg.NoSumDB,
		Store:     st,
		StateDir:  filepath.Join(cfg.Data, ".state", "sumdb"),
		LatestTTL: cfg.MetadataTTL,
		Client:    client,
		Upstream:  httpUp,
		Cache:     cache,
		Logger:    log,
		Metrics:   m,
	})
	if err != nil {
		return nil, fmt.Errorf("sumdb: %w", err)
	}
	return sdb, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// readyz answers 200 when the store is writable and has room, and the
// checksum database's state is sound, with a line per part; a lost
// coordinator, or a vulnerability database not yet built, degrades the
// server but leaves it ready.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	code, body := s.readiness(ctx)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	io.WriteString(w, body)
}

// readiness returns /readyz's status and body.
func (s *Server) readiness(ctx context.Context) (int, string) {
	var b strings.Builder
	code := http.StatusOK
	if err := s.store.Check(ctx); err != nil {
		code = http.StatusServiceUnavailable
		fmt.Fprintf(&b, "store: not ready: %v\n", err)
	} else {
		b.WriteString("store: ok\n")
	}
	b.WriteString("config: ok\n")
	if s.sumdb != nil && s.sumdb.Name() != "" {
		if err := s.sumdb.Check(ctx); err != nil {
			code = http.StatusServiceUnavailable
			fmt.Fprintf(&b, "sumdb: not ready: %v\n", err)
		} else {
			b.WriteString("sumdb: ok\n")
		}
	}
	if s.vuln != nil {
		vulnReady(&b, s.vuln)
	}
	if s.coord != nil {
		if err := s.coord.Check(ctx); err != nil {
			fmt.Fprintf(&b, "redis: degraded, coalescing per process: %v\n", err)
		} else {
			b.WriteString("redis: ok\n")
		}
	}
	return code, b.String()
}

// Serve serves HTTP on ln until ctx ends, then shuts down gracefully:
// requests in flight get ShutdownTimeout to finish.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.cfg.ReadTimeout,
		IdleTimeout:       s.cfg.IdleTimeout,
		WriteTimeout:      s.cfg.WriteTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	runVuln(ctx, s.vuln)
	s.station.run(ctx, s.log)
	if err := s.access.startOps(hs); err != nil {
		return err
	}
	defer s.access.closeOps()
	errc := make(chan error, 1)
	go func() { errc <- s.access.serve(hs, ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down", "timeout", s.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	s.access.stopOps(sctx)
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	// Fills whose clients hung up go on in the background: let them
	// finish storing, within the same bound.
	if err := s.cache.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: waiting for fills: %w", err)
	}
	if s.sumdb != nil {
		if err := s.sumdb.Shutdown(sctx); err != nil {
			return fmt.Errorf("shutdown: waiting for checksum database lookups: %w", err)
		}
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close releases what New's parts hold: the connections to shared
// services, the store and the audit log, last made first closed.
func (s *Server) Close() error {
	var errs []error
	for i := len(s.cleanups) - 1; i >= 0; i-- {
		errs = append(errs, s.cleanups[i]())
	}
	s.cleanups = nil
	return errors.Join(errs...)
}
