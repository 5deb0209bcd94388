package npm

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
)

// Content types of the registry's answers.
const (
	jsonType        = "application/json"
	abbreviatedType = "application/vnd.npm.install-v1+json"
)

// Handler serves the npm registry API under [Prefix]. It is safe for
// concurrent use.
type Handler struct {
	cfg   Config
	cache *pull.Cache
	log   *slog.Logger
	memo  *memo

	clientsOnce sync.Once
	clients     map[string]*pull.HTTPUpstream // by registry URL and token
}

// New returns a Handler for cfg, or an error naming the first invalid
// setting.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := cfg.withDefaults()
	return &Handler{cfg: c, cache: c.Cache, log: c.Logger, memo: newMemo(c.MemoSize)}, nil
}

// ServeHTTP answers a request whose path starts with [Prefix]: GET and
// HEAD for packuments, versions, dist-tags, tarballs and signing keys, and
// POST for the audit endpoints, which pass through to the upstream.
// Errors are answered in the registry's format, {"error": "reason"}.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := parsePath(r.URL.EscapedPath())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if req.kind == kindAudit {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			writeError(w, r, http.StatusMethodNotAllowed, "use POST for the audit endpoints")
			return
		}
		h.audit(w, r, req)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, r, http.StatusMethodNotAllowed, "the mirror is read-only: "+r.Method+" is not served")
		return
	}
	switch req.kind {
	case kindPackument:
		err = h.servePackument(w, r, req.name)
	case kindVersion:
		err = h.serveVersion(w, r, req.name, req.spec)
	case kindTarball:
		err = h.serveTarball(w, r, req.name, req.file)
	case kindDistTags:
		err = h.serveDistTags(w, r, req.name)
	case kindKeys:
		err = h.cache.Serve(w, r, h.keysArtifact())
	case kindPing:
		pull.ServeBytes(w, r, jsonType, []byte("{}\n"), time.Time{}, "no-store")
	}
	if err != nil {
		h.fail(w, r, err)
	}
}

// fail answers err in the registry's format, logging failures that are
// not the client's.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, reason := http.StatusNotFound, pull.OneLine(err.Error())
	if !errors.Is(err, errNoRoute) {
		code, reason = pull.Status(err), pull.Reason(err)
	}
	if code >= 500 {
		h.log.WarnContext(r.Context(), "npm request failed", "method", r.Method, "path", pull.OneLine(trunc(r.URL.Path)), "status", code, "err", err)
	}
	writeError(w, r, code, reason)
}

// WriteError answers r with status code and a one-line reason in the
// registry's error format, {"error": reason}: for the answers that are
// given before the handler sees a request, such as access control's.
func WriteError(w http.ResponseWriter, r *http.Request, code int, reason string) {
	writeError(w, r, code, reason)
}

// writeError writes the registry's error format.
func writeError(w http.ResponseWriter, r *http.Request, code int, reason string) {
	data, _ := json.Marshal(map[string]string{"error": reason}) // Strings only: cannot fail.
	w.Header().Del("Vary")
	pull.WriteError(w, r, code, jsonType, append(data, '\n'))
}

// packumentArtifact describes name's stored packument, fresh for ttl.
func (h *Handler) packumentArtifact(name string, ttl time.Duration) *pull.Artifact {
	return &pull.Artifact{
		Ecosystem:   "npm",
		Kind:        "packument",
		Name:        "npm/packuments/" + name,
		ContentType: jsonType,
		TTL:         ttl,
		MaxSize:     h.cfg.MaxPackumentSize,
		Fetch: func(ctx context.Context, prev io.Reader) (io.ReadCloser, error) {
			return h.fetchPackument(ctx, name, prev)
		},
		Check: func(ctx context.Context, f *os.File) error {
			size := h.cfg.MaxPackumentSize
			if fi, err := f.Stat(); err == nil {
				size = fi.Size()
			}
			release, err := h.cfg.Memory.Reserve(ctx, size)
			if err != nil {
				return err
			}
			defer release()
			return pull.CheckStored(func(_ context.Context, b []byte) error {
				_, err := parsePackument(name, b)
				return err
			})(ctx, f)
		},
	}
}

// keysArtifact describes the upstream's signing keys.
func (h *Handler) keysArtifact() *pull.Artifact {
	return &pull.Artifact{
		Ecosystem:   "npm",
		Kind:        "keys",
		Name:        "npm/keys.json",
		ContentType: jsonType,
		TTL:         h.cfg.TTL,
		MaxSize:     1 << 20,
		Fetch: func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
			return h.fetchKeys(ctx)
		},
		Check: func(ctx context.Context, f *os.File) error {
			var keys struct {
				Keys []json.RawMessage `json:"keys"`
			}
			if err := json.NewDecoder(f).Decode(&keys); err != nil {
				return fmt.Errorf("signing keys: %w", err)
			}
			return nil
		},
	}
}

