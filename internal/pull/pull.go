package pull

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/gomirror/gomirror/internal/metrics"
	"github.com/gomirror/gomirror/internal/store"
)

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

// Config configures a Cache. Store and TempDir are required.
type Config struct {
	Store store.Store
	// TempDir holds downloads while they are checked. Put it on the
	// store's filesystem, so that a checked file is renamed into place.
	TempDir string
	// Locker makes one fill per immutable file across replicas. Nil means
	// coalescing within this process only.
	Locker Locker
	// Negative remembers upstream 404s. Nil means an in-memory cache.
	Negative NegativeCache
	// NegativeTTL is how long an upstream "not found" is remembered. Zero
	// means 30 seconds.
	NegativeTTL time.Duration
	// FetchTimeout bounds one fill, from the first upstream request to the
	// stored file. Zero means 10 minutes.
	FetchTimeout time.Duration
	// StallTimeout is how long a fill may go without a byte from upstream,
	// while it waits for the answer or for the body, before it counts as
	// stalled: a request that comes for the same file then abandons it and
	// starts a fresh one, taking the stalled fill's waiting clients along,
	// so that a fill stuck on a hung upstream never holds back requests
	// made once the upstream has recovered. Set it to the larger of the
	// upstream header and idle timeouts. Zero means 30 seconds.
	StallTimeout time.Duration
	// StaleGrace is how long a request for expired metadata waits for its
	// refresh before it is answered with the stored copy, marked stale,
	// while the refresh goes on. Zero means 3 seconds.
	StaleGrace time.Duration
	// HotCacheSize bounds the bytes of small immutable files kept in
	// memory for a few seconds after a hit. Zero means 16 MiB; a negative
	// size turns the cache off.
	HotCacheSize int64
	// Logger receives fill and verification events. Nil discards them.
	Logger *slog.Logger
	// Metrics records lookups, fills and refusals. Nil records nothing.
	Metrics *metrics.Metrics
	// Admit, when not nil, is asked before a request starts a new upstream
	// fill; requests that join a fill under way, and hits, never ask. ctx
	// is the request's, carrying whatever identity the server put there.
	// An error refuses the fill: the request gets it, and should wrap
	// [ErrTooManyRequests] for a 429. Otherwise release is called once,
	// when the fill ends. Expired metadata whose refresh is refused is
	// served stale.
	Admit func(ctx context.Context) (release func(), err error)
}

// Cache is the pull-through core shared by every ecosystem of a server. It
// is safe for concurrent use.
type Cache struct {
	cfg Config
	log *slog.Logger
	m   *metrics.Metrics
	hot *hotCache // nil when off
	// touch is the store's Toucher, or nil when it keeps no record of
	// use.
	touch store.Toucher
	// now tells the time of fills' progress; tests replace it.
	now func() time.Time

	mu     sync.Mutex
	flying map[string]*flight // fills under way, by store name
	busy   sync.WaitGroup     // fills under way, for Shutdown
}

// New returns a Cache for cfg. It returns an error when a required field
// is missing.
func New(cfg Config) (*Cache, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("pull: no store")
	case cfg.TempDir == "":
		return nil, errors.New("pull: no temp dir")
	}
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = 30 * time.Second
	}
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 10 * time.Minute
	}
	if cfg.StaleGrace <= 0 {
		cfg.StaleGrace = 3 * time.Second
	}
	if cfg.StallTimeout <= 0 {
		cfg.StallTimeout = 30 * time.Second
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
	c := &Cache{cfg: cfg, log: log, m: m, flying: make(map[string]*flight), now: time.Now}
	c.touch, _ = cfg.Store.(store.Toucher)
	switch {
	case cfg.HotCacheSize == 0:
		c.hot = newHotCache(defaultHotCacheSize)
	case cfg.HotCacheSize > 0:
		c.hot = newHotCache(cfg.HotCacheSize)
	}
	return c, nil
}

// Store returns the store the cache fills.
func (c *Cache) Store() store.Store { return c.cfg.Store }

