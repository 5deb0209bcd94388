package goproxy

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/gomirror/gomirror/internal/metrics"
	"github.com/gomirror/gomirror/internal/store"
)

// Fetcher fetches one file from upstream.
type Fetcher interface {
	// Fetch returns the upstream content of name, an escaped store name
	// such as "golang.org/x/text/@v/v0.3.0.zip". The caller closes it. An
	// error that matches fs.ErrNotExist means upstream does not have it, and
	// its message is the reason to show; fs.ErrPermission means fetching is
	// disabled.
	Fetch(ctx context.Context, name string) (io.ReadCloser, error)
}

// Verifier looks up the checksum database.
type Verifier interface {
	// Lookup returns the hashes that the checksum database records for the
	// zip and the go.mod of path@version. It returns "", "", nil for
	// modules that are not to be looked up, such as private ones.
	Lookup(ctx context.Context, path, version string) (zipHash, modHash string, err error)
}

// Locker coordinates fills of one file across replicas.
type Locker interface {
	// Lock blocks until the caller should fill name itself (fill is true,
	// and it must call release once when done, with stored reporting
	// whether the file is now in the shared store), or until another
	// replica reports name stored (fill is false), or ctx ends. An error
	// means coordination is unavailable; the caller then fills by itself.
	Lock(ctx context.Context, name string) (fill bool, release func(stored bool), err error)
}

// NegativeCache remembers upstream "not found" answers for a while.
type NegativeCache interface {
	// NotFound reports the remembered reason for name, if any.
	NotFound(ctx context.Context, name string) (reason string, ok bool)
	// SetNotFound remembers reason for name for ttl.
	SetNotFound(ctx context.Context, name, reason string, ttl time.Duration)
}

// Config configures a Handler. Store, Upstream and TempDir are required.
type Config struct {
	Store    store.Store
	Upstream Fetcher
	// Verifier checks .mod and .zip files against the checksum database.
	// Nil means no database: files still get the structural checks.
	Verifier Verifier
	// Locker makes one fetch per file across replicas. Nil means
	// coalescing within this process only.
	Locker Locker
	// Negative remembers upstream 404s. Nil means an in-memory cache.
	Negative NegativeCache
	// MetadataTTL is how long lists, @latest and queries are fresh. Zero
	// means one minute.
	MetadataTTL time.Duration
	// NegativeTTL is how long an upstream "not found" is remembered. Zero
	// means 30 seconds.
	NegativeTTL time.Duration
	// FetchTimeout bounds one fill, from the first upstream request to the
	// stored file. Zero means 10 minutes.
	FetchTimeout time.Duration
	// TempDir holds downloads while they are verified.
	TempDir string
	// HotCacheSize bounds the bytes of small versioned files kept in
	// memory for a few seconds after a hit. Zero means 16 MiB; a negative
	// size turns the cache off.
	HotCacheSize int64
	// Logger receives fill and verification events. Nil discards them.
	Logger *slog.Logger
	// Metrics records store lookups and verification failures. Nil
	// records nothing.
	Metrics *metrics.Metrics
}

// Handler serves the GOPROXY protocol. It is safe for concurrent use.
type Handler struct {
	cfg   Config
	log   *slog.Logger
	m     *metrics.Metrics
	hot   *hotCache // nil when off
	fills singleflight.Group
	busy  sync.WaitGroup // fills under way
}

var _ http.Handler = (*Handler)(nil)

// New returns a Handler for cfg. It returns an error when a required field
// is missing.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("goproxy: no store")
	case cfg.Upstream == nil:
		return nil, errors.New("goproxy: no upstream")
	case cfg.TempDir == "":
		return nil, errors.New("goproxy: no temp dir")
	}
	if cfg.MetadataTTL <= 0 {
		cfg.MetadataTTL = time.Minute
	}
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = 30 * time.Second
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 10 * time.Minute
	}
	if cfg.Negative == nil {
		cfg.Negative = newMemNegative(100_000)
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := cfg.Metrics
	if m == nil {
		m = metrics.New(nil)
	}
	h := &Handler{cfg: cfg, log: log, m: m}
	switch {
	case cfg.HotCacheSize == 0:
		h.hot = newHotCache(defaultHotCacheSize)
	case cfg.HotCacheSize > 0:
		h.hot = newHotCache(cfg.HotCacheSize)
	}
	return h, nil
}

// Kind returns the kind of a GOPROXY request path for metrics and logs:
// list, latest, info, mod, zip, query, or "invalid".
func Kind(urlPath string) string {
	req, err := parseRequest(urlPath)
	if err != nil {
		return "invalid"
	}
	return string(req.kind)
}

// ServeHTTP serves one GOPROXY request. It answers GET and HEAD; the
// caller rejects other methods. When w has a method SetKind(string),
// ServeHTTP first tells it the request's kind, as [Kind] names it, so that
// middleware can label its metrics and logs without parsing the path again.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.EscapedPath()
	ks, _ := w.(interface{ SetKind(string) })
	// A hot file was kept under the very path this request names, which
	// was checked then: it needs no parsing now.
	if e := h.hot.get(raw, time.Now()); e != nil {
		if ks != nil {
			ks.SetKind(string(e.kind))
		}
		h.m.StoreLookups.WithLabelValues(string(e.kind), "hit").Inc()
		h.serveHot(w, r, e)
		return
	}
	req, err := parseRequest(raw)
	if ks != nil {
		if err != nil {
			ks.SetKind("invalid")
		} else {
			ks.SetKind(string(req.kind))
		}
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if req.kind.Immutable() {
		h.serveImmutable(w, r, req)
	} else {
		h.serveMetadata(w, r, req)
	}
}

// Shutdown waits for fills under way, which go on after their clients hang
// up, to finish, or for ctx to end.
func (h *Handler) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		h.busy.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
