// Package vuln serves the Go vulnerability database under /vuln/, in the
// format that `govulncheck -db URL` reads: index/db.json,
// index/modules.json, index/vulns.json and ID/<GO-ID>.json, each also as
// .json.gz.
//
// It has two sources. Pull-through mirrors an upstream database (by
// default vuln.go.dev): every file is metadata with a TTL, served stale when
// the upstream is down. Built from the module fetches the newest
// golang.org/x/vulndb through gomirror's own module proxy, so that it is
// verified against the checksum database and stored like any module, builds
// the database from its data/osv/ entries, and rebuilds it when a newer
// version appears; when a rebuild fails, the last good database keeps being
// served and Status says why.
package vuln

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/semver"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/vulndb"
)

// Ecosystem is the label of the vulnerability database's metrics and logs.
const Ecosystem = "vuln"

// Prefix is the URL path the database is served under.
const Prefix = "/vuln/"

// Sources of the database.
const (
	SourcePull   = "pull"
	SourceModule = "module"
)

// DefaultUpstream is the database that pull-through mirrors.
const DefaultUpstream = "https://vuln.go.dev"

// ModulePath is the module the database is built from.
const ModulePath = "golang.org/x/vulndb"

// Config configures a Handler. Cache is required, and Modules when Source
// is SourceModule.
type Config struct {
	Cache *pull.Cache
	// Source is SourcePull (the default) or SourceModule.
	Source string
	// Upstream is the database that pull-through mirrors. Empty means
	// DefaultUpstream.
	Upstream string
	// HTTP sends pull-through requests. Nil means a zero HTTPUpstream.
	HTTP *pull.HTTPUpstream
	// TTL is how long pulled files are fresh, and how often a database
	// built from the module looks for a newer version. Zero means one
	// minute for files and one hour for rebuilds.
	TTL time.Duration
	// Modules is gomirror's own GOPROXY handler, through which the module
	// is fetched, verified and stored.
	Modules http.Handler
	// Load makes a pulled database load whole, every TTL, for DB (the
	// policy reads it). Without it, pull-through fetches only what
	// clients ask for. A database built from the module is always loaded.
	Load bool
	// Logger receives rebuild events. Nil discards them.
	Logger *slog.Logger
}

// Handler serves the vulnerability database. It is safe for concurrent
// use.
type Handler struct {
	cfg Config
	log *slog.Logger

	latest vulndb.Latest

	mu     sync.Mutex
	status Status
}

// Status is the state of the database, for /readyz and /metrics.
type Status struct {
	Source   string
	Version  string    // the module version built from, for SourceModule
	Modified time.Time // the database's own modified time
	Entries  int
	// LastError is why the last build or load failed; empty when it
	// succeeded.
	LastError string
	// Ready is set once a database is there to serve.
	Ready bool
}

