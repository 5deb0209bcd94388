package upstream

import (
	"context"
	"errors"
	"fmt"
	"github.com/gomirror/gomirror/internal/modglob"
	"github.com/gomirror/gomirror/internal/proxypath"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gomirror/gomirror/internal/metrics"
	"github.com/gomirror/gomirror/internal/pull"
)

// DefaultTimeout bounds one whole fetch when Config.Timeout is zero.
const DefaultTimeout = 5 * time.Minute

// DefaultRetries is the number of retries when Config.Retries is zero.
const DefaultRetries = 2

// DefaultHeaderTimeout bounds the wait for a proxy's response headers when
// Config.HeaderTimeout is zero.
const DefaultHeaderTimeout = 30 * time.Second

// DefaultIdleTimeout bounds the wait for the next byte of a proxy's
// response body when Config.IdleTimeout is zero.
const DefaultIdleTimeout = 30 * time.Second

// Config configures an [Upstream].
type Config struct {
	// Proxy is the chain in GOPROXY syntax, for example
	// "https://a.example,https://b.example|direct", "direct" or "off".
	// It is required. A proxy URL may carry credentials
	// (https://user:password@host); errors never show the password.
	Proxy string
	// Private is a comma-separated list of module path glob patterns
	// (GOPRIVATE/GONOPROXY syntax, see module.MatchPrefixPatterns), matched
	// ignoring case (see modglob.Match). Matching modules are fetched only
	// directly, never from a proxy, whatever Proxy says.
	Private string
	// Client sends requests to proxies. Nil means a pooled client that
	// attempts HTTP/2 and keeps many idle connections per host.
	Client *http.Client
	// Timeout bounds one whole fetch: every attempt on every entry, and
	// reading the body. Zero means DefaultTimeout.
	Timeout time.Duration
	// HeaderTimeout bounds the wait for the response headers of each
	// request to a proxy. Zero means DefaultHeaderTimeout; a negative
	// value removes the bound (Timeout still applies). "direct" is not
	// affected: the go command bounds its own requests.
	HeaderTimeout time.Duration
	// IdleTimeout bounds each read of a proxy's response body: a read that
	// gets no byte for this long fails. Zero means DefaultIdleTimeout; a
	// negative value removes the bound (Timeout still applies).
	IdleTimeout time.Duration
	// Retries is how many times a proxy proxypath.Name is retried after a 429, a
	// 5xx or a connection reset before any header arrived, with exponential
	// backoff and jitter, honouring Retry-After. Zero means DefaultRetries;
	// a negative value disables retries.
	Retries int
	// GoCommand is the go binary that "direct" runs. Empty means "go",
	// looked up in PATH.
	GoCommand string
	// WorkDir is where "direct" keeps its isolated GOPATH and module cache.
	// It is required when the chain contains "direct" or Private is set,
	// and must not be inside a Go module (the go command would use its
	// go.mod).
	WorkDir string
	// Env is the base environment of the go command run by "direct",
	// usually os.Environ(). Settings for git, .netrc, GOAUTH, GOVCS,
	// GOINSECURE and GIT_* pass through; the module settings that isolate
	// the fetch (GOPROXY, GOSUMDB, GOPATH, GOMODCACHE, GOFLAGS, ...) are
	// overridden.
	Env []string
	// Logger receives debug and warning messages. Nil discards them.
	Logger *slog.Logger
	// Metrics records fetch counts and durations. It may be nil. Fetches
	// in flight are not counted here: the caller that fills the store
	// owns that gauge.
	Metrics *metrics.Metrics
}

// Upstream fetches module files through a chain of proxies, "direct" and
// "off". It is safe for concurrent use.
type Upstream struct {
	chain   []entry
	private string
	timeout time.Duration
	// http sends the requests to proxies, with the header and idle bounds
	// and the retries.
	http    *pull.HTTPUpstream
	direct  *direct // nil when nothing is fetched directly
	logger  *slog.Logger
	metrics *metrics.Metrics
}

// New checks cfg and returns an Upstream. Invalid chain entries give an
// error naming the entry, as the go command does.
func New(cfg Config) (*Upstream, error) {
	chain, err := parseChain(cfg.Proxy)
	if err != nil {
		return nil, fmt.Errorf("upstream: %w", err)
	}
	u := &Upstream{
		chain:   chain,
		private: cfg.Private,
		timeout: cfg.Timeout,
		logger:  cfg.Logger,
		metrics: cfg.Metrics,
	}
	if u.timeout <= 0 {
		u.timeout = DefaultTimeout
	}
	if u.logger == nil {
		u.logger = slog.New(slog.DiscardHandler)
	}
	client := cfg.Client
	if client == nil {
		client = newClient()
	}
	retries := cfg.Retries
	switch {
	case retries == 0:
		retries = DefaultRetries
	case retries < 0:
		retries = 0
	}
	// The proxies are the operator's own choice: no host guard.
	u.http = &pull.HTTPUpstream{
		Client:        client,
		HeaderTimeout: orDefault(cfg.HeaderTimeout, DefaultHeaderTimeout),
		IdleTimeout:   orDefault(cfg.IdleTimeout, DefaultIdleTimeout),
		Retries:       retries,
		UserAgent:     userAgent,
		Logger:        u.logger,
	}
	usesDirect := cfg.Private != ""
	for _, e := range chain {
		usesDirect = usesDirect || e.kind == entryDirect
	}
	if usesDirect {
		u.direct, err = newDirect(cfg, u.logger)
		if err != nil {
			return nil, fmt.Errorf("upstream: %w", err)
		}
	}
	return u, nil
}

