package goproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gomirror/gomirror/internal/store"
	"github.com/gomirror/gomirror/internal/verify"
)

const (
	immutableCacheControl = "public, max-age=31536000, immutable"
	// StaleHeader is set on lists, @latest and queries served from the
	// store past their TTL because every upstream failed.
	StaleHeader = "X-Gomirror-Stale"
)

// Header values shared by every response that uses them; net/http only
// reads them.
var (
	immutableCacheControlValue = []string{immutableCacheControl}
	contentTypes               = map[kind][]string{
		kindInfo: {contentType(kindInfo)}, kindMod: {contentType(kindMod)}, kindZip: {contentType(kindZip)},
	}
)

// serveImmutable serves a versioned file, filling it from upstream on a miss.
func (h *Handler) serveImmutable(w http.ResponseWriter, r *http.Request, req request) {
	ctx := r.Context()
	rc, err := h.cfg.Store.Get(ctx, req.name)
	if err == nil {
		h.m.StoreLookups.WithLabelValues(string(req.kind), "hit").Inc()
		defer rc.Close()
		h.serveStored(w, r, req, rc)
		return
	}
	if !errors.Is(err, fs.ErrNotExist) {
		h.writeError(w, r, fmt.Errorf("reading %s: %w", req.name, err))
		return
	}
	h.m.StoreLookups.WithLabelValues(string(req.kind), "miss").Inc()
	if reason, ok := h.cfg.Negative.NotFound(ctx, req.name); ok {
		h.writeError(w, r, notFoundError(reason))
		return
	}
	if _, err := h.fill(ctx, req); err != nil {
		h.writeError(w, r, err)
		return
	}
	rc, err = h.cfg.Store.Get(ctx, req.name)
	if err != nil {
		h.writeError(w, r, fmt.Errorf("reading %s after fill: %w", req.name, err))
		return
	}
	defer rc.Close()
	h.serveStored(w, r, req, rc)
}

// serveStored serves a versioned file from the store, keeping it in the
// hot cache when it is small.
func (h *Handler) serveStored(w http.ResponseWriter, r *http.Request, req request, rc io.ReadCloser) {
	if size, mod, ok := store.Stat(rc); ok && size <= hotMaxFile && h.hot != nil {
		data := make([]byte, size)
		if _, err := io.ReadFull(rc, data); err != nil {
			h.writeError(w, r, fmt.Errorf("reading %s: %w", req.name, err))
			return
		}
		h.serveHot(w, r, h.hot.put(req.raw, req.kind, data, mod, time.Now()))
		return
	}
	h.serveFile(w, r, req, rc, immutableCacheControl)
}

// serveHot serves a cached versioned file. A plain GET is answered
// directly; conditional and range requests go through net/http.
func (h *Handler) serveHot(w http.ResponseWriter, r *http.Request, e *hotEntry) {
	hdr := w.Header()
	hdr["Content-Type"] = contentTypes[e.kind]
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

// serveMetadata serves a list, @latest or query: from the store while it is
// fresh, else from upstream, else stale from the store.
func (h *Handler) serveMetadata(w http.ResponseWriter, r *http.Request, req request) {
	ctx := r.Context()
	var stale []byte
	var staleTime time.Time
	rc, err := h.cfg.Store.Get(ctx, req.name)
	switch {
	case err == nil:
		_, mod, ok := store.Stat(rc)
		if ok && time.Since(mod) < h.cfg.MetadataTTL {
			h.m.StoreLookups.WithLabelValues(string(req.kind), "hit").Inc()
			defer rc.Close()
			h.serveFile(w, r, req, rc, h.metadataCacheControl())
			return
		}
		stale, err = io.ReadAll(io.LimitReader(rc, maxMetadataSize))
		rc.Close()
		if err != nil {
			stale = nil
		}
		staleTime = mod
		h.m.StoreLookups.WithLabelValues(string(req.kind), "stale").Inc()
	case errors.Is(err, fs.ErrNotExist):
		h.m.StoreLookups.WithLabelValues(string(req.kind), "miss").Inc()
	default:
		h.log.WarnContext(ctx, "reading stored metadata", "name", req.name, "err", err)
	}

	if reason, ok := h.cfg.Negative.NotFound(ctx, req.name); ok {
		h.writeError(w, r, notFoundError(reason))
		return
	}
	data, err := h.fill(ctx, req)
	if err == nil {
		h.serveBytes(w, r, req, data, time.Now(), h.metadataCacheControl())
		return
	}
	if stale != nil && !errors.Is(err, fs.ErrNotExist) && ctx.Err() == nil {
		h.log.WarnContext(ctx, "serving stale metadata", "name", req.name, "err", err)
		w.Header().Set(StaleHeader, "true")
		w.Header().Set("Warning", `110 gomirror "Response is Stale"`)
		h.serveBytes(w, r, req, stale, staleTime, "no-cache")
		return
	}
	h.writeError(w, r, err)
}

func (h *Handler) metadataCacheControl() string {
	return "public, max-age=" + strconv.Itoa(int(h.cfg.MetadataTTL/time.Second))
}

// smallFile is the size up to which net/http copies a response body from
// a file through memory (its sniffing length) instead of using sendfile.
const smallFile = 512

// serveFile serves a stored file. When the store's reader can seek and
// tell its size, net/http handles Range and conditional requests, and a
// disk store's *os.File goes out through sendfile.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, req request, rc io.ReadCloser, cacheControl string) {
	hdr := w.Header()
	hdr.Set("Content-Type", contentType(req.kind))
	hdr.Set("Cache-Control", cacheControl)
	size, mod, ok := store.Stat(rc)
	rs, seekable := rc.(io.ReadSeeker)
	if ok {
		hdr.Set("ETag", etag(size, mod))
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
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		io.Copy(w, rc) // A write error means the client went away.
	}
}