// New returns a Handler for cfg, or an error naming a bad setting.
func New(cfg Config) (*Handler, error) {
	if cfg.Cache == nil {
		return nil, errors.New("vuln: no cache")
	}
	switch cfg.Source {
	case "":
		cfg.Source = SourcePull
	case SourcePull:
	case SourceModule:
		if cfg.Modules == nil {
			return nil, errors.New("vuln: the module source needs the module proxy")
		}
	default:
		return nil, fmt.Errorf("vuln-source: %q is not %s or %s", cfg.Source, SourcePull, SourceModule)
	}
	if cfg.Upstream == "" {
		cfg.Upstream = DefaultUpstream
	}
	cfg.Upstream = strings.TrimSuffix(cfg.Upstream, "/")
	if cfg.HTTP == nil {
		cfg.HTTP = &pull.HTTPUpstream{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, log: log, status: Status{Source: cfg.Source}}
	if cfg.Source == SourcePull && !cfg.Load {
		// Nothing to build or load: every file is pulled on demand.
		h.status.Ready = true
	}
	return h, nil
}

// DB returns the database as last loaded or built, for the policy. It is
// nil until one is there.
func (h *Handler) DB() *vulndb.Latest { return &h.latest }

// Status returns the state of the database.
func (h *Handler) Status() Status {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.status
}

func (h *Handler) setStatus(f func(*Status)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(&h.status)
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ks, _ := w.(interface{ SetKind(string) })
	name, _ := strings.CutPrefix(r.URL.Path, Prefix)
	kind := "entry"
	if strings.HasPrefix(name, "index/") {
		kind = "index"
	}
	if !vulndb.ValidName(name) {
		kind = "invalid"
	}
	if ks != nil {
		ks.SetKind(kind)
	}
	if kind == "invalid" {
		h.writeError(w, r, fmt.Errorf("%w: %q is not a file of the vulnerability database (index/db.json, index/modules.json, index/vulns.json, ID/GO-YYYY-NNNN.json, each optionally .gz)",
			pull.ErrBadRequest, pull.OneLine(name)))
		return
	}
	if err := h.cfg.Cache.Serve(w, r, h.artifact(name, kind)); err != nil {
		h.writeError(w, r, err)
	}
}

// artifact describes a file of the database to the core.
func (h *Handler) artifact(name, kind string) *pull.Artifact {
	a := &pull.Artifact{
		Ecosystem:   Ecosystem,
		Kind:        kind,
		Name:        vulndb.StorePrefix + name,
		ContentType: vulndb.ContentType(name),
		MaxSize:     vulndb.MaxFileSize,
	}
	if h.cfg.Source == SourceModule {
		// Built files are in the store or nowhere; a rebuild replaces
		// them, so clients revalidate.
		a.CacheControl = "public, max-age=60"
		a.Fetch = func(context.Context, io.Reader) (io.ReadCloser, error) {
			if !h.Status().Ready {
				return nil, fmt.Errorf("%w: the vulnerability database is not built yet", pull.ErrUpstream)
			}
			return nil, pull.NotFound("not found: " + name + " is not in the vulnerability database")
		}
		return a
	}
	a.TTL = h.ttl()
	a.Fetch = func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
		return h.cfg.HTTP.Get(ctx, h.cfg.Upstream+"/"+name, nil)
	}
	a.Check = func(_ context.Context, f *os.File) error { return checkFile(name, f) }
	return a
}

func (h *Handler) ttl() time.Duration {
	if h.cfg.TTL > 0 {
		return h.cfg.TTL
	}
	return time.Minute
}

// checkFile checks that a pulled file is what its name says: JSON, or
// gzip-compressed JSON.
func checkFile(name string, f *os.File) error {
	data, err := io.ReadAll(io.LimitReader(f, vulndb.MaxFileSize))
	if err != nil {
		return err
	}
	if strings.HasSuffix(name, ".gz") {
		if len(data) < 2 || data[0] != 0x1f || data[1] != 0x8b {
			return fmt.Errorf("%s: not gzip-compressed", name)
		}
		return nil
	}
	if !json.Valid(data) {
		return fmt.Errorf("%s: not valid JSON", name)
	}
	return nil
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := pull.Status(err)
	if code == http.StatusInternalServerError {
		h.log.ErrorContext(r.Context(), "serving", "path", r.URL.Path, "err", err)
	}
	pull.WriteText(w, code, pull.Reason(err))
}

