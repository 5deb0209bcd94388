package cargo

import (
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
	"strings"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
)

// Content types of the mirror's answers.
const (
	indexType = "text/plain; charset=utf-8"
	jsonType  = "application/json"
	crateType = "application/gzip"
)

// Handler serves the sparse index and crate downloads under [Prefix]. It
// is safe for concurrent use.
type Handler struct {
	cfg   Config
	cache *pull.Cache
	up    *pull.HTTPUpstream
	hosts []string // the hosts upstream requests may go to
	log   *slog.Logger
	memo  memo // parsed index files
}

// New returns a Handler for cfg, or an error naming every invalid
// setting.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := cfg.withDefaults()
	hosts := hostsOf(c.Index, c.Download)
	// The core's host guard keeps every request and redirect on the
	// index's and the download host.
	up := c.Upstream.For([]string{c.Index, c.Download}, nil)
	up.UserAgent = userAgent
	return &Handler{cfg: c, cache: c.Cache, up: up, hosts: hosts, log: c.Logger}, nil
}

// ServeHTTP answers GET and HEAD requests under [Prefix]. Errors are
// answered as cargo reads them: a line of plain text for the index, and
// {"errors":[{"detail":"reason"}]} for the api paths.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := parsePath(r.URL.EscapedPath())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		WriteError(w, r, http.StatusMethodNotAllowed, "the mirror is read-only: "+r.Method+" is not served")
		return
	}
	switch req.kind {
	case kindConfig:
		err = h.serveConfig(w, r)
	case kindIndex:
		err = h.serveIndex(w, r, req.name)
	case kindDownload:
		err = h.serveCrate(w, r, req.name, req.version)
	case kindAPI:
		err = pull.NotFound("not found: the mirror serves downloads only; search, publish and the rest of the web API are not mirrored")
	}
	if err != nil {
		h.fail(w, r, err)
	}
}

// fail answers err, logging failures that are not the client's.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	code, reason := pull.Status(err), pull.Reason(err)
	if code >= 500 {
		h.log.WarnContext(r.Context(), "cargo request failed", "method", r.Method, "path", pull.OneLine(trunc(r.URL.Path)), "status", code, "err", err)
	}
	WriteError(w, r, code, reason)
}

// WriteError writes an error answer as cargo reads it: its JSON for the
// api paths, one line of text for the index. Access control answers
// cargo's requests with it too.
func WriteError(w http.ResponseWriter, r *http.Request, code int, reason string) {
	if !strings.HasPrefix(r.URL.Path, Prefix+"api/") {
		pull.WriteText(w, code, reason)
		return
	}
	data, _ := json.Marshal(map[string]any{"errors": []map[string]string{{"detail": reason}}}) // Strings only: cannot fail.
	pull.WriteError(w, r, code, jsonType, append(data, '\n'))
}

// serveConfig answers index/config.json with the mirror's own: downloads
// and the api go to the mirror.
func (h *Handler) serveConfig(w http.ResponseWriter, r *http.Request) error {
	base, err := h.base(r)
	if err != nil {
		return err
	}
	data, _ := json.Marshal(config{DL: base + Prefix + "api/v1/crates", API: base + strings.TrimSuffix(Prefix, "/")}) // Strings only.
	pull.ServeBytes(w, r, jsonType, append(data, '\n'), time.Time{}, pull.MetadataCacheControl(h.cfg.TTL))
	return nil
}

// indexArtifact describes the stored index file of the crate lower, fresh
// for ttl.
func (h *Handler) indexArtifact(lower string, ttl time.Duration) *pull.Artifact {
	return &pull.Artifact{
		Ecosystem:   Ecosystem,
		Kind:        "index",
		Name:        indexName(lower),
		ContentType: indexType,
		TTL:         ttl,
		MaxSize:     h.cfg.MaxIndexSize,
		Fetch: func(ctx context.Context, prev io.Reader) (io.ReadCloser, error) {
			// Keep the upstream's config.json, which names where its
			// crates are, as fresh as its index: the downloads that
			// follow need no round trip of their own to find their URL.
			// Failing that, they fetch it themselves.
			h.cache.Prefetch(ctx, h.configArtifact())
			return h.fetchStored(ctx, h.cfg.Index+IndexPath(lower), "the index file of "+lower, prev)
		},
		Check: pull.CheckStored(func(_ context.Context, body []byte) error {
			_, err := parseIndex(lower, body)
			return err
		}),
	}
}

// configArtifact describes the upstream's stored config.json.
func (h *Handler) configArtifact() *pull.Artifact {
	return &pull.Artifact{
		Ecosystem:   Ecosystem,
		Kind:        "config",
		Name:        configName,
		ContentType: jsonType,
		TTL:         h.cfg.TTL,
		MaxSize:     1 << 20,
		Fetch: func(ctx context.Context, prev io.Reader) (io.ReadCloser, error) {
			return h.fetchStored(ctx, h.cfg.Index+"config.json", "the upstream's config.json", prev)
		},
		Check: pull.CheckStored(func(_ context.Context, body []byte) error {
			var c config
			if err := json.Unmarshal(body, &c); err != nil {
				return fmt.Errorf("the upstream's config.json: %w", err)
			}
			return nil
		}),
	}
}

