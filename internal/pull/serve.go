package pull

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"github.com/gomirror/gomirror/internal/store"
)

const (
	// ImmutableCacheControl is the Cache-Control of immutable artifacts.
	ImmutableCacheControl = "public, max-age=31536000, immutable"
	// StaleHeader is set on metadata served from the store past its TTL
	// because the upstream failed or was slow.
	StaleHeader = "X-Gomirror-Stale"
)

// immutableCacheControlValue is shared by every response that uses it;
// net/http only reads it.
var immutableCacheControlValue = []string{ImmutableCacheControl}

// Serve answers a GET or HEAD for a: from the store when it holds the
// file (and, for metadata, while it is fresh), else by filling it from
// upstream. A plain GET of an immutable miss streams the download as it
// arrives. Headers that the caller set on w, such as a digest header, are
// kept. Serve returns an error, for the caller to write in its protocol's
// format, only when it has written nothing.
func (c *Cache) Serve(w http.ResponseWriter, r *http.Request, a *Artifact) error {
	if a.TTL > 0 {
		e, err := c.Open(r.Context(), a)
		if err != nil {
			return err
		}
		defer e.Body.Close()
		cc := MetadataCacheControl(a.TTL)
		if a.CacheControl != "" {
			cc = a.CacheControl
		}
		if e.Stale {
			MarkStale(w)
			cc = "no-cache"
		}
		c.serveStored(w, r, a, e.Body, cc)
		return nil
	}
	ctx := r.Context()
	rc, err := c.cfg.Store.Get(ctx, a.Name)
	if err == nil {
		c.m.StoreLookups.WithLabelValues(a.Ecosystem, a.Kind, "hit").Inc()
		c.touched(a)
		defer rc.Close()
		if a.CacheControl != "" {
			c.serveStored(w, r, a, rc, a.CacheControl)
			return nil
		}
		c.serveImmutable(w, r, a, rc)
		return nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: reading %s: %w", errStorage, a.Name, err)
	}
	c.m.StoreLookups.WithLabelValues(a.Ecosystem, a.Kind, "miss").Inc()
	if reason, ok := c.cfg.Negative.NotFound(ctx, a.Name); ok {
		return NotFound(reason)
	}
	f, err := c.join(ctx, a)
	if err != nil {
		return err
	}
	if r.Method == http.MethodGet && plainGet(r) {
		select {
		case <-f.started:
		case <-ctx.Done():
			return ctx.Err()
		}
		if f.dl != nil {
			if rd := f.dl.newReader(ctx); rd != nil {
				defer rd.Close()
				// A file that arrives, or fails, before its first byte
				// may be sent is answered from the store, or with its
				// error, as if it had not streamed.
				if streaming, err := rd.wait(); err != nil {
					return err
				} else if streaming {
					c.stream(w, a, rd)
					return nil
				}
			}
		}
	}
	if err := c.await(ctx, a, f); err != nil {
		return err
	}
	rc, err = c.cfg.Store.Get(ctx, a.Name)
	if err != nil {
		return fmt.Errorf("%w: reading %s after its fill: %w", errStorage, a.Name, err)
	}
	defer rc.Close()
	c.serveImmutable(w, r, a, rc)
	return nil
}

// stream sends a download to a client as it arrives. When the download
// fails its checks, the transfer is cut short: the client never gets the
// held-back tail.
func (c *Cache) stream(w http.ResponseWriter, a *Artifact, rd *reader) {
	hdr := w.Header()
	hdr.Set("Content-Type", a.ContentType)
	hdr["Cache-Control"] = immutableCacheControlValue
	if size := rd.d.knownSize(); size >= 0 {
		hdr.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	w.WriteHeader(http.StatusOK)
	rcon := http.NewResponseController(w)
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	for {
		n, err := rd.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return // The client went away; the fill goes on.
			}
			rcon.Flush()
		}
		switch {
		case err == io.EOF:
			return
		case errors.Is(err, errAborted):
			// Closing the connection mid-body tells the client that
			// this is not the whole file.
			panic(http.ErrAbortHandler)
		case err != nil:
			return
		}
	}
}

// ServeHot answers r from the in-memory cache of small immutable files when
// it holds key, an artifact's HotKey, and reports whether it did, with the
// artifact's kind for metrics. Ecosystems call it before they parse a
// request, so that repeated hits cost no parsing and no system call.
func (c *Cache) ServeHot(w http.ResponseWriter, r *http.Request, key string) (kind string, ok bool) {
	e := c.hot.get(key, time.Now())
	if e == nil {
		return "", false
	}
	c.m.StoreLookups.WithLabelValues(e.ecosystem, e.kind, "hit").Inc()
	c.serveHot(w, r, e)
	return e.kind, true
}

