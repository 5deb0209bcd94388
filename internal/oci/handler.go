package oci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gomirror/gomirror/internal/pull"
)

// Handler serves the pull side of the OCI distribution spec under /v2/
// for the configured registries. It is safe for concurrent use.
type Handler struct {
	cache   *pull.Cache
	log     *slog.Logger
	def     string             // default registry
	clients map[string]*client // by normalised host
	hosts   string             // the configured hosts, for messages

	ttl         time.Duration
	maxBlob     int64
	maxManifest int64
	maxTagsList int64
	maxPageSize int

	members known // membership records known to be stored (see member)
}

var _ http.Handler = (*Handler)(nil)

// New returns a Handler for cfg, or the error of cfg.Validate.
func New(cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &Handler{
		cache:       cfg.Cache,
		log:         cfg.Logger,
		def:         NormalizeRegistry(cfg.DefaultRegistry),
		clients:     map[string]*client{},
		ttl:         orDefault(cfg.ManifestTTL, DefaultManifestTTL),
		maxBlob:     orDefault(cfg.MaxBlobSize, DefaultMaxBlobSize),
		maxManifest: orDefault(cfg.MaxManifestSize, DefaultMaxManifestSize),
		maxTagsList: orDefault(cfg.MaxTagsListSize, DefaultMaxTagsListSize),
		maxPageSize: orDefault(cfg.MaxPageSize, DefaultMaxPageSize),
	}
	if h.def == "" {
		h.def = DockerHub
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	settings := cfg.HTTPUpstream
	if settings == nil {
		hc := cfg.HTTP
		if hc == nil {
			hc = &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}}
		}
		settings = &pull.HTTPUpstream{Client: hc}
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	var hosts []string
	for _, r := range cfg.Registries {
		c := newClient(r, settings, now)
		h.clients[c.reg.Host] = c
		hosts = append(hosts, c.reg.Host)
	}
	slices.Sort(hosts)
	h.hosts = strings.Join(hosts, ", ")
	return h, nil
}

// orDefault returns v, or def when v is zero.
func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// ServeHTTP answers a /v2/ request. Only GET and HEAD are served; every
// other method is refused with UNSUPPORTED, since the mirror is read-only.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		errorf(http.StatusMethodNotAllowed, CodeUnsupported, "gomirror is a read-only mirror: "+r.Method+" (push, delete) is not supported").write(w, r)
		return
	}
	req, perr := parseRequest(r.URL, h.def)
	if perr != nil {
		perr.write(w, r)
		return
	}
	if req.kind == kindBase {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", "2")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			io.WriteString(w, "{}")
		}
		return
	}
	c := h.clients[req.registry]
	if c == nil {
		errorf(http.StatusForbidden, CodeDenied, "registry "+req.registry+" is not mirrored here (mirrored: "+h.hosts+")").write(w, r)
		return
	}
	var err error
	switch req.kind {
	case kindBlob:
		err = h.serveBlob(w, r, c, req)
	case kindManifest:
		if req.tag != "" {
			err = h.serveTag(w, r, c, req)
		} else {
			err = h.serveManifest(w, r, c, req)
		}
	case kindTags:
		err = h.serveTags(w, r, c, req)
	case kindReferrers:
		err = h.serveReferrers(w, r, c, req)
	}
	if err != nil {
		e := toError(err, req.kind)
		if e.Status >= 500 {
			h.log.WarnContext(r.Context(), "oci request failed", "path", r.URL.Path, "status", e.Status, "err", err)
		}
		e.write(w, r)
	}
}

// Store names. Repository components never start with "_", and tags never
// contain "/", so the names of different things never meet.
func blobName(reg string, d digest) string {
	return "oci/blobs/" + reg + "/" + d.hash.Algorithm + "/" + d.hash.Hex
}

func manifestName(reg string, d digest) string {
	return "oci/manifests/" + reg + "/" + d.hash.Algorithm + "/" + d.hash.Hex
}

func tagName(req *request) string { return "oci/tags/" + req.name() + "/_tags/" + req.tag }
func tagsListName(req *request) string {
	return "oci/tags/" + req.name() + "/_list"
}

// IsImmutable reports whether name is the store name of a blob or of a
// manifest by its digest, which never change; tags, tag lists and
// referrers do.
func IsImmutable(name string) bool {
	return strings.HasPrefix(name, "oci/blobs/") || strings.HasPrefix(name, "oci/manifests/")
}

