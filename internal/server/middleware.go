package server

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gomirror/gomirror/internal/goproxy"
	"github.com/gomirror/gomirror/internal/metrics"
	"github.com/gomirror/gomirror/internal/pull"
)

// recorder captures the status and size of a response. It passes
// io.ReaderFrom through, so that files still go out with sendfile.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	werr   error  // the first failed write to the client
	kind   string // set by the handler through SetKind, if it knows
}

// SetKind records the kind of request, for metrics and the access log.
func (r *recorder) SetKind(kind string) { r.kind = kind }

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
		r.secure()
	}
	r.ResponseWriter.WriteHeader(code)
}

// htmlPolicy is the Content-Security-Policy of an HTML page that sets
// none of its own: no script, no frame, nothing loaded from elsewhere.
const htmlPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// secure sets the headers every response carries, once, before the
// first byte: nosniff, so that no browser takes a mirrored file for a
// page, and a strict policy for HTML pages that set none.
func (r *recorder) secure() {
	hdr := r.ResponseWriter.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	if strings.HasPrefix(hdr.Get("Content-Type"), "text/html") && hdr.Get("Content-Security-Policy") == "" {
		hdr.Set("Content-Security-Policy", htmlPolicy)
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
		r.secure()
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	if err != nil && r.werr == nil {
		r.werr = err
	}
	return n, err
}

func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	if r.status == 0 {
		r.status = http.StatusOK
		r.secure()
	}
	var n int64
	var err error
	if rf, ok := r.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(src)
	} else {
		n, err = io.Copy(r.ResponseWriter, src)
	}
	r.bytes += n
	if err != nil && r.werr == nil {
		r.werr = err
	}
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// labeler names a request's ecosystem and kind for metrics and the access
// log. kind is asked only when the handler did not name the kind through
// the recorder's SetKind.
type labeler interface {
	ecosystem(r *http.Request) string
	kind(r *http.Request) string
}

// instrument wraps h with panic recovery, the access log and request
// metrics.
func instrument(h http.Handler, log *slog.Logger, m *metrics.Metrics, l labeler) http.Handler {
	access := newAccessLog(log)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		defer func() {
			p := recover()
			if p != nil && p != http.ErrAbortHandler {
				log.ErrorContext(r.Context(), "panic serving request", "path", r.URL.Path, "panic", p)
				if rec.status == 0 {
					goproxy.WriteError(rec, http.StatusInternalServerError, "internal error")
				}
			}
			if (rec.status == 0 || rec.status >= http.StatusInternalServerError) && r.Context().Err() != nil {
				// The client hung up before its answer, and whatever
				// failed then failed for want of a client: not a fault
				// of the server.
				rec.status = pull.StatusClientClosed
			}
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			kind := rec.kind
			if kind == "" {
				kind = l.kind(r)
			}
			eco := l.ecosystem(r)
			m.Requests.WithLabelValues(eco, kind, strconv.Itoa(rec.status)).Inc()
			m.BytesServed.Add(float64(rec.bytes))
			if p == nil && rec.werr != nil && isTimeout(rec.werr) {
				// A reader too slow for --write-timeout: net/http leaves
				// such a connection open, so close it.
				p = http.ErrAbortHandler
			}
			if p == http.ErrAbortHandler {
				// A streamed fill failed its checks, or the client was too
				// slow: net/http cuts the connection short.
				log.LogAttrs(r.Context(), slog.LevelWarn, "request aborted",
					slog.String("method", r.Method), slog.String("path", r.URL.Path),
					slog.String("ecosystem", eco), slog.String("kind", kind), slog.Int64("bytes", rec.bytes),
					slog.Duration("duration", time.Since(start)), slog.String("remote", r.RemoteAddr))
				panic(p)
			}
			access.logRequest(r.Context(), request{method: r.Method, path: r.URL.Path, ecosystem: eco, kind: kind,
				status: rec.status, bytes: rec.bytes, duration: time.Since(start), remote: r.RemoteAddr})
		}()
		h.ServeHTTP(rec, r)
	})
}

// isTimeout reports whether err is a network timeout. It is a function of
// its own so that the error it looks for is allocated only when a write
// failed.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