// serveImmutable serves an immutable file from the store, keeping it in
// the hot cache when it is small (hotMaxFile).
func (c *Cache) serveImmutable(w http.ResponseWriter, r *http.Request, a *Artifact, rc io.ReadCloser) {
	if size, mod, ok := store.Stat(rc); ok && size <= hotMaxFile(rc) && c.hot != nil {
		data := make([]byte, size)
		if _, err := io.ReadFull(rc, data); err == nil {
			c.serveHot(w, r, c.hot.put(a.hotKey(), a, data, mod, time.Now()))
			return
		}
		// The file changed under us (fsck quarantined it): let
		// ServeContent report what it finds.
	}
	c.serveStored(w, r, a, rc, ImmutableCacheControl)
}

// serveHot serves a cached immutable file. A plain GET is answered
// directly; conditional and range requests go through net/http.
func (c *Cache) serveHot(w http.ResponseWriter, r *http.Request, e *hotEntry) {
	hdr := w.Header()
	hdr["Content-Type"] = e.contentType
	hdr["Cache-Control"] = immutableCacheControlValue
	hdr["Etag"] = e.etag
	if !plainGet(r) {
		http.ServeContent(w, r, "", e.mod, bytes.NewReader(e.data))
		return
	}
	hdr["Last-Modified"] = e.lastMod
	hdr["Content-Length"] = e.length
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(e.data) // A write error means the client went away.
	}
}

// smallFile is the size up to which net/http copies a response body from
// a file through memory (its sniffing length) instead of using sendfile.
const smallFile = 512

// serveStored serves a stored file. When the store's reader can seek and
// tell its size, net/http handles Range and conditional requests, and a
// disk store's *os.File goes out through sendfile.
func (c *Cache) serveStored(w http.ResponseWriter, r *http.Request, a *Artifact, rc io.ReadCloser, cacheControl string) {
	hdr := w.Header()
	hdr.Set("Content-Type", a.ContentType)
	hdr.Set("Cache-Control", cacheControl)
	size, mod, ok := store.Stat(rc)
	rs, seekable := rc.(io.ReadSeeker)
	if ok {
		hdr.Set("ETag", ETag(size, mod))
	}
	if ok && seekable {
		if ra, isReaderAt := rc.(io.ReaderAt); isReaderAt && size <= smallFile {
			// ServeContent finds the size by seeking to the end and
			// back, two system calls that a section reader answers
			// from memory; and net/http copies a file this small
			// rather than sending it with sendfile anyway.
			rs = io.NewSectionReader(ra, 0, size)
		}
		http.ServeContent(w, r, "", mod, rs)
		return
	}
	if ok {
		hdr.Set("Content-Length", strconv.FormatInt(size, 10))
		if !mod.IsZero() {
			hdr.Set("Last-Modified", mod.UTC().Format(http.TimeFormat))
		}
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		io.Copy(w, rc) // A write error means the client went away.
	}
}