func referrersName(req *request) string {
	return "oci/referrers/" + req.name() + "/_" + req.digest.hash.Algorithm + "/" + req.digest.hash.Hex
}

// serveBlob serves a blob, streaming a miss as it arrives.
func (h *Handler) serveBlob(w http.ResponseWriter, r *http.Request, c *client, req *request) error {
	a := &pull.Artifact{
		Ecosystem:   "oci",
		Kind:        "blob",
		Name:        blobName(req.registry, req.digest),
		ContentType: "application/octet-stream",
		MaxSize:     h.maxBlob,
		Want:        req.digest.want(-1, "the blob's name"),
		Fetch: func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
			return c.blob(ctx, req.repo, req.digest)
		},
	}
	if err := h.member(r.Context(), c, req, req.digest, kindBlob, ""); err != nil {
		return err
	}
	w.Header().Set("Docker-Content-Digest", req.digest.String())
	return h.cache.Serve(w, r, a)
}

// manifestArtifact is a manifest named by its digest d. When data is not
// nil it holds the manifest, already fetched by tag; else it is fetched
// from repo by digest.
func (h *Handler) manifestArtifact(c *client, req *request, d digest, data []byte) *pull.Artifact {
	return &pull.Artifact{
		Ecosystem:   "oci",
		Kind:        "manifest",
		Name:        manifestName(req.registry, d),
		ContentType: "application/json",
		MaxSize:     h.maxManifest,
		Want:        d.want(-1, "the manifest's digest"),
		Fetch: func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
			if data == nil {
				var err error
				if data, _, _, err = c.manifest(ctx, req.repo, d.String(), h.maxManifest); err != nil {
					return nil, err
				}
			}
			return pull.BytesBody(data), nil
		},
		Check: checkJSON,
	}
}

// checkJSON refuses a manifest or index that is not JSON.
func checkJSON(_ context.Context, f *os.File) error {
	var v json.RawMessage
	if err := json.NewDecoder(f).Decode(&v); err != nil {
		return fmt.Errorf("not a JSON document: %w", err)
	}
	return nil
}

// readEntry reads a small entry whole.
func readEntry(e *pull.Entry, limit int64) ([]byte, error) {
	defer e.Body.Close()
	data, err := io.ReadAll(io.LimitReader(e.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading a stored file: %v", pull.ErrUpstream, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: a stored file is over %d bytes", pull.ErrRefused, limit)
	}
	return data, nil
}

// serveManifest serves a manifest named by digest.
func (h *Handler) serveManifest(w http.ResponseWriter, r *http.Request, c *client, req *request) error {
	if err := h.member(r.Context(), c, req, req.digest, kindManifest, ""); err != nil {
		return err
	}
	e, err := h.cache.Open(r.Context(), h.manifestArtifact(c, req, req.digest, nil))
	if err != nil {
		return err
	}
	mod := e.ModTime
	data, err := readEntry(e, h.maxManifest)
	if err != nil {
		return err
	}
	h.memberChildren(r.Context(), c, req, req.digest, data)
	writeManifest(w, r, data, mediaTypeOf(data, ""), req.digest, mod, pull.ImmutableCacheControl)
	return nil
}

// writeManifest answers with a manifest, its media type and its digest.
func writeManifest(w http.ResponseWriter, r *http.Request, data []byte, mt types.MediaType, d digest, mod time.Time, cacheControl string) {
	w.Header().Set("Docker-Content-Digest", d.String())
	w.Header().Set("ETag", `"`+d.String()+`"`)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	pull.ServeBytes(w, r, string(safeMediaType(mt, data)), data, mod, cacheControl)
}

