package goproxy

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	modzip "golang.org/x/mod/zip"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/verify"
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

// Prefetcher is implemented by a Verifier that can start a lookup ahead of
// need. The handler calls Prefetch when it fills the first file of a
// version that needs no lookup itself (its .info), so that the lookup runs
// while the client asks for the .mod and the .zip that do.
type Prefetcher interface {
	// Prefetch starts the lookup of path@version in the background. It
	// does not block.
	Prefetch(path, version string)
}

// Config configures a Handler. Cache and Upstream are required.
type Config struct {
	// Cache is the pull-through core that stores, fills and serves.
	Cache    *pull.Cache
	Upstream Fetcher
	// Verifier checks .mod and .zip files against the checksum database.
	// Nil means no database: files still get the structural checks.
	Verifier Verifier
	// MetadataTTL is how long lists, @latest and queries are fresh. Zero
	// means one minute.
	MetadataTTL time.Duration
	// Logger receives request errors. Nil discards them.
	Logger *slog.Logger
}

// Ecosystem is the label of the GOPROXY protocol's metrics and logs.
const Ecosystem = "go"

// Size limits of what gomirror accepts from upstream.
const (
	maxMetadataSize = 16 << 20
	maxInfoSize     = 1 << 20
)

func maxSize(k kind) int64 {
	switch k {
	case kindZip:
		return modzip.MaxZipFile
	case kindMod:
		return modzip.MaxGoMod
	case kindInfo:
		return maxInfoSize
	default:
		return maxMetadataSize
	}
}

// Handler serves the GOPROXY protocol. It is safe for concurrent use.
type Handler struct {
	cfg Config
	log *slog.Logger
}

var _ http.Handler = (*Handler)(nil)

// New returns a Handler for cfg. It returns an error when a required field
// is missing.
func New(cfg Config) (*Handler, error) {
	switch {
	case cfg.Cache == nil:
		return nil, errors.New("goproxy: no cache")
	case cfg.Upstream == nil:
		return nil, errors.New("goproxy: no upstream")
	}
	if cfg.MetadataTTL <= 0 {
		cfg.MetadataTTL = time.Minute
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, log: log}, nil
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
	if k, ok := h.cfg.Cache.ServeHot(w, r, raw); ok {
		if ks != nil {
			ks.SetKind(k)
		}
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
	if err := h.cfg.Cache.Serve(w, r, h.artifact(req)); err != nil {
		h.writeError(w, r, err)
	}
}

// artifact describes the file that req names to the core: how it is
// fetched, and how it is checked before it is stored.
func (h *Handler) artifact(req request) *pull.Artifact {
	a := &pull.Artifact{
		Ecosystem:   Ecosystem,
		Kind:        string(req.kind),
		Name:        req.name,
		ContentType: contentType(req.kind),
		MaxSize:     maxSize(req.kind),
		HotKey:      req.raw,
	}
	if !req.kind.Immutable() {
		a.TTL = h.cfg.MetadataTTL
	}
	mv := module.Version{Path: req.path, Version: req.version}
	switch {
	case req.kind == kindList:
		a.Fetch = h.fetcher(req, nil)
		a.Check = func(_ context.Context, f *os.File) error { return checkList(mv.Path, f) }
	case !req.kind.Immutable() || req.kind == kindInfo:
		a.Fetch = h.fetcher(req, nil)
		a.Check = func(_ context.Context, f *os.File) error {
			data, err := io.ReadAll(f)
			if err != nil {
				return err
			}
			return verify.Info(mv, data)
		}
	default:
		lk := &lookup{}
		a.Fetch = h.fetcher(req, lk)
		var pre *prehash
		if req.kind == kindZip {
			// Inflate and hash the zip's files while it downloads.
			pre = &prehash{done: make(chan struct{})}
			a.Watch = pre.run
		}
		a.Check = func(ctx context.Context, f *os.File) error {
			start := time.Now()
			zipHash, modHash, err := lk.wait(ctx)
			h.cfg.Cache.ObservePhase(a, pull.PhaseLookup, time.Since(start))
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("%w: %s: not in the checksum database: %v", pull.ErrRefused, mv, err)
				}
				return fmt.Errorf("%w: %s: cannot verify: checksum database: %v", pull.ErrUpstream, mv, err)
			}
			if req.kind == kindZip {
				// The download is open already: check it in one pass,
				// taking the hashes of the files inflated as it arrived.
				_, err := verify.ZipFilePrehashed(mv, f, zipHash, pre.wait(ctx))
				return err
			}
			return verify.File(mv, "."+string(req.kind), f.Name(), zipHash, modHash)
		}
	}
	return a
}