// Open returns a's content for an ecosystem that transforms it before
// serving (a project page rendered as HTML or JSON, a packument with its
// URLs rewritten). Immutable artifacts are filled on a miss. Metadata is
// read from the store while it is fresh; past its TTL it is refreshed, and
// when the refresh fails, or takes longer than the stale grace time, the
// stored copy is returned with Stale set while the refresh goes on.
// Metadata with no stored copy waits for its fill.
func (c *Cache) Open(ctx context.Context, a *Artifact) (*Entry, error) {
	rc, err := c.cfg.Store.Get(ctx, a.Name)
	var mod time.Time
	switch {
	case err == nil:
		_, mod, _ = store.Stat(rc)
		if a.TTL <= 0 || time.Since(mod) < a.TTL {
			c.m.StoreLookups.WithLabelValues(a.Ecosystem, a.Kind, "hit").Inc()
			c.touched(a)
			return entry(rc, false), nil
		}
		// Expired: keep only the fact that a copy exists, not its
		// handle, while the refresh runs.
		rc.Close()
		c.m.StoreLookups.WithLabelValues(a.Ecosystem, a.Kind, "stale").Inc()
	case errors.Is(err, fs.ErrNotExist):
		c.m.StoreLookups.WithLabelValues(a.Ecosystem, a.Kind, "miss").Inc()
	default:
		return nil, fmt.Errorf("%w: reading %s: %w", errStorage, a.Name, err)
	}
	haveStale := err == nil
	if reason, ok := c.cfg.Negative.NotFound(ctx, a.Name); ok {
		return nil, NotFound(reason)
	}
	f, ferr := c.join(ctx, a)
	switch {
	case ferr != nil && haveStale:
		// The refresh was refused: the stored copy will do.
		rc, err := c.cfg.Store.Get(ctx, a.Name)
		if err != nil {
			return nil, ferr
		}
		c.m.StaleServed.WithLabelValues(a.Ecosystem, a.Kind).Inc()
		return entry(rc, true), nil
	case ferr != nil:
		return nil, ferr
	}
	if haveStale {
		grace := time.NewTimer(c.cfg.StaleGrace)
		defer grace.Stop()
		select {
		case <-f.done:
			ferr = f.err
		case <-grace.C:
			ferr = fmt.Errorf("%w: refresh of %s still under way after %v", ErrUpstream, a.Name, c.cfg.StaleGrace)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	} else {
		ferr = c.await(ctx, a, f)
	}
	switch {
	case ferr == nil:
	case haveStale && !errors.Is(ferr, fs.ErrNotExist) && ctx.Err() == nil:
		rc, err := c.cfg.Store.Get(ctx, a.Name)
		if err != nil {
			return nil, ferr
		}
		c.touched(a)
		c.log.WarnContext(ctx, "serving stale metadata", "ecosystem", a.Ecosystem, "name", a.Name, "err", ferr)
		c.m.StaleServed.WithLabelValues(a.Ecosystem, a.Kind).Inc()
		return entry(rc, true), nil
	default:
		return nil, ferr
	}
	rc, err = c.cfg.Store.Get(ctx, a.Name)
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s after its fill: %w", errStorage, a.Name, err)
	}
	return entry(rc, false), nil
}

func entry(rc io.ReadCloser, stale bool) *Entry {
	size, mod, ok := store.Stat(rc)
	if !ok {
		size = -1
	}
	return &Entry{Body: rc, Size: size, ModTime: mod, Stale: stale}
}

// Prefetch makes sure a is stored, filling it when it is not, without
// serving it: for sync jobs and warming. It reports whether a fill ran.
func (c *Cache) Prefetch(ctx context.Context, a *Artifact) (filled bool, err error) {
	if a.TTL <= 0 {
		if rc, err := c.cfg.Store.Get(ctx, a.Name); err == nil {
			rc.Close()
			return false, nil
		}
	}
	e, err := c.Open(ctx, a)
	if err != nil {
		return false, err
	}
	e.Body.Close()
	return true, nil
}

// MarkStale sets the headers of an answer served stale.
func MarkStale(w http.ResponseWriter) {
	w.Header().Set(StaleHeader, "true")
	w.Header().Set("Warning", `110 gomirror "Response is Stale"`)
}

// MetadataCacheControl is the Cache-Control of metadata fresh for ttl.
func MetadataCacheControl(ttl time.Duration) string {
	return "public, max-age=" + strconv.Itoa(int(ttl/time.Second))
}

// ServeBytes serves data, content made for this answer, with net/http's
// handling of Range and conditional requests.
func ServeBytes(w http.ResponseWriter, r *http.Request, contentType string, data []byte, mod time.Time, cacheControl string) {
	hdr := w.Header()
	hdr.Set("Content-Type", contentType)
	hdr.Set("Cache-Control", cacheControl)
	http.ServeContent(w, r, "", mod, bytes.NewReader(data))
}

// ETag names a stored file by its size and modification time: a stored
// file is only ever replaced whole, and immutable files never are.
func ETag(size int64, mod time.Time) string {
	return `"` + stamp(size, mod) + `"`
}

// Stamp names the stored copy e by its size and modification time, as
// [ETag] does but unquoted: a key for what is derived from that copy (a
// parsed document, a rendered page). It is "" when the store cannot tell
// the size or the time.
func Stamp(e *Entry) string {
	if e.ModTime.IsZero() || e.Size < 0 {
		return ""
	}
	return stamp(e.Size, e.ModTime)
}

func stamp(size int64, mod time.Time) string {
	return strconv.FormatInt(size, 36) + "-" + strconv.FormatInt(mod.UnixNano(), 36)
}

// plainGet reports whether r has no conditional or range header, so that a
// cached or streamed file answers it without net/http's checks.
func plainGet(r *http.Request) bool {
	h := r.Header
	return h.Get("Range") == "" && h.Get("If-None-Match") == "" && h.Get("If-Modified-Since") == "" &&
		h.Get("If-Match") == "" && h.Get("If-Unmodified-Since") == ""
}