// serveTag serves the manifest a tag resolves to. The tag's descriptor is
// metadata, fresh for the manifest TTL; the manifest itself is stored by
// its digest.
func (h *Handler) serveTag(w http.ResponseWriter, r *http.Request, c *client, req *request) error {
	ctx := r.Context()
	a := &pull.Artifact{
		Ecosystem:   "oci",
		Kind:        "tag",
		Name:        tagName(req),
		ContentType: "application/json",
		TTL:         h.ttl,
		MaxSize:     64 << 10,
		Fetch: func(ctx context.Context, prev io.Reader) (io.ReadCloser, error) {
			return h.resolveTag(ctx, c, req, prev)
		},
	}
	e, err := h.cache.Open(ctx, a)
	if err != nil {
		return err
	}
	stale := e.Stale
	raw, err := readEntry(e, 64<<10)
	if err != nil {
		return err
	}
	var rec tagRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return fmt.Errorf("%w: stored tag %s:%s: %v", pull.ErrUpstream, req.name(), req.tag, err)
	}
	d, perr := parseDigest(rec.Digest.String())
	if perr != nil {
		return fmt.Errorf("%w: stored tag %s:%s: %v", pull.ErrUpstream, req.name(), req.tag, perr)
	}
	cc := pull.MetadataCacheControl(h.ttl)
	if stale {
		pull.MarkStale(w)
		cc = "no-cache"
	}
	if r.Method == http.MethodHead {
		hdr := w.Header()
		mt := rec.MediaType
		if !manifestTypes[mt] {
			mt = types.OCIManifestSchema1 // What a GET would tell from the bytes cannot be known without them; a spec type is safe.
		}
		hdr.Set("Content-Type", string(mt))
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("Content-Length", contentLength(rec.Size))
		hdr.Set("Docker-Content-Digest", d.String())
		hdr.Set("ETag", `"`+d.String()+`"`)
		hdr.Set("Cache-Control", cc)
		w.WriteHeader(http.StatusOK)
		return nil
	}
	// The tag is this repository's: what it resolves to is too.
	if err := h.member(ctx, c, req, d, kindManifest, "tag "+req.tag); err != nil {
		return err
	}
	me, err := h.cache.Open(ctx, h.manifestArtifact(c, req, d, nil))
	if err != nil {
		return err
	}
	mod := me.ModTime
	data, err := readEntry(me, h.maxManifest)
	if err != nil {
		return err
	}
	h.memberChildren(ctx, c, req, d, data)
	writeManifest(w, r, data, rec.MediaType, d, mod, cc)
	return nil
}

// resolveTag asks upstream what a tag resolves to. With a stored
// descriptor (prev) it first asks with a HEAD, which Docker Hub does not
// count as a pull, and keeps the descriptor when the digest is the same.
// Otherwise it fetches the manifest by tag, checks that its bytes match
// the digest upstream names it by, stores it by digest and returns its
// new descriptor.
func (h *Handler) resolveTag(ctx context.Context, c *client, req *request, prev io.Reader) (io.ReadCloser, error) {
	if prev != nil {
		var old tagRecord
		raw, err := io.ReadAll(io.LimitReader(prev, 64<<10))
		if err == nil && json.Unmarshal(raw, &old) == nil && old.Digest.Hex != "" {
			dig, err := c.headManifest(ctx, req.repo, req.tag)
			if err != nil {
				return nil, err
			}
			if dig == old.Digest.String() {
				return nil, pull.ErrNotModified
			}
		}
	}
	what := "manifest " + req.name() + ":" + req.tag
	data, mt, claimed, err := c.manifest(ctx, req.repo, req.tag, h.maxManifest)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	computed := "sha256:" + hex.EncodeToString(sum[:])
	if claimed != "" && claimed != computed {
		return nil, fmt.Errorf("%w: %s: upstream names it %s, but its bytes hash to %s", pull.ErrRefused, what, quote(claimed), computed)
	}
	d, _ := parseDigest(computed)
	if _, err := h.cache.Prefetch(ctx, h.manifestArtifact(c, req, d, data)); err != nil {
		return nil, err
	}
	rec := tagRecord{MediaType: mediaTypeOf(data, mt), Digest: d.hash, Size: int64(len(data))}
	out, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	return pull.BytesBody(out), nil
}