// tarballName is the store name of a tarball.
func tarballName(name, file string) string { return tarballsDir + name + "/" + file }

// tarballsDir holds the tarballs in the store.
const tarballsDir = "npm/tarballs/"

// IsImmutable reports whether name is the store name of a tarball, which
// never changes once published; packuments and keys do.
func IsImmutable(name string) bool { return strings.HasPrefix(name, tarballsDir) }

// parsed returns the parsed packument of e, name's stored copy, from the
// memo when it holds it.
func (h *Handler) parsed(ctx context.Context, name string, e *pull.Entry) (*packument, error) {
	st := pull.Stamp(e)
	key := "parsed\x00" + name + "\x00" + st
	if st != "" {
		if v, ok := h.memo.get(key); ok {
			return v.(*packument), nil
		}
	}
	release, err := h.cfg.Memory.Reserve(ctx, h.sizeOf(e))
	if err != nil {
		return nil, err
	}
	defer release()
	data, err := io.ReadAll(io.LimitReader(e.Body, h.cfg.MaxPackumentSize+1))
	if err != nil {
		return nil, fmt.Errorf("reading the stored packument of %s: %w", name, err)
	}
	_, b, err := pull.SplitStored(data)
	if err != nil {
		return nil, fmt.Errorf("the stored packument of %s: %w", name, err)
	}
	p, err := parsePackument(name, b)
	if err != nil {
		return nil, err
	}
	if st != "" {
		h.memo.put(key, p, 3*int64(len(data)))
	}
	return p, nil
}

// sizeOf returns the size of a stored packument, or the largest one
// when the store cannot tell.
func (h *Handler) sizeOf(e *pull.Entry) int64 {
	if e.Size >= 0 {
		return e.Size
	}
	return h.cfg.MaxPackumentSize
}

// lookup returns name's packument, refreshed early when has reports that
// it lacks what the client asks for and the stored copy is at least
// RefreshAfter old: a version published since the last refresh appears at
// once, and a burst of requests for a missing version makes one upstream
// request. The caller closes the entry's body.
func (h *Handler) lookup(ctx context.Context, name string, has func(*packument) bool) (*packument, *pull.Entry, error) {
	e, err := h.cache.Open(ctx, h.packumentArtifact(name, h.cfg.TTL))
	if err != nil {
		return nil, nil, err
	}
	p, err := h.parsed(ctx, name, e)
	if err != nil || has(p) || e.ModTime.IsZero() || time.Since(e.ModTime) < h.cfg.RefreshAfter {
		if err != nil {
			e.Body.Close()
			return nil, nil, err
		}
		return p, e, nil
	}
	e.Body.Close()
	e, err = h.cache.Open(ctx, h.packumentArtifact(name, h.cfg.RefreshAfter))
	if err != nil {
		return nil, nil, err
	}
	if p, err = h.parsed(ctx, name, e); err != nil {
		e.Body.Close()
		return nil, nil, err
	}
	return p, e, nil
}

// servePackument answers a packument request: abbreviated when the client
// accepts application/vnd.npm.install-v1+json, else full.
func (h *Handler) servePackument(w http.ResponseWriter, r *http.Request, name string) error {
	base, err := h.base(r)
	if err != nil {
		return err
	}
	abbreviated := strings.Contains(r.Header.Get("Accept"), abbreviatedType)
	form, ctype := "full", jsonType
	if abbreviated {
		form, ctype = "abbreviated", abbreviatedType
	}
	e, err := h.cache.Open(r.Context(), h.packumentArtifact(name, h.cfg.TTL))
	if err != nil {
		return err
	}
	defer e.Body.Close()
	render := func(p *packument) ([]byte, error) { return p.render(base, abbreviated) }
	w.Header().Set("Vary", "Accept, Accept-Encoding")
	if acceptsGzip(r) {
		data, err := h.rendered(r.Context(), form+"+gzip", name, base, e, func(p *packument) ([]byte, error) {
			plain, err := render(p)
			if err != nil {
				return nil, err
			}
			return gzipBytes(plain), nil
		})
		if err != nil {
			return err
		}
		w.Header().Set("Content-Encoding", "gzip")
		h.serveRendered(w, r, ctype, data, form+"-gz", base, e)
		return nil
	}
	data, err := h.rendered(r.Context(), form, name, base, e, render)
	if err != nil {
		return err
	}
	h.serveRendered(w, r, ctype, data, form, base, e)
	return nil
}

// acceptsGzip reports whether r's client takes a gzip-encoded answer.
func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(params), " ", "") != "q=0"
		}
	}
	return false
}

// gzipBytes compresses data; packuments shrink about tenfold.
func gzipBytes(data []byte) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // A valid level: cannot fail.
	zw.Write(data)                                     // Writes to memory: cannot fail.
	zw.Close()
	return buf.Bytes()
}