func (h *Handler) serveBytes(w http.ResponseWriter, r *http.Request, req request, data []byte, mod time.Time, cacheControl string) {
	hdr := w.Header()
	hdr.Set("Content-Type", contentType(req.kind))
	hdr.Set("Cache-Control", cacheControl)
	http.ServeContent(w, r, "", mod, bytes.NewReader(data))
}

// etag names a stored file by its size and modification time: a stored
// file is only ever replaced whole, and versioned files never are.
func etag(size int64, mod time.Time) string {
	return `"` + strconv.FormatInt(size, 36) + "-" + strconv.FormatInt(mod.UnixNano(), 36) + `"`
}

// notFound is an upstream "not found", whose message is the reason to show.
type notFound struct{ reason string }

func notFoundError(reason string) error { return &notFound{reason} }

func (e *notFound) Error() string        { return e.reason }
func (e *notFound) Is(target error) bool { return target == fs.ErrNotExist }

// errRefused marks files that failed verification.
var errRefused = errors.New("refused")

// errUpstream marks failures of the upstream chain.
var errUpstream = errors.New("upstream")

// status maps an error to the HTTP status a client gets. It is the one
// place where gomirror's GOPROXY errors become statuses.
func status(err error) int {
	var mismatch *verify.MismatchError
	switch {
	case errors.Is(err, errBadRequest), errors.Is(err, store.ErrInvalidName), errors.Is(err, fs.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, fs.ErrNotExist):
		return http.StatusNotFound
	case errors.Is(err, fs.ErrPermission):
		return http.StatusForbidden
	case errors.As(err, &mismatch), errors.Is(err, verify.ErrInvalid), errors.Is(err, errRefused):
		return http.StatusBadGateway
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, errUpstream):
		return http.StatusBadGateway
	default:
		return http.StatusInternalServerError
	}
}

// writeError answers with err's status and a one-line plain-text reason.
// Internal errors are logged and answered with a generic reason.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := status(err)
	msg := oneLine(err.Error())
	if code == http.StatusInternalServerError {
		h.log.ErrorContext(r.Context(), "internal error", "path", r.URL.Path, "err", err)
		msg = "internal error"
	}
	WriteError(w, code, msg)
}

// WriteError writes a plain-text error response of one line.
func WriteError(w http.ResponseWriter, code int, msg string) {
	hdr := w.Header()
	hdr.Del("Content-Length")
	hdr.Del("ETag")
	hdr.Del("Last-Modified")
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

// oneLine folds s onto one line of at most 1000 bytes, without control
// characters.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if len(s) > 1000 {
		s = s[:1000] + "..."
	}
	return s
}