// Run keeps the database current until ctx ends: it loads the stored
// database at once, then, for a pulled database, reloads it for the policy
// every TTL, and for a database built from the module, rebuilds it when a
// newer version of the module appears.
func (h *Handler) Run(ctx context.Context) {
	if h.cfg.Source == SourcePull && !h.cfg.Load {
		return
	}
	every := h.cfg.TTL
	if every <= 0 {
		every = time.Hour
		if h.cfg.Source == SourcePull {
			every = time.Minute
		}
	}
	if h.cfg.Source == SourceModule {
		if db, err := vulndb.Load(ctx, vulndb.StoreSource(h.cfg.Cache.Store(), vulndb.StorePrefix)); err == nil {
			h.latest.Set(db)
			h.setStatus(func(s *Status) { s.Ready, s.Modified, s.Entries = true, db.Modified(), db.Len() })
		}
	}
	for {
		if err := h.Refresh(ctx); err != nil && ctx.Err() == nil {
			msg := "vulnerability database not refreshed; serving the last good one"
			if !h.Status().Ready {
				msg = "vulnerability database not loaded yet"
			}
			h.log.WarnContext(ctx, msg, "source", h.cfg.Source, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// Refresh brings the database up to date once: it rebuilds a database built
// from the module when a newer version is there, and reloads a pulled one
// for the policy.
func (h *Handler) Refresh(ctx context.Context) error {
	var err error
	if h.cfg.Source == SourceModule {
		err = h.rebuild(ctx)
	} else {
		err = h.reload(ctx)
	}
	h.setStatus(func(s *Status) {
		s.LastError = ""
		if err != nil {
			s.LastError = pull.OneLine(err.Error())
		}
	})
	return err
}

// reload loads a pulled database through the cache, for the policy.
func (h *Handler) reload(ctx context.Context) error {
	db, err := vulndb.Load(ctx, cacheSource{h})
	if err != nil {
		return fmt.Errorf("loading %s: %w", h.cfg.Upstream, err)
	}
	h.latest.Set(db)
	h.setStatus(func(s *Status) { s.Ready, s.Modified, s.Entries = true, db.Modified(), db.Len() })
	return nil
}

// cacheSource reads a pulled database's files through the cache.
type cacheSource struct{ h *Handler }

func (s cacheSource) ReadFile(ctx context.Context, name string) ([]byte, error) {
	kind := "entry"
	if strings.HasPrefix(name, "index/") {
		kind = "index"
	}
	e, err := s.h.cfg.Cache.Open(ctx, s.h.artifact(name, kind))
	if err != nil {
		return nil, err
	}
	defer e.Body.Close()
	return io.ReadAll(io.LimitReader(e.Body, vulndb.MaxFileSize))
}

// rebuild builds the database from the newest version of the module, when
// it is not the one already built.
func (h *Handler) rebuild(ctx context.Context) error {
	version, when, err := h.newest(ctx)
	if err != nil {
		return err
	}
	if st := h.Status(); st.Ready && st.Version == version {
		return nil
	}
	zipData, err := h.module(ctx, "/"+ModulePath+"/@v/"+version+".zip")
	if err != nil {
		return err
	}
	db, err := vulndb.Build(ctx, bytes.NewReader(zipData), int64(len(zipData)), when)
	if err != nil {
		return fmt.Errorf("building from %s@%s: %w", ModulePath, version, err)
	}
	if err := db.Write(ctx, h.cfg.Cache.Store(), vulndb.StorePrefix); err != nil {
		return fmt.Errorf("storing the database built from %s@%s: %w", ModulePath, version, err)
	}
	h.latest.Set(db)
	h.setStatus(func(s *Status) {
		s.Ready, s.Version, s.Modified, s.Entries = true, version, db.Modified(), db.Len()
	})
	h.log.InfoContext(ctx, "vulnerability database built", "module", ModulePath+"@"+version, "entries", db.Len())
	return nil
}

// newest finds the newest version of the module and its time, through the
// module proxy: @latest, or the highest version of @v/list.
func (h *Handler) newest(ctx context.Context) (version string, when time.Time, err error) {
	var info struct {
		Version string
		Time    time.Time
	}
	data, err := h.module(ctx, "/"+ModulePath+"/@latest")
	switch {
	case err == nil:
		if err := json.Unmarshal(data, &info); err != nil || info.Version == "" {
			return "", time.Time{}, fmt.Errorf("%s@latest: bad answer: %v", ModulePath, err)
		}
	case errors.Is(err, fs.ErrNotExist):
		// Some proxies answer @latest of this module "not found" but list
		// its versions.
		list, lerr := h.module(ctx, "/"+ModulePath+"/@v/list")
		if lerr != nil {
			return "", time.Time{}, errors.Join(err, lerr)
		}
		for _, v := range strings.Fields(string(list)) {
			if semver.IsValid(v) && semver.Compare(v, info.Version) > 0 {
				info.Version = v
			}
		}
		if info.Version == "" {
			return "", time.Time{}, fmt.Errorf("%s: no version to build from: %w", ModulePath, err)
		}
	default:
		return "", time.Time{}, err
	}
	// The .info of the version itself is stored, verified, like any.
	data, err = h.module(ctx, "/"+ModulePath+"/@v/"+info.Version+".info")
	if err == nil {
		json.Unmarshal(data, &info)
	}
	return info.Version, info.Time, nil
}

// module asks gomirror's own module proxy for path, in process.
func (h *Handler) module(ctx context.Context, path string) ([]byte, error) {
	r := httptest.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	w := httptest.NewRecorder()
	h.cfg.Modules.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		err := fmt.Errorf("%s%s: %d %s", ModulePath, strings.TrimPrefix(path, "/"+ModulePath), w.Code, strings.TrimSpace(w.Body.String()))
		if w.Code == http.StatusNotFound {
			return nil, fmt.Errorf("%w: %w", fs.ErrNotExist, err)
		}
		return nil, err
	}
	return w.Body.Bytes(), nil
}
