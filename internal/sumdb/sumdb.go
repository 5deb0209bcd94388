package sumdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/sync/singleflight"

	"github.com/gomirror/gomirror/internal/metrics"
	"github.com/gomirror/gomirror/internal/modglob"
	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/store"
)

// Config says which checksum database to use, how to reach it and where to
// keep what is learnt from it.
type Config struct {
	// GOSUMDB names the database with the go command's GOSUMDB syntax: ""
	// (sum.golang.org), "off", "NAME" for a database whose key gomirror
	// knows (sum.golang.org, sum.golang.google.cn), "NAME+HASH+KEY", each
	// optionally followed by a space and the database's URL. With a URL,
	// the database is reached there and Proxies are not tried.
	GOSUMDB string
	// Proxies are upstream module proxy base URLs. Unless GOSUMDB gives a
	// URL, each is asked in order whether it proxies the database
	// (PROXY/sumdb/NAME/supported) before the database is reached at
	// https://NAME. The entries "direct" and "off" are ignored.
	Proxies []string
	// Private and NoSumDB are comma-separated module path glob lists (the
	// GOPRIVATE and GONOSUMDB syntax); matching modules are never looked up.
	Private, NoSumDB string
	// Store keeps lookups and tiles for good under "sumdb/NAME/lookup/..."
	// and "sumdb/NAME/tile/...", and the latest signed tree head under
	// "sumdb/NAME/latest". Required unless GOSUMDB is "off".
	Store store.Store
	// StateDir is a local directory for the verifier's state: the latest
	// tree head it has checked. Required unless GOSUMDB is "off".
	StateDir string
	// LatestTTL is how long a fetched /latest is served before it is
	// fetched again; 0 means one minute.
	LatestTTL time.Duration
	// Client makes the upstream requests; nil means a default client.
	Client *http.Client
	// Upstream bounds the upstream requests (the wait for headers and for
	// each read of a body) and sends them with its client, which then
	// replaces Client. Nil means Client with the core's default bounds.
	Upstream *pull.HTTPUpstream
	// Cache is the pull-through core that fills and serves the proxy's
	// lookups, tiles and tree head, shared with the server's other
	// mirrors. Nil means a cache of the SumDB's own over Store, with its
	// temporary files under StateDir.
	Cache *pull.Cache
	// Logger receives warnings about upstream failures; nil discards them.
	Logger *slog.Logger
	// Metrics records upstream fetches and cache hits; nil records nothing.
	Metrics *metrics.Metrics
}

const (
	// fetchTimeout bounds one upstream request.
	fetchTimeout = time.Minute
	// maxResponse bounds the size of one upstream response.
	maxResponse = 16 << 20
	// memoVersions bounds how many module versions' verified hashes are
	// kept in memory (about 200 bytes each).
	memoVersions = 8192
	// tileMemBytes bounds the hash tiles kept in memory; the store keeps
	// them all.
	tileMemBytes = 1 << 20
	// rediscoverAfter is how long a database location found after an
	// upstream error is used before the proxies are asked again.
	rediscoverAfter = time.Minute
)

// knownKeys are the verifier keys of the databases named without a key.
var knownKeys = map[string]string{
	"sum.golang.org": "sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8",
}

// SumDB proxies one checksum database to go commands and verifies module
// hashes against it. It is safe for concurrent use.
type SumDB struct {
	name      string // "" when off
	key       string
	verifiers note.Verifiers
	direct    *url.URL // https://NAME, or the URL given in GOSUMDB
	explicit  bool     // direct came from GOSUMDB: never ask proxies
	proxies   []*url.URL
	private   string
	nosumdb   string
	store     store.Store
	stateDir  string
	latestTTL time.Duration
	up        *pull.HTTPUpstream
	cache     *pull.Cache
	ownCache  bool // cache is the SumDB's own: Shutdown waits for it
	log       *slog.Logger
	metrics   *metrics.Metrics

	baseMu    sync.Mutex
	base      *url.URL  // where the database is reached, once known
	baseUntil time.Time // zero: base is for good

	stateMu sync.Mutex // guards the state file and damage
	damage  error      // damage found in the state file, until rebuilt

	lookupMu sync.Mutex
	lookups  map[string]*lookupCall // by module@version
	memo     *hashMemo              // verified hashes, by module@version
	tileMem  *memCache              // hash tiles, by cache file name
	fetches  singleflight.Group     // the search for the database's location
	tasks    tasks                  // lookups and fetches, for Shutdown
}