// rendered returns what render makes of e, name's stored packument, for
// the mirror at base, from the memo when it holds it.
func (h *Handler) rendered(ctx context.Context, form, name, base string, e *pull.Entry, render func(*packument) ([]byte, error)) ([]byte, error) {
	st := pull.Stamp(e)
	key := form + "\x00" + name + "\x00" + st + "\x00" + base
	if st != "" {
		if v, ok := h.memo.get(key); ok {
			return v.([]byte), nil
		}
	}
	p, err := h.parsed(ctx, name, e)
	if err != nil {
		return nil, err
	}
	// Rendering takes as much again as the parse, reserved after it.
	release, err := h.cfg.Memory.Reserve(ctx, h.sizeOf(e))
	if err != nil {
		return nil, err
	}
	defer release()
	data, err := render(p)
	if err != nil {
		return nil, fmt.Errorf("rendering the packument of %s: %w", name, err)
	}
	if st != "" {
		h.memo.put(key, data, int64(len(data)))
	}
	return data, nil
}

// serveRendered serves data, rendered from e, with an ETag naming e, the
// form and the base URL, and the metadata Cache-Control.
func (h *Handler) serveRendered(w http.ResponseWriter, r *http.Request, ctype string, data []byte, form, base string, e *pull.Entry) {
	cc := pull.MetadataCacheControl(h.cfg.TTL)
	if e.Stale {
		pull.MarkStale(w)
		cc = "no-cache"
	}
	if st := pull.Stamp(e); st != "" {
		f := fnv.New64a()
		io.WriteString(f, base)
		w.Header().Set("ETag", `"`+form+"-"+st+"-"+strconv.FormatUint(f.Sum64(), 36)+`"`)
	}
	pull.ServeBytes(w, r, ctype, data, e.ModTime, cc)
}

// serveVersion answers /npm/<name>/<version or dist-tag> with the version
// document.
func (h *Handler) serveVersion(w http.ResponseWriter, r *http.Request, name, spec string) error {
	base, err := h.base(r)
	if err != nil {
		return err
	}
	p, e, err := h.lookup(r.Context(), name, func(p *packument) bool { _, ok := p.resolve(spec); return ok })
	if err != nil {
		return err
	}
	defer e.Body.Close()
	v, ok := p.resolve(spec)
	if !ok {
		return pull.NotFound(fmt.Sprintf("version not found: %s@%s", name, spec))
	}
	data, err := h.rendered(r.Context(), "version:"+v, name, base, e, func(p *packument) ([]byte, error) {
		obj, err := p.version(v, base, false)
		if err != nil {
			return nil, err
		}
		return marshal(obj)
	})
	if err != nil {
		return err
	}
	h.serveRendered(w, r, jsonType, data, "version", base, e)
	return nil
}

// serveDistTags answers /npm/-/package/<name>/dist-tags.
func (h *Handler) serveDistTags(w http.ResponseWriter, r *http.Request, name string) error {
	e, err := h.cache.Open(r.Context(), h.packumentArtifact(name, h.cfg.TTL))
	if err != nil {
		return err
	}
	defer e.Body.Close()
	p, err := h.parsed(r.Context(), name, e)
	if err != nil {
		return err
	}
	tags := p.distTags
	if tags == nil {
		tags = map[string]string{}
	}
	data, err := marshal(tags)
	if err != nil {
		return err
	}
	h.serveRendered(w, r, jsonType, data, "dist-tags", "", e)
	return nil
}

// serveTarball answers a tarball request: from the store, or downloaded
// once and checked against the integrity in name's packument.
func (h *Handler) serveTarball(w http.ResponseWriter, r *http.Request, name, file string) error {
	storeName := tarballName(name, file)
	if _, ok := h.cache.ServeHot(w, r, storeName); ok {
		return nil
	}
	a := &pull.Artifact{
		Ecosystem:   "npm",
		Kind:        "tarball",
		Name:        storeName,
		ContentType: "application/octet-stream",
		MaxSize:     h.cfg.MaxTarballSize,
	}
	p, e, err := h.lookup(r.Context(), name, func(p *packument) bool { return p.files[file] != nil })
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, pull.ErrBadRequest):
		return err
	case err != nil:
		// Without the packument there is nothing to check a download
		// against: serve the tarball only if it is stored already.
		perr := err
		a.Fetch = func(context.Context, io.Reader) (io.ReadCloser, error) { return nil, perr }
		return h.cache.Serve(w, r, a)
	}
	e.Body.Close()
	d := p.files[file]
	if d == nil {
		return pull.NotFound(fmt.Sprintf("no version of %s has the tarball %s", name, file))
	}
	if a.Want, err = d.want(name); err != nil {
		return err
	}
	a.Fetch = func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
		return h.fetchTarball(ctx, name, d)
	}
	return h.cache.Serve(w, r, a)
}

// base returns the mirror's root URL for r: PublicURL, or the scheme and
// host r came to.
func (h *Handler) base(r *http.Request) (string, error) { return pull.BaseURL(r, h.cfg.PublicURL) }
