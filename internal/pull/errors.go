package pull

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/gomirror/gomirror/internal/redact"
	"github.com/gomirror/gomirror/internal/store"
)

var (
	// ErrBadRequest marks requests that are malformed; they get a 400.
	ErrBadRequest = errors.New("bad request")
	// ErrRefused marks upstream files that failed their checks; they get a
	// 502 and are never stored.
	ErrRefused = errors.New("refused")
	// ErrUpstream marks failures of an upstream; they get a 502.
	ErrUpstream = errors.New("upstream")
	// ErrTooManyRequests marks a request refused because its client has
	// too many fills under way or sent too many requests; it gets a 429.
	ErrTooManyRequests = errors.New("too many requests")
	// ErrNotModified is returned by an Artifact's Fetch when upstream
	// confirms that the stored copy is current.
	ErrNotModified = errors.New("not modified")
	// errStorage marks failures of the mirror's own storage.
	errStorage = errors.New("mirror storage")
)

// StatusClientClosed is the status recorded for a request whose client
// hung up before it was answered, as nginx logs it. It is never sent: there
// is no one left to send it to.
const StatusClientClosed = 499

// notFound is an upstream "not found", whose message is the reason to show.
type notFound struct{ reason string }

// NotFound returns an error matching fs.ErrNotExist whose message is
// reason, as shown to the client.
func NotFound(reason string) error { return &notFound{reason} }

func (e *notFound) Error() string        { return e.reason }
func (e *notFound) Is(target error) bool { return target == fs.ErrNotExist }

// Status maps an error to the HTTP status a client gets. It is the one
// place where the core's errors become statuses:
//
//   - ErrBadRequest, store.ErrInvalidName, fs.ErrInvalid: 400;
//   - fs.ErrNotExist: 404;
//   - fs.ErrPermission: 403;
//   - ErrTooManyRequests: 429;
//   - ErrRefused, ErrUpstream: 502;
//   - a timeout (os.ErrDeadlineExceeded, context.DeadlineExceeded): 504;
//   - store.ErrFull: 507, the mirror's storage is full;
//   - context.Canceled, the client hung up: [StatusClientClosed];
//   - another failure to write the mirror's storage: 503;
//   - anything else: 500.
func Status(err error) int {
	switch {
	case errors.Is(err, ErrBadRequest), errors.Is(err, store.ErrInvalidName), errors.Is(err, fs.ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, fs.ErrNotExist):
		return http.StatusNotFound
	case errors.Is(err, fs.ErrPermission):
		return http.StatusForbidden
	case errors.Is(err, ErrTooManyRequests):
		return http.StatusTooManyRequests
	case errors.Is(err, store.ErrFull):
		return http.StatusInsufficientStorage
	case errors.Is(err, ErrRefused):
		return http.StatusBadGateway
	case errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, ErrUpstream):
		return http.StatusBadGateway
	case errors.Is(err, errStorage):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled):
		return StatusClientClosed
	default:
		return http.StatusInternalServerError
	}
}

// Reason returns the one-line reason a client is shown for err: its
// message, or "internal error" for an error that Status maps to 500,
// whose details are for the log only.
func Reason(err error) string {
	switch Status(err) {
	case http.StatusInternalServerError:
		return "internal error"
	case http.StatusInsufficientStorage:
		return "the mirror's storage is full; try again later"
	case http.StatusServiceUnavailable:
		return "the mirror cannot write to its storage; try again later"
	case StatusClientClosed:
		return "the client closed the request"
	case http.StatusGatewayTimeout:
		if !strings.Contains(err.Error(), "timeout") && !strings.Contains(err.Error(), "deadline") {
			return OneLine("upstream timed out: " + err.Error())
		}
	}
	return OneLine(err.Error())
}

// OneLine folds s onto one line of at most 1000 bytes, without control
// characters, and with the credentials of any URL in it redacted: what it
// returns may be shown to a client.
func OneLine(s string) string {
	s = strings.Join(strings.Fields(redact.String(s)), " ")
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

// fillResult names the outcome of a fill for metrics.
func fillResult(err error) string {
	switch Status(err) {
	case http.StatusOK:
		return "ok"
	case http.StatusNotFound:
		return "notfound"
	case http.StatusBadGateway:
		if errors.Is(err, ErrRefused) {
			return "refused"
		}
		return "error"
	case http.StatusGatewayTimeout:
		return "timeout"
	case http.StatusTooManyRequests:
		return "throttled"
	case http.StatusInsufficientStorage:
		return "full"
	case http.StatusServiceUnavailable:
		return "storage"
	case StatusClientClosed:
		return "canceled"
	default:
		return "error"
	}
}

// WriteText writes a plain-text error answer of one line, the error format
// of the GOPROXY protocol and of plain file mirrors. It drops the headers
// of a file that was about to be served. A full or failing store adds
// Retry-After.
func WriteText(w http.ResponseWriter, code int, msg string) {
	errorHeaders(w.Header(), code, "text/plain; charset=utf-8")
	w.Header().Del("Content-Length")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

// WriteError writes an error answer in a protocol's own format: status
// code and body, of contentType, with the headers of every error answer
// of the mirror, as [WriteText] writes them, and the body's length. A
// HEAD request gets no body.
func WriteError(w http.ResponseWriter, r *http.Request, code int, contentType string, body []byte) {
	errorHeaders(w.Header(), code, contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// errorHeaders sets the headers of an error answer: without those of a
// file that was about to be served, never stored, and with Retry-After
// when the store is full or failing.
func errorHeaders(hdr http.Header, code int, contentType string) {
	for _, k := range []string{"Etag", "Last-Modified", StaleHeader, "Warning"} {
		hdr.Del(k)
	}
	hdr.Set("Content-Type", contentType)
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	if code == http.StatusServiceUnavailable || code == http.StatusInsufficientStorage {
		hdr.Set("Retry-After", "60")
	}
}