// New checks cfg and returns a SumDB. It makes no request: the database is
// found on first use. A damaged state file in StateDir is logged and
// reported by [SumDB.Check], and rebuilt on first use.
func New(cfg Config) (*SumDB, error) {
	s := &SumDB{
		private:   cfg.Private,
		nosumdb:   cfg.NoSumDB,
		store:     cfg.Store,
		stateDir:  cfg.StateDir,
		latestTTL: cfg.LatestTTL,
		up:        cfg.Upstream,
		cache:     cfg.Cache,
		log:       cfg.Logger,
		metrics:   cfg.Metrics,
		lookups:   make(map[string]*lookupCall),
		memo:      newHashMemo(memoVersions),
		tileMem:   newMemCache(tileMemBytes),
	}
	if s.latestTTL <= 0 {
		s.latestTTL = time.Minute
	}
	if s.up == nil {
		s.up = &pull.HTTPUpstream{Client: cfg.Client}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	name, key, u, err := parseGOSUMDB(cfg.GOSUMDB)
	if err != nil {
		return nil, err
	}
	if name == "" {
		return s, nil
	}
	v, err := note.NewVerifier(key)
	if err != nil {
		return nil, fmt.Errorf("invalid GOSUMDB: %v", err)
	}
	s.name, s.key, s.verifiers = name, key, note.VerifierList(v)
	s.direct = &url.URL{Scheme: "https", Host: name}
	if host, p, ok := strings.Cut(name, "/"); ok {
		s.direct = &url.URL{Scheme: "https", Host: host, Path: "/" + p}
	}
	if u != nil {
		s.direct, s.explicit = u, true
	}
	for _, p := range cfg.Proxies {
		if p == "direct" || p == "off" || p == "noproxy" || p == "" {
			continue
		}
		pu, err := url.Parse(p)
		if err != nil || (pu.Scheme != "http" && pu.Scheme != "https" && pu.Scheme != "file") {
			return nil, fmt.Errorf("invalid upstream proxy URL %q", p)
		}
		if pu.Scheme != "file" {
			s.proxies = append(s.proxies, pu)
		}
	}
	if cfg.Store == nil {
		return nil, errors.New("checksum database proxy: no store")
	}
	if cfg.StateDir == "" {
		return nil, errors.New("checksum database proxy: no state directory")
	}
	if err := os.MkdirAll(cfg.StateDir, 0o777); err != nil {
		return nil, fmt.Errorf("checksum database state: %w", err)
	}
	if s.cache == nil {
		tmp := filepath.Join(cfg.StateDir, "tmp")
		if err := os.MkdirAll(tmp, 0o777); err != nil {
			return nil, fmt.Errorf("checksum database state: %w", err)
		}
		c, err := pull.New(pull.Config{Store: cfg.Store, TempDir: tmp, Logger: cfg.Logger, Metrics: cfg.Metrics})
		if err != nil {
			return nil, err
		}
		s.cache, s.ownCache = c, true
	}
	if _, err := s.readState(); err != nil {
		s.log.Error("checksum database state damaged; it will be rebuilt from the database's latest tree head", "sumdb", s.name, "err", err)
		s.damage = err
	}
	return s, nil
}

// parseGOSUMDB parses the GOSUMDB syntax as the go command does. It
// returns name "" for "off".
func parseGOSUMDB(gosumdb string) (name, key string, u *url.URL, err error) {
	gosumdb = strings.TrimSpace(gosumdb)
	switch gosumdb {
	case "":
		gosumdb = "sum.golang.org"
	case "off":
		return "", "", nil, nil
	case "sum.golang.google.cn":
		// An alias, reachable inside mainland China, for sum.golang.org.
		gosumdb = "sum.golang.org https://sum.golang.google.cn"
	}
	f := strings.Fields(gosumdb)
	if len(f) > 2 {
		return "", "", nil, fmt.Errorf("invalid GOSUMDB %q: too many fields", gosumdb)
	}
	key = f[0]
	if k := knownKeys[key]; k != "" {
		key = k
	}
	v, err := note.NewVerifier(key)
	if err != nil {
		return "", "", nil, fmt.Errorf("invalid GOSUMDB %q: %v", gosumdb, err)
	}
	name = v.Name()
	direct, err := url.Parse("https://" + name)
	if err != nil || strings.HasSuffix(name, "/") || direct.Host == "" ||
		*direct != (url.URL{Scheme: "https", Host: direct.Host, Path: direct.Path}) ||
		store.CheckName("sumdb/"+name+"/latest") != nil {
		return "", "", nil, fmt.Errorf("invalid GOSUMDB %q: database name must be host[/path]", gosumdb)
	}
	if len(f) == 2 {
		u, err = url.Parse(f[1])
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "", "", nil, fmt.Errorf("invalid GOSUMDB %q: bad URL", gosumdb)
		}
	}
	return name, key, u, nil
}