// openIndex returns the body of the stored index file of lower, and its
// entry, whose Body the caller closes.
func (h *Handler) openIndex(ctx context.Context, lower string, ttl time.Duration) ([]byte, *pull.Entry, error) {
	e, err := h.cache.Open(ctx, h.indexArtifact(lower, ttl))
	if err != nil {
		return nil, nil, err
	}
	body, err := h.readIndex(lower, e)
	if err != nil {
		e.Body.Close()
		return nil, nil, err
	}
	return body, e, nil
}

// readIndex returns the upstream's body of e, the stored index file of
// lower.
func (h *Handler) readIndex(lower string, e *pull.Entry) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(e.Body, h.cfg.MaxIndexSize+pull.MaxValidatorsLine+1))
	if err != nil {
		return nil, fmt.Errorf("reading the stored index file of %s: %w", lower, err)
	}
	_, body, err := pull.SplitStored(data)
	if err != nil {
		return nil, fmt.Errorf("the stored index file of %s: %w", lower, err)
	}
	return body, nil
}

// serveIndex answers an index file, as the upstream wrote it, with an ETag
// of its content, so that cargo's revalidation gets a 304 while it is
// unchanged.
func (h *Handler) serveIndex(w http.ResponseWriter, r *http.Request, lower string) error {
	body, e, err := h.openIndex(r.Context(), lower, h.cfg.TTL)
	if err != nil {
		return err
	}
	defer e.Body.Close()
	cc := pull.MetadataCacheControl(h.cfg.TTL)
	if e.Stale {
		pull.MarkStale(w)
		cc = "no-cache"
	}
	sum := sha256.Sum256(body)
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	pull.ServeBytes(w, r, indexType, body, e.ModTime, cc)
	return nil
}

// lookup returns the release version of the crate lower from its index
// file, refreshed early when it lacks the version and is at least
// RefreshAfter old.
func (h *Handler) lookup(ctx context.Context, lower, version string) (release, error) {
	find := func(ttl time.Duration) (release, bool, time.Time, error) {
		e, err := h.cache.Open(ctx, h.indexArtifact(lower, ttl))
		if err != nil {
			return release{}, false, time.Time{}, err
		}
		defer e.Body.Close()
		key := memoKey(lower, e)
		rels, ok := h.memo.get(key)
		if !ok {
			body, err := h.readIndex(lower, e)
			if err != nil {
				return release{}, false, time.Time{}, err
			}
			if rels, err = parseIndex(lower, body); err != nil {
				return release{}, false, time.Time{}, err
			}
			h.memo.put(key, rels)
		}
		rel, ok := rels[version]
		return rel, ok, e.ModTime, nil
	}
	rel, ok, mod, err := find(h.cfg.TTL)
	if err != nil || ok {
		return rel, err
	}
	if !mod.IsZero() && time.Since(mod) >= h.cfg.RefreshAfter {
		if rel, ok, _, err = find(h.cfg.RefreshAfter); err != nil || ok {
			return rel, err
		}
	}
	return release{}, pull.NotFound(fmt.Sprintf("not found: %s has no version %s with a usable cksum in the index", lower, version))
}

// serveCrate answers a .crate download: from the store, or downloaded once
// and checked against the cksum of its version in the index.
func (h *Handler) serveCrate(w http.ResponseWriter, r *http.Request, name, version string) error {
	lower := strings.ToLower(name)
	storeName := crateName(lower, version)
	if _, ok := h.cache.ServeHot(w, r, storeName); ok {
		return nil
	}
	a := &pull.Artifact{
		Ecosystem:   Ecosystem,
		Kind:        "crate",
		Name:        storeName,
		ContentType: crateType,
		MaxSize:     h.cfg.MaxCrateSize,
		// Crates come only from the index's host or the configured
		// download host.
		NameSent: true,
	}
	rel, err := h.lookup(r.Context(), lower, version)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, pull.ErrBadRequest):
		return err
	case err != nil:
		// Without the index there is nothing to check a download
		// against: serve the crate only if it is stored already.
		ierr := err
		a.Fetch = func(context.Context, io.Reader) (io.ReadCloser, error) { return nil, ierr }
		return h.cache.Serve(w, r, a)
	}
	sum, _ := hex.DecodeString(rel.Cksum) // parseIndex checked it.
	a.Want = &pull.Digest{Algorithm: "sha256", Sum: sum, Size: -1, Source: "the cksum in the index file of " + lower}
	a.Fetch = func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
		return h.fetchCrate(ctx, rel)
	}
	return h.cache.Serve(w, r, a)
}

// base returns the mirror's root URL for r.
func (h *Handler) base(r *http.Request) (string, error) { return pull.BaseURL(r, h.cfg.PublicURL) }