// Shutdown waits for fills under way, which go on after their clients hang
// up, to finish, or for ctx to end.
func (c *Cache) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		c.busy.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Artifact describes one file that a mirror serves: where it is stored,
// how it is fetched and checked, and how long it stays fresh. Ecosystems
// make one per request; the Cache only reads it.
type Artifact struct {
	// Ecosystem and Kind label metrics and logs: "go" and "zip", "oci"
	// and "blob".
	Ecosystem, Kind string
	// Name is the store name, which must pass store.CheckName. Fills are
	// coalesced by Name.
	Name string
	// ContentType is the Content-Type the file is served with.
	ContentType string
	// TTL is zero for an immutable artifact, fetched once and kept. A
	// positive TTL makes the artifact metadata: fresh for TTL after it was
	// stored, then refreshed from upstream, and served stale when the
	// refresh fails or is slow.
	TTL time.Duration
	// MaxSize bounds what is accepted from upstream. Zero means 16 MiB.
	MaxSize int64
	// Want is the digest that the bytes must match, from a trusted source.
	// Nil means none: then Check alone decides.
	Want *Digest
	// Fetch opens the upstream content. An error matching fs.ErrNotExist
	// means upstream does not have it, and its message is the reason to
	// show. For metadata with a stored copy, prev reads that copy (and is
	// nil otherwise): Fetch may read validators from it and return
	// ErrNotModified when upstream confirms that it is still current. A
	// returned reader that has a method Size() int64 announces the size,
	// so that a file over MaxSize is refused before it is downloaded and
	// streamed responses carry a Content-Length. When Want is nil, a
	// returned reader that has a method Digest() *Digest announces the
	// digest the bytes must match, for an ecosystem that learns it from
	// the upstream it fetches from (a checksum file next to the file):
	// it is checked as Want is.
	Fetch func(ctx context.Context, prev io.Reader) (io.ReadCloser, error)
	// NameSent lets the refusal of a file whose digest is not Want's name
	// the digest of what upstream sent, which tells an operator a tampered
	// file from a stale checksum. Set it only for an artifact fetched from
	// the hosts the operator configured, never from a URL that upstream
	// content chose on its own: there the digest of what a URL answered
	// would tell that content's author what the mirror can reach.
	NameSent bool
	// Check, when not nil, checks the downloaded file, whole, after Want
	// matched and before it is stored. f is positioned at its start. An
	// error refuses the file: it is counted, logged and never stored.
	Check func(ctx context.Context, f *os.File) error
	// Watch, when not nil, is called in a goroutine of its own as the
	// download starts, with a reader of every byte as it arrives: it
	// reads io.EOF once the last byte is in, before Check runs, or an
	// error when the download fails. An ecosystem uses it to do the work
	// of its Check while the bytes arrive (inflating and hashing a zip,
	// say), so that after the last byte Check has little left to do.
	// Check must not rely on Watch having run: it may not have.
	Watch func(ctx context.Context, r io.Reader)
	// HotKey names the file in the in-memory cache of small immutable
	// files, as the ecosystem looks it up with [Cache.ServeHot] before it
	// parses a request. Empty means Name.
	HotKey string
	// CacheControl, when set, replaces the Cache-Control that stored
	// copies are served with (immutable for immutable artifacts, a max-age
	// of the TTL for metadata): for files that are immutable to the core
	// but replaced whole by a rebuild, say. Such files are the mirror's
	// own, not fetched again when missing: a store with a byte budget
	// never evicts them.
	CacheControl string
	// Holdback is how many of the last bytes of a streamed fill are held
	// back until the file has passed its checks. Zero means 64 KiB, which
	// always covers a zip's end-of-central-directory record.
	Holdback int64
}

// Digest is a trusted digest of an artifact's content.
type Digest struct {
	// Algorithm is "sha256", "sha512" or "sha1".
	Algorithm string
	// Sum is the raw digest.
	Sum []byte
	// Size is the content's length, or -1 when the source does not say.
	Size int64
	// Source names where the digest comes from, for refusal messages:
	// "the release index", "the project page".
	Source string
}

// Entry is an artifact's content as [Cache.Open] found it. The caller
// closes Body.
type Entry struct {
	Body    io.ReadCloser
	Size    int64     // -1 when the store cannot tell
	ModTime time.Time // when the content was stored
	// Stale is set when the content is past its TTL and could not be
	// refreshed in time.
	Stale bool
}

func (a *Artifact) maxSize() int64 {
	if a.MaxSize > 0 {
		return a.MaxSize
	}
	return 16 << 20
}

// evictable reports whether a store with a byte budget may evict a: an
// immutable artifact, fetched again from upstream when it is missing.
func (a *Artifact) evictable() bool { return a.TTL <= 0 && a.CacheControl == "" }

// touched tells a store that keeps a record of use that a was just read or
// written. Hits served from the hot cache are not told: a hot file is read
// from the store, and touched, again every few seconds.
func (c *Cache) touched(a *Artifact) {
	if c.touch != nil {
		c.touch.Touch(a.Name, a.evictable())
	}
}

func (a *Artifact) hotKey() string {
	if a.HotKey != "" {
		return a.HotKey
	}
	return a.Name
}

func (a *Artifact) holdback() int64 {
	if a.Holdback > 0 {
		return a.Holdback
	}
	return 64 << 10
}
