package pypi

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
)

// Prefix is the path under which the handler answers.
const Prefix = "/pypi/"

// DefaultIndex is the upstream index used when Config.Indexes is empty.
const DefaultIndex = "https://pypi.org/simple/"

// Config configures a Handler. Cache is required; zero values of the other
// fields mean their documented defaults.
type Config struct {
	// Cache is the pull-through core that stores and serves everything.
	Cache *pull.Cache
	// Indexes are the upstream simple indexes (PyPI, or another mirror),
	// in order: a project comes from the first that has it. Empty means
	// DefaultIndex.
	Indexes []string
	// PageTTL is how long a project page is fresh before it is refreshed
	// from upstream. Zero means 10 minutes.
	PageTTL time.Duration
	// IndexTTL is how long the index of all projects is fresh. Zero
	// means one hour.
	IndexTTL time.Duration
	// MaxPageSize bounds one upstream project page. Zero means 64 MiB.
	MaxPageSize int64
	// MaxIndexSize bounds one upstream index of projects. Zero means
	// 256 MiB.
	MaxIndexSize int64
	// MaxFileSize bounds one file. Zero means 8 GiB.
	MaxFileSize int64
	// RenderCacheSize bounds the bytes of rendered project pages kept in
	// memory, so that a popular page is not decoded and rendered on every
	// request. Zero means 64 MiB.
	RenderCacheSize int64
	// HTTPUpstream gives the settings of upstream requests: client, bounds,
	// retries and the allow-list of other hosts that file URLs and
	// redirects may name. The mirror fetches from its indexes' hosts, and
	// sends an index URL's credentials to its host only. Nil means a zero
	// pull.HTTPUpstream with Client.
	HTTPUpstream *pull.HTTPUpstream
	// Client fetches from upstream when HTTPUpstream is nil. Nil means
	// http.DefaultClient.
	Client *http.Client
	// Memory bounds the memory that decoding and rendering project pages
	// takes across requests. Nil means a budget of pull.DefaultMemory of
	// the mirror's own.
	Memory *pull.Memory
	// UserAgent is sent upstream. Empty means "gomirror".
	UserAgent string
	// Logger receives upstream faults. Nil discards them.
	Logger *slog.Logger
}

// Validate reports the first bad field, by name.
func (c *Config) Validate() error {
	if c.Cache == nil {
		return errors.New("pypi: Cache is required")
	}
	for _, ix := range c.Indexes {
		if _, err := parseIndexURL(ix); err != nil {
			return fmt.Errorf("pypi: Indexes: %w", err)
		}
	}
	switch {
	case c.PageTTL < 0:
		return errors.New("pypi: PageTTL must not be negative")
	case c.IndexTTL < 0:
		return errors.New("pypi: IndexTTL must not be negative")
	case c.MaxPageSize < 0:
		return errors.New("pypi: MaxPageSize must not be negative")
	case c.MaxIndexSize < 0:
		return errors.New("pypi: MaxIndexSize must not be negative")
	case c.MaxFileSize < 0:
		return errors.New("pypi: MaxFileSize must not be negative")
	case c.RenderCacheSize < 0:
		return errors.New("pypi: RenderCacheSize must not be negative")
	}
	return nil
}

// parseIndexURL checks an upstream index URL and gives it a final "/".
func parseIndexURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("index %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("index %q: want an http or https URL", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("index %q: no query or fragment allowed", raw)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
		u.RawPath = ""
	}
	return u, nil
}

// Handler serves the PyPI mirror under [Prefix]. It is safe for concurrent
// use.
type Handler struct {
	cache    *pull.Cache
	up       *upstream
	pageTTL  time.Duration
	indexTTL time.Duration
	maxFile  int64
	rendered *rendered
	log      *slog.Logger
}

