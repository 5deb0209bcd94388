package oci

import (
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"strconv"

	"github.com/gomirror/gomirror/internal/pull"
)

// Error codes of the distribution spec, and the two of distribution's
// that a pull-through mirror needs.
const (
	CodeBlobUnknown      = "BLOB_UNKNOWN"
	CodeDigestInvalid    = "DIGEST_INVALID"
	CodeManifestUnknown  = "MANIFEST_UNKNOWN"
	CodeManifestInvalid  = "MANIFEST_INVALID"
	CodeNameInvalid      = "NAME_INVALID"
	CodeNameUnknown      = "NAME_UNKNOWN"
	CodeTagInvalid       = "TAG_INVALID"
	CodeUnauthorized     = "UNAUTHORIZED"
	CodeDenied           = "DENIED"
	CodeUnsupported      = "UNSUPPORTED"
	CodeTooManyRequests  = "TOOMANYREQUESTS"
	CodePaginationNumber = "PAGINATION_NUMBER_INVALID"
	CodeRangeInvalid     = "RANGE_INVALID"
	CodeUnavailable      = "UNAVAILABLE"
	CodeUnknown          = "UNKNOWN"
)

// Error is an answer in the distribution spec's error format: an HTTP
// status, a code and a one-line message.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is makes an Error with a 404 status match fs.ErrNotExist and one with a
// 400 status match pull.ErrBadRequest, so that the core treats them so.
func (e *Error) Is(target error) bool {
	switch e.Status {
	case http.StatusNotFound:
		return target == fs.ErrNotExist
	case http.StatusBadRequest:
		return target == pull.ErrBadRequest
	}
	return false
}

func errorf(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// upstreamError is a failure answer from an upstream registry that the
// client should see with its own status: 429 above all, and 401/403.
type upstreamError struct {
	status int
	msg    string
}

func (e *upstreamError) Error() string { return e.msg }

// Unwrap marks the error as the upstream's, so that the core counts it as
// a failed fill and serves stale metadata in its place.
func (e *upstreamError) Unwrap() error { return pull.ErrUpstream }

// notFoundCode is the code of a 404 for each kind of request.
func notFoundCode(k kind) string {
	switch k {
	case kindBlob:
		return CodeBlobUnknown
	case kindManifest, kindReferrers:
		return CodeManifestUnknown
	default:
		return CodeNameUnknown
	}
}

// toError turns any error of a request of kind k into the answer the client
// gets. It is the one place where errors become statuses and codes.
func toError(err error, k kind) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	var ue *upstreamError
	if errors.As(err, &ue) {
		switch ue.status {
		case http.StatusTooManyRequests:
			return errorf(http.StatusTooManyRequests, CodeTooManyRequests, pull.OneLine(ue.msg))
		case http.StatusUnauthorized, http.StatusForbidden:
			return errorf(http.StatusForbidden, CodeDenied, pull.OneLine(ue.msg))
		}
	}
	status := pull.Status(err)
	reason := pull.Reason(err)
	switch status {
	case http.StatusNotFound:
		return errorf(status, notFoundCode(k), reason)
	case http.StatusBadRequest:
		return errorf(status, CodeUnsupported, reason)
	case http.StatusForbidden:
		return errorf(status, CodeDenied, reason)
	case http.StatusServiceUnavailable, http.StatusInsufficientStorage, http.StatusGatewayTimeout:
		return errorf(status, CodeUnavailable, reason)
	case http.StatusInternalServerError:
		// The core knows nothing worse than "internal error" here; the
		// client gets a gateway error rather than a 500.
		return errorf(http.StatusBadGateway, CodeUnknown, reason)
	default:
		return errorf(status, CodeUnknown, reason)
	}
}

type errorBody struct {
	Errors []errorEntry `json:"errors"`
}

type errorEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// write answers with e in the spec's JSON error format.
func (e *Error) write(w http.ResponseWriter, r *http.Request) {
	body, _ := json.Marshal(errorBody{Errors: []errorEntry{{Code: e.Code, Message: pull.OneLine(e.Message)}}})
	hdr := w.Header()
	hdr.Del("Docker-Content-Digest")
	hdr.Del("Content-Range")
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	hdr.Set("Cache-Control", "no-store")
	if e.Status == http.StatusMethodNotAllowed {
		hdr.Set("Allow", "GET, HEAD")
	}
	w.WriteHeader(e.Status)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// WriteError answers r with status code and a one-line reason in the
// distribution spec's error format, with the code that the status means
// to container clients (UNAUTHORIZED, DENIED, NAME_UNKNOWN,
// NAME_INVALID, TOOMANYREQUESTS, UNAVAILABLE): for the answers that are
// given before the handler sees a request, such as access control's.
func WriteError(w http.ResponseWriter, r *http.Request, code int, reason string) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	var c string
	switch code {
	case http.StatusUnauthorized:
		c = CodeUnauthorized
	case http.StatusNotFound:
		c = CodeNameUnknown
	case http.StatusBadRequest:
		c = CodeNameInvalid
	case http.StatusTooManyRequests:
		c = CodeTooManyRequests
	case http.StatusServiceUnavailable:
		c = CodeUnavailable
	default:
		c = CodeDenied
	}
	errorf(code, c, reason).write(w, r)
}