// Name returns the name of the database, or "" when it is off.
func (s *SumDB) Name() string { return s.name }

// skip reports whether path is never to be looked up.
func (s *SumDB) skip(path string) bool {
	if s.name == "" {
		return true
	}
	if path == "golang.org/toolchain" {
		// Toolchains are always checked, as the go command does.
		return false
	}
	return modglob.Match(s.private, path) || modglob.Match(s.nosumdb, path)
}

// dbBase returns the URL the database is reached at, finding it as the go
// command does: the first proxy whose /sumdb/NAME/supported answers 200,
// or the database itself when every proxy answers 404 or 410. A location
// found while a proxy was failing is used for a while only, then the
// proxies are asked again. The search is shared and outlives ctx; the
// error is ctx's when it is done first.
func (s *SumDB) dbBase(ctx context.Context) (*url.URL, error) {
	if s.explicit || len(s.proxies) == 0 {
		return s.direct, nil
	}
	s.baseMu.Lock()
	base, until := s.base, s.baseUntil
	s.baseMu.Unlock()
	if base != nil && (until.IsZero() || time.Now().Before(until)) {
		return base, nil
	}
	ch := s.fetches.DoChan("\x00discover", func() (any, error) {
		ctx, t := s.tasks.start(context.WithoutCancel(ctx))
		defer s.tasks.finish(t)
		base, definitive := s.discover(ctx)
		s.baseMu.Lock()
		s.base, s.baseUntil = base, time.Time{}
		if !definitive {
			s.baseUntil = time.Now().Add(rediscoverAfter)
		}
		s.baseMu.Unlock()
		return base, nil
	})
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("finding checksum database %s: %w", s.name, context.Cause(ctx))
	case res := <-ch:
		return res.Val.(*url.URL), nil
	}
}

// discover asks the proxies in turn. definitive is false when a proxy
// failed with something other than 404 or 410.
func (s *SumDB) discover(ctx context.Context) (base *url.URL, definitive bool) {
	definitive = true
	for _, p := range s.proxies {
		u := p.JoinPath("sumdb", s.name, "supported")
		_, err := s.get(ctx, "supported", u)
		if err == nil {
			s.log.Debug("checksum database proxied", "sumdb", s.name, "proxy", p.Redacted())
			return p.JoinPath("sumdb", s.name), true
		}
		if !errors.Is(err, fs.ErrNotExist) {
			s.log.Warn("asking proxy about the checksum database", "sumdb", s.name, "err", err)
			definitive = false
		}
	}
	return s.direct, definitive
}

// fetch gets remote ("/latest", "/lookup/...", "/tile/...") from the
// database.
func (s *SumDB) fetch(ctx context.Context, kind, remote string) ([]byte, error) {
	base, err := s.dbBase(ctx)
	if err != nil {
		return nil, err
	}
	u := *base
	u.Path = strings.TrimSuffix(u.Path, "/") + remote
	u.RawPath = ""
	return s.get(ctx, kind, &u)
}

// get fetches u. A 404 or 410 answer gives an error matching
// fs.ErrNotExist.
func (s *SumDB) get(ctx context.Context, kind string, u *url.URL) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	start := time.Now()
	data, err := s.doGet(ctx, u)
	if s.metrics != nil {
		s.metrics.SumDBDuration.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	}
	result := "ok"
	switch {
	case errors.Is(err, fs.ErrNotExist):
		result = "notfound"
	case err != nil:
		result = "error"
	}
	if s.metrics != nil {
		s.metrics.SumDBFetches.WithLabelValues(kind, result).Inc()
	}
	return data, err
}

func (s *SumDB) doGet(ctx context.Context, u *url.URL) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", u.Redacted(), err)
	}
	// Do bounds the wait for the headers and for each read, and names
	// the URL redacted in its errors; a 404 or 410 matches fs.ErrNotExist.
	resp, err := s.up.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("GET %s: %w", u.Redacted(), err)
	case len(data) > maxResponse:
		return nil, fmt.Errorf("GET %s: response larger than %d bytes", u.Redacted(), maxResponse)
	}
	return data, nil
}