// fetcher returns the Fetch of req's artifact. For a .mod or .zip it also
// starts the checksum database lookup, which runs while the file
// downloads and ends with the fill.
func (h *Handler) fetcher(req request, lk *lookup) func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
	return func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
		if lk != nil {
			lk.start(ctx, h.cfg.Verifier, req)
		} else if p, ok := h.cfg.Verifier.(Prefetcher); ok && req.kind == kindInfo {
			p.Prefetch(req.path, req.version)
		}
		body, err := h.cfg.Upstream.Fetch(ctx, req.name)
		if err != nil {
			return nil, err
		}
		return body, nil
	}
}

// lookup is a checksum database lookup running beside a download.
type lookup struct {
	done             chan struct{}
	zipHash, modHash string
	err              error
}

func (l *lookup) start(ctx context.Context, v Verifier, req request) {
	l.done = make(chan struct{})
	if v == nil || (req.kind != kindMod && req.kind != kindZip) {
		close(l.done)
		return
	}
	go func() {
		defer close(l.done)
		l.zipHash, l.modHash, l.err = v.Lookup(ctx, req.path, req.version)
	}()
}

func (l *lookup) wait(ctx context.Context) (zipHash, modHash string, err error) {
	if l.done == nil {
		return "", "", nil
	}
	select {
	case <-l.done:
		return l.zipHash, l.modHash, l.err
	case <-ctx.Done():
		return "", "", ctx.Err()
	}
}

// prehash inflates and hashes a zip's files while it downloads.
type prehash struct {
	done chan struct{}
	p    *verify.Prehashed
}

// run is the artifact's Watch.
func (p *prehash) run(_ context.Context, r io.Reader) {
	defer close(p.done)
	p.p = verify.Prehash(r)
}

// wait returns what run learnt, once it has read the whole download, or
// nil when it never ran or ctx is done first: the check then reads the
// zip itself.
func (p *prehash) wait(ctx context.Context) *verify.Prehashed {
	select {
	case <-p.done:
		return p.p
	case <-ctx.Done():
		return nil
	}
}

// checkList checks an upstream @v/list: one version a line, each a valid
// semantic version (the go command ignores anything after it), so that an
// error page served with a 200 is never stored as a list.
func checkList(modPath string, f *os.File) error {
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, maxMetadataSize)
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		v, _, _ := strings.Cut(string(line), " ")
		if !semver.IsValid(v) {
			return fmt.Errorf("%s/@v/list: line %d is not a version: %.40q", modPath, n, line)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s/@v/list: %w", modPath, err)
	}
	return nil
}

// writeError answers with err's status and a one-line plain-text reason.
// Internal errors are logged and answered with a generic reason.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := pull.Status(err)
	if code >= http.StatusInternalServerError && code != http.StatusBadGateway && code != http.StatusGatewayTimeout {
		h.log.ErrorContext(r.Context(), "serving", "path", r.URL.Path, "err", err)
	}
	WriteError(w, code, pull.Reason(err))
}

// WriteError writes a plain-text error response of one line, the
// GOPROXY protocol's error format.
func WriteError(w http.ResponseWriter, code int, msg string) {
	pull.WriteText(w, code, msg)
}

// Versioned returns the module path and version that a request for a
// version's .info, .mod or .zip names, for rules applied in front of the
// handler. ok is false for any other request, valid or not.
func Versioned(urlPath string) (modulePath, version string, ok bool) {
	req, err := parseRequest(urlPath)
	if err != nil || !req.kind.Immutable() {
		return "", "", false
	}
	return req.path, req.version, true
}