// New returns a Handler for cfg, or the error of cfg.Validate.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	indexes := cfg.Indexes
	if len(indexes) == 0 {
		indexes = []string{DefaultIndex}
	}
	mem := cfg.Memory
	if mem == nil {
		mem = pull.NewMemory(0)
	}
	up := &upstream{
		mem:       mem,
		userAgent: cmp.Or(cfg.UserAgent, "gomirror"),
		maxPage:   cmp.Or(cfg.MaxPageSize, int64(64<<20)),
		maxIndex:  cmp.Or(cfg.MaxIndexSize, int64(256<<20)),
		log:       log,
	}
	var parsed []*url.URL
	for _, ix := range indexes {
		u, _ := parseIndexURL(ix) // Validated above.
		parsed = append(parsed, u)
	}
	settings := cfg.HTTPUpstream
	if settings == nil {
		settings = &pull.HTTPUpstream{Client: cfg.Client}
	}
	up.http, up.indexes = newHTTP(settings, parsed)
	return &Handler{
		cache:    cfg.Cache,
		up:       up,
		pageTTL:  cmp.Or(cfg.PageTTL, 10*time.Minute),
		indexTTL: cmp.Or(cfg.IndexTTL, time.Hour),
		maxFile:  cmp.Or(cfg.MaxFileSize, int64(8<<30)),
		rendered: newRendered(cmp.Or(cfg.RenderCacheSize, int64(64<<20))),
		log:      log,
	}, nil
}

// ServeHTTP answers GET and HEAD requests for paths under [Prefix].
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Vary", "Accept")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.writeError(w, r, http.StatusMethodNotAllowed, "method not allowed", nil)
		return
	}
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), Prefix)
	if !ok {
		h.fail(w, r, pull.NotFound("not a PyPI mirror path"))
		return
	}
	switch {
	case rest == "simple":
		h.redirect(w, r, "simple/")
	case rest == "simple/":
		h.serveIndex(w, r)
	case strings.HasPrefix(rest, "simple/"):
		h.serveProject(w, r, strings.TrimPrefix(rest, "simple/"))
	case strings.HasPrefix(rest, "files/"):
		h.serveFile(w, r, strings.TrimPrefix(rest, "files/"))
	default:
		h.fail(w, r, pull.NotFound("no such path on this PyPI mirror; the index is at "+Prefix+"simple/"))
	}
}