// orDefault returns def for a zero d, and d otherwise (negative: no
// bound).
func orDefault(d, def time.Duration) time.Duration {
	if d == 0 {
		return def
	}
	return d
}

// newClient returns the default pooled HTTP client.
func newClient() *http.Client {
	t := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: t}
}

// Proxies returns the base URLs of the chain's proxy entries, in order,
// without a trailing slash. They may be http, https or file URLs and may
// carry credentials, so they are not for showing to users.
func (u *Upstream) Proxies() []string {
	var out []string
	for _, e := range u.chain {
		if e.kind == entryProxy {
			out = append(out, strings.TrimSuffix(e.url.String(), "/"))
		}
	}
	return out
}

// Fetch returns the upstream content of name, for example
// "golang.org/x/text/@v/v0.3.0.zip", "github.com/!burnt!sushi/toml/@v/list",
// "golang.org/x/text/@latest" or "golang.org/x/text/@v/master.info" (a
// query, answered with the .info of the version it resolves to). The module
// path and version in name are escaped as by module.EscapePath.
//
// The body streams; the caller must close it. The fetch, reading the body
// included, is bounded by the configured Timeout and by ctx; each request
// to a proxy is bounded by HeaderTimeout, and each read of its body by
// IdleTimeout.
//
// When every entry tried said "not found", the error matches fs.ErrNotExist
// and its message is the upstream's one-line reason when it gave one. When
// the chain reaches "off", the error matches fs.ErrPermission. A malformed
// name gives an error matching fs.ErrInvalid. Other errors name the failing
// entry and the cause. When an upstream went quiet for longer than one of
// the configured timeouts, the error (returned here or by a read of the
// body) matches os.ErrDeadlineExceeded, and also context.DeadlineExceeded;
// it never matches fs.ErrNotExist. The error chosen among several
// entries' is the one the go command would report.
func (u *Upstream) Fetch(ctx context.Context, name string) (io.ReadCloser, error) {
	req, err := proxypath.Parse(name)
	if err != nil {
		return nil, err
	}
	start := time.Now()
	ctx, cancel := context.WithTimeoutCause(ctx, u.timeout, &timeoutError{what: "fetch not finished", d: u.timeout})
	body, err := u.walk(ctx, req)
	if err != nil {
		cancel()
		u.count(string(req.Kind), resultOf(err))
		u.finish(string(req.Kind), start)
		return nil, err
	}
	u.count(string(req.Kind), "ok")
	return &fetchBody{
		rc:  body,
		req: req,
		done: func() {
			cancel()
			u.finish(string(req.Kind), start)
		},
	}, nil
}

// resultOf classifies err for metrics.
func resultOf(err error) string {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return "notfound"
	}
	return "error"
}

// count counts a fetch's result when metrics are on.
func (u *Upstream) count(kind, result string) {
	if u.metrics != nil {
		u.metrics.UpstreamFetches.WithLabelValues(kind, result).Inc()
	}
}

// finish ends a fetch that started at start: it observes its duration.
func (u *Upstream) finish(kind string, start time.Time) {
	if u.metrics != nil {
		u.metrics.UpstreamDuration.WithLabelValues(kind).Observe(time.Since(start).Seconds())
	}
}

// Ranks of errors, from least to most helpful, as in the go command.
const (
	rankNotExist = iota
	rankProxy
	rankDirect
)

// walk tries the chain's entries in order and returns the first body, or
// the most helpful error.
func (u *Upstream) walk(ctx context.Context, req proxypath.Name) (io.ReadCloser, error) {
	chain := u.chain
	if modglob.Match(u.private, req.Path) {
		chain = []entry{{kind: entryDirect}}
	}
	var best error
	bestRank := rankNotExist
	for _, e := range chain {
		body, err := u.fetchFrom(ctx, e, req)
		if err == nil {
			return body, nil
		}
		notExist := errors.Is(err, fs.ErrNotExist) || e.kind == entryOff
		switch {
		case e.kind == entryDirect:
			best, bestRank = err, rankDirect
		case bestRank <= rankProxy && !notExist:
			best, bestRank = err, rankProxy
		case bestRank == rankNotExist:
			best = err
		}
		u.logger.DebugContext(ctx, "upstream entry failed", "entry", e.String(), "name", req.Escaped, "err", err)
		if (!e.fallBackOnError && !notExist) || ctx.Err() != nil {
			break
		}
	}
	return nil, best
}

// fetchFrom fetches req from one entry.
func (u *Upstream) fetchFrom(ctx context.Context, e entry, req proxypath.Name) (io.ReadCloser, error) {
	switch e.kind {
	case entryOff:
		return nil, offError{}
	case entryDirect:
		return u.direct.fetch(ctx, req)
	}
	if e.url.Scheme == "file" {
		return fetchFile(e, req)
	}
	return u.fetchHTTP(ctx, e, req)
}

// fetchBody is the body handed to Fetch's caller: it names the proxypath.Name in
// read errors and ends the fetch (timeout, metrics) when closed.
type fetchBody struct {
	rc   io.ReadCloser
	req  proxypath.Name
	once sync.Once
	done func()
}

func (b *fetchBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("upstream: reading %s: %w", b.req.Escaped, err)
	}
	return n, err
}

func (b *fetchBody) Close() error {
	err := b.rc.Close()
	b.once.Do(b.done)
	return err
}

// Size returns the length the upstream announced for the body, or -1 when
// it did not say (and for a file read from the direct fetch's cache).
func (b *fetchBody) Size() int64 {
	if s, ok := b.rc.(interface{ Size() int64 }); ok {
		return s.Size()
	}
	return -1
}