// serveTags serves a repository's tags list, in lexical order, a page of
// n tags after last when the client asks for one.
func (h *Handler) serveTags(w http.ResponseWriter, r *http.Request, c *client, req *request) error {
	q := r.URL.Query()
	n := -1
	if s := q.Get("n"); s != "" {
		v, err := strconv.Atoi(s)
		switch {
		case err != nil || v < 0:
			return errorf(http.StatusBadRequest, CodePaginationNumber, "invalid n "+quote(s)+": want a number of tags from 0 to "+strconv.Itoa(h.maxPageSize))
		case v > h.maxPageSize:
			return errorf(http.StatusBadRequest, CodePaginationNumber, "n="+s+" is too large: at most "+strconv.Itoa(h.maxPageSize)+" tags a page")
		}
		n = v
	}
	last := q.Get("last")
	if last != "" && !tagRE.MatchString(last) {
		return errorf(http.StatusBadRequest, CodeTagInvalid, "invalid last "+quote(last)+": not a tag")
	}
	a := &pull.Artifact{
		Ecosystem:   "oci",
		Kind:        "tags",
		Name:        tagsListName(req),
		ContentType: "application/json",
		TTL:         h.ttl,
		MaxSize:     2 * h.maxTagsList,
		Fetch: func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
			tags, err := c.tags(ctx, req.repo, h.maxTagsList)
			if err != nil {
				return nil, err
			}
			tags = slices.DeleteFunc(tags, func(t string) bool { return !tagRE.MatchString(t) })
			slices.Sort(tags)
			tags = slices.Compact(tags)
			if tags == nil {
				tags = []string{}
			}
			out, err := json.Marshal(tagsList{Name: req.repo, Tags: tags})
			if err != nil {
				return nil, err
			}
			return pull.BytesBody(out), nil
		},
	}
	e, err := h.cache.Open(r.Context(), a)
	if err != nil {
		return err
	}
	stale, mod := e.Stale, e.ModTime
	raw, err := readEntry(e, 2*h.maxTagsList)
	if err != nil {
		return err
	}
	var tl tagsList
	if err := json.Unmarshal(raw, &tl); err != nil {
		return fmt.Errorf("%w: stored tags list of %s: %v", pull.ErrUpstream, req.name(), err)
	}
	tags := tl.Tags
	if last != "" {
		i, found := slices.BinarySearch(tags, last)
		if found {
			i++
		}
		tags = tags[i:]
	}
	if n >= 0 && len(tags) > n {
		tags = tags[:n]
		if n > 0 {
			next := url.Values{"n": {strconv.Itoa(n)}, "last": {tags[n-1]}}
			if ns := q.Get("ns"); ns != "" {
				next.Set("ns", ns)
			}
			w.Header().Set("Link", "<"+r.URL.Path+"?"+next.Encode()+`>; rel="next"`)
		}
	}
	out, err := json.Marshal(tagsList{Name: clientName(r.URL.Path), Tags: append([]string{}, tags...)})
	if err != nil {
		return err
	}
	cc := pull.MetadataCacheControl(h.ttl)
	if stale {
		pull.MarkStale(w)
		cc = "no-cache"
	}
	pull.ServeBytes(w, r, "application/json", out, mod, cc)
	return nil
}

// clientName is the repository name as the client said it in the path
// of a tags list request.
func clientName(p string) string {
	return strings.TrimSuffix(strings.TrimPrefix(p, "/v2/"), "/tags/list")
}

// serveReferrers serves the referrers of a manifest as upstream lists
// them, filtered by artifactType when the client asks.
func (h *Handler) serveReferrers(w http.ResponseWriter, r *http.Request, c *client, req *request) error {
	a := &pull.Artifact{
		Ecosystem:   "oci",
		Kind:        "referrers",
		Name:        referrersName(req),
		ContentType: string(types.OCIImageIndex),
		TTL:         h.ttl,
		MaxSize:     h.maxManifest,
		Fetch: func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
			return c.referrers(ctx, req.repo, req.digest)
		},
		Check: checkJSON,
	}
	e, err := h.cache.Open(r.Context(), a)
	if err != nil {
		return err
	}
	stale, mod := e.Stale, e.ModTime
	data, err := readEntry(e, h.maxManifest)
	if err != nil {
		return err
	}
	if at := r.URL.Query().Get("artifactType"); at != "" {
		var idx v1.IndexManifest
		if err := json.Unmarshal(data, &idx); err != nil {
			return fmt.Errorf("%w: referrers of %s@%s: %v", pull.ErrRefused, req.name(), req.digest, err)
		}
		idx.Manifests = slices.DeleteFunc(idx.Manifests, func(d v1.Descriptor) bool { return d.ArtifactType != at })
		if idx.Manifests == nil {
			idx.Manifests = []v1.Descriptor{}
		}
		if data, err = json.Marshal(idx); err != nil {
			return err
		}
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	cc := pull.MetadataCacheControl(h.ttl)
	if stale {
		pull.MarkStale(w)
		cc = "no-cache"
	}
	pull.ServeBytes(w, r, string(types.OCIImageIndex), data, mod, cc)
	return nil
}