// redirect sends a permanent redirect to path, relative to the request's
// URL so that it holds behind a proxy that serves the mirror under another
// prefix, keeping the query.
func (h *Handler) redirect(w http.ResponseWriter, r *http.Request, path string) {
	if r.URL.RawQuery != "" {
		path += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", path)
	w.WriteHeader(http.StatusMovedPermanently)
}

// serveProject answers simple/<name>/, redirecting other spellings.
func (h *Handler) serveProject(w http.ResponseWriter, r *http.Request, rest string) {
	raw, tail, slash := strings.Cut(rest, "/")
	if slash && tail != "" {
		h.fail(w, r, pull.NotFound("no such path on this PyPI mirror"))
		return
	}
	name, err := url.PathUnescape(raw)
	if err == nil {
		err = CheckName(name)
	}
	if err != nil {
		h.fail(w, r, fmt.Errorf("%w: %w", pull.ErrBadRequest, err))
		return
	}
	norm := Normalize(name)
	switch {
	case slash && norm != raw: // simple/Foo_Bar/
		h.redirect(w, r, "../"+norm+"/")
		return
	case !slash: // simple/foo-bar or simple/Foo_Bar
		h.redirect(w, r, norm+"/")
		return
	}
	f, ok := negotiate(r)
	if !ok {
		h.notAcceptable(w, r)
		return
	}
	a := h.pageArtifact(norm)
	e, err := h.cache.Open(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer e.Body.Close()
	key := keyOf(norm, e.ModTime, e.Size, f)
	data, ok := h.rendered.get(key)
	if !ok {
		var p Project
		data, err = h.renderStored(r.Context(), e, a.MaxSize, &p, func() []byte { return renderProject(&p, f) })
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.rendered.put(key, data)
	}
	h.serveRendered(w, r, f, data, e, h.pageTTL)
}

// serveIndex answers simple/.
func (h *Handler) serveIndex(w http.ResponseWriter, r *http.Request) {
	f, ok := negotiate(r)
	if !ok {
		h.notAcceptable(w, r)
		return
	}
	a := &pull.Artifact{
		Ecosystem: "pypi", Kind: "index", Name: "pypi/index.json",
		ContentType: "application/json", TTL: h.indexTTL, MaxSize: 2 * h.up.maxIndex,
		Fetch: func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
			ix, err := h.up.fetchIndex(ctx)
			if err != nil {
				return nil, err
			}
			data, err := json.Marshal(ix)
			if err != nil {
				return nil, fmt.Errorf("encoding the index: %w", err)
			}
			return pull.BytesBody(data), nil
		},
	}
	e, err := h.cache.Open(r.Context(), a)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	defer e.Body.Close()
	key := keyOf("", e.ModTime, e.Size, f) // No project is called "".
	data, ok := h.rendered.get(key)
	if !ok {
		var ix Index
		data, err = h.renderStored(r.Context(), e, a.MaxSize, &ix, func() []byte { return renderIndex(&ix, f) })
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.rendered.put(key, data)
	}
	h.serveRendered(w, r, f, data, e, h.indexTTL)
}

// serveRendered serves a page rendered from stored metadata.
func (h *Handler) serveRendered(w http.ResponseWriter, r *http.Request, f format, data []byte, e *pull.Entry, ttl time.Duration) {
	cc := pull.MetadataCacheControl(ttl)
	if e.Stale {
		pull.MarkStale(w)
		cc = "no-cache"
	}
	tag := "html"
	switch f {
	case formatJSON:
		tag = "json"
	case formatHTMLv1:
		tag = "v1html"
	}
	w.Header().Set("ETag", strings.TrimSuffix(pull.ETag(e.Size, e.ModTime), `"`)+"-"+tag+`"`)
	if tag != "json" {
		// Links only: no script, style or anything else runs on a page
		// made of upstream's names.
		w.Header().Set("Content-Security-Policy", "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
	}
	pull.ServeBytes(w, r, f.contentType, data, e.ModTime, cc)
}

// pageArtifact describes the stored page of project norm.
func (h *Handler) pageArtifact(norm string) *pull.Artifact {
	return &pull.Artifact{
		Ecosystem: "pypi", Kind: "page", Name: "pypi/simple/" + norm + ".json",
		ContentType: "application/json", TTL: h.pageTTL, MaxSize: 2 * h.up.maxPage,
		Fetch: func(ctx context.Context, prev io.Reader) (io.ReadCloser, error) {
			var old *Project
			if prev != nil {
				release, err := h.up.mem.Reserve(ctx, sizeOr(sizeOfReader(prev), 2*h.up.maxPage))
				if err != nil {
					return nil, err
				}
				var p Project
				if decodeStored(prev, 2*h.up.maxPage, &p) == nil {
					old = &p
				}
				release()
			}
			p, release, err := h.up.fetchProject(ctx, norm, old)
			if err != nil {
				return nil, err
			}
			data, err := json.Marshal(p)
			p = nil
			if err != nil {
				release()
				return nil, fmt.Errorf("encoding the page of %s: %w", norm, err)
			}
			// The memory stays reserved until the core has stored the page.
			return &releasingBody{ReadCloser: pull.BytesBody(data), size: int64(len(data)), release: release}, nil
		},
	}
}

// openProject returns the stored page of project norm, filling or
// refreshing it through the core.
func (h *Handler) openProject(ctx context.Context, norm string) (*Project, error) {
	a := h.pageArtifact(norm)
	e, err := h.cache.Open(ctx, a)
	if err != nil {
		return nil, err
	}
	defer e.Body.Close()
	release, err := h.up.mem.Reserve(ctx, sizeOr(e.Size, a.MaxSize))
	if err != nil {
		return nil, err
	}
	defer release()
	var p Project
	if err := decodeStored(e.Body, a.MaxSize, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// renderStored decodes e's stored metadata into v and renders it, within
// the memory budget.
func (h *Handler) renderStored(ctx context.Context, e *pull.Entry, limit int64, v any, render func() []byte) ([]byte, error) {
	release, err := h.up.mem.Reserve(ctx, sizeOr(e.Size, limit))
	if err != nil {
		return nil, err
	}
	defer release()
	if err := decodeStored(e.Body, limit, v); err != nil {
		return nil, err
	}
	return render(), nil
}

// releasingBody gives back a reservation of memory when it is closed.
type releasingBody struct {
	io.ReadCloser
	size    int64
	release func()
}

func (b *releasingBody) Size() int64 { return b.size }

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

// sizeOr returns size, or limit when size is unknown (negative).
func sizeOr(size, limit int64) int64 {
	if size < 0 {
		return limit
	}
	return size
}

// sizeOfReader returns the size of a stored copy being read, or -1.
func sizeOfReader(r io.Reader) int64 {
	switch r := r.(type) {
	case interface{ Size() int64 }:
		return r.Size()
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := r.Stat(); err == nil {
			return fi.Size()
		}
	}
	return -1
}

// decodeStored reads stored JSON metadata into v.
func decodeStored(r io.Reader, limit int64, v any) error {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return fmt.Errorf("reading stored metadata: %w", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decoding stored metadata: %w", err)
	}
	return nil
}

// fileRef is a parsed file URL: files/<project>/<sha256>/<filename>.
type fileRef struct {
	project  string // normalised
	sha256   string // lower-case hex of the file (of the file the metadata describes, for .metadata)
	filename string // as requested, with ".metadata" for metadata
}

// parseFileRef parses the part of a file URL after files/, with its
// elements still escaped.
func parseFileRef(rest string) (fileRef, error) {
	parts := strings.Split(rest, "/")
	if len(parts) != 3 {
		return fileRef{}, errors.New("want files/<project>/<sha256>/<filename>")
	}
	var ref fileRef
	var err error
	if ref.project, err = url.PathUnescape(parts[0]); err != nil {
		return fileRef{}, fmt.Errorf("bad project in file URL: %w", err)
	}
	if err := CheckName(ref.project); err != nil {
		return fileRef{}, err
	}
	if Normalize(ref.project) != ref.project {
		return fileRef{}, fmt.Errorf("project %q in a file URL is not in normal form", ref.project)
	}
	ref.sha256 = parts[1]
	if len(ref.sha256) != 64 || strings.ToLower(ref.sha256) != ref.sha256 {
		return fileRef{}, fmt.Errorf("%q is not a lower-case hex sha256", oneLine(ref.sha256, 80))
	}
	if _, err := hex.DecodeString(ref.sha256); err != nil {
		return fileRef{}, fmt.Errorf("%q is not a lower-case hex sha256", oneLine(ref.sha256, 80))
	}
	if ref.filename, err = url.PathUnescape(parts[2]); err != nil {
		return fileRef{}, fmt.Errorf("bad file name in file URL: %w", err)
	}
	if err := checkFilename(ref.filename); err != nil {
		return fileRef{}, err
	}
	return ref, nil
}

// filesDir holds the distribution files, and their metadata files, in the
// store, by project and sha256.
const filesDir = "pypi/files/"

// IsImmutable reports whether name is the store name of a distribution
// file or of its metadata file, which never change once published (they are
// stored under their digest); the index and project pages do.
func IsImmutable(name string) bool { return strings.HasPrefix(name, filesDir) }

// serveFile answers files/<project>/<sha256>/<filename>.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, rest string) {
	ref, err := parseFileRef(rest)
	if err != nil {
		h.fail(w, r, fmt.Errorf("%w: %w", pull.ErrBadRequest, err))
		return
	}
	name := filesDir + ref.project + "/" + ref.sha256 + "/" + ref.filename
	if _, ok := h.cache.ServeHot(w, r, name); ok {
		return
	}
	a := &pull.Artifact{Ecosystem: "pypi", Name: name, MaxSize: h.maxFile}
	if strings.HasSuffix(ref.filename, ".metadata") {
		// The digest of a metadata file is on the page, not in its URL:
		// Fetch finds it there and Check holds the file to it. The whole
		// file is held back, so no client gets a byte before the check.
		var want string
		a.Kind, a.ContentType, a.MaxSize = "metadata", "text/plain; charset=utf-8", 16<<20
		a.Holdback = a.MaxSize
		a.Fetch = func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
			u, sum, err := h.locate(ctx, ref)
			if err != nil {
				return nil, err
			}
			want = sum
			return h.up.fetchFile(ctx, u)
		}
		a.Check = func(ctx context.Context, f *os.File) error {
			hash := sha256.New()
			if _, err := io.Copy(hash, f); err != nil {
				return fmt.Errorf("%w: reading the download of %s: %w", pull.ErrUpstream, ref.filename, err)
			}
			if got := hex.EncodeToString(hash.Sum(nil)); got != want {
				// Not the digest of what came: see pull's mismatch.
				return fmt.Errorf("%s: sha256 mismatch: what upstream sent does not have the sha256 %s from the project page", ref.filename, want)
			}
			return nil
		}
	} else {
		sum, _ := hex.DecodeString(ref.sha256)
		a.Kind, a.ContentType = "file", "application/octet-stream"
		a.Want = &pull.Digest{Algorithm: "sha256", Sum: sum, Size: -1, Source: "the project page"}
		a.Fetch = func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
			u, _, err := h.locate(ctx, ref)
			if err != nil {
				return nil, err
			}
			return h.up.fetchFile(ctx, u)
		}
	}
	if err := h.cache.Serve(w, r, a); err != nil {
		h.fail(w, r, err)
	}
}

// locate finds a requested file on its stored project page (fetching the
// page through the core when needed): its upstream URL and the sha256 it
// must have. A file URL whose digest is not the page's is not found: the
// mirror fetches only what a page lists, and checks it against the page.
func (h *Handler) locate(ctx context.Context, ref fileRef) (upstreamURL, sha string, err error) {
	p, err := h.openProject(ctx, ref.project)
	if err != nil {
		return "", "", err
	}
	if f := p.find(ref.filename); f != nil && f.sha256() == ref.sha256 {
		return f.URL, f.sha256(), nil
	}
	if base, ok := strings.CutSuffix(ref.filename, ".metadata"); ok {
		if f := p.find(base); f != nil && f.sha256() == ref.sha256 && f.CoreMetadata != nil {
			return f.URL + ".metadata", f.CoreMetadata["sha256"], nil
		}
	}
	return "", "", pull.NotFound(fmt.Sprintf("%s with sha256 %s is not on the project page of %s", ref.filename, ref.sha256, ref.project))
}

// notAcceptable answers a request whose Accept header names no type the
// simple API offers.
func (h *Handler) notAcceptable(w http.ResponseWriter, r *http.Request) {
	h.writeError(w, r, http.StatusNotAcceptable,
		"none of the requested types is served; ask for "+ContentTypeJSON+", "+ContentTypeHTMLv1+" or text/html", nil)
}

// fail writes err as the answer: its status and its one-line reason.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	h.writeError(w, r, pull.Status(err), pull.Reason(err), err)
}

// writeError is the one place where the mirror's PyPI errors are written:
// a status and a one-line plain-text reason, as PyPI answers errors. Upstream
// faults are logged here, once.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, code int, reason string, err error) {
	switch {
	case code == http.StatusBadGateway || code == http.StatusGatewayTimeout:
		h.log.WarnContext(r.Context(), "pypi upstream fault", "path", r.URL.Path, "status", code, "err", err)
	case code >= 500:
		h.log.ErrorContext(r.Context(), "pypi request failed", "path", r.URL.Path, "status", code, "err", err)
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "no-store")
	hdr.Del("ETag")
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		fmt.Fprintf(w, "%d %s: %s\n", code, http.StatusText(code), reason)
	}
}
