package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"github.com/gomirror/gomirror/internal/proxypath"
	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/redact"
)

// userAgent identifies gomirror to upstream proxies.
const userAgent = "gomirror"

// maxErrorBody bounds how much of an error response is read for its reason.
const maxErrorBody = 4 << 10

// target returns the URL of req on proxy e: the proxy's base joined with
// the (already escaped) name, as the go command builds it.
func target(e entry, req proxypath.Name) *url.URL {
	t := *e.url
	t.Path = strings.TrimSuffix(t.Path, "/") + "/" + req.Escaped
	t.RawPath = strings.TrimSuffix(e.url.EscapedPath(), "/") + "/" + pathEscape(req.Escaped)
	return &t
}

// pathEscape escapes s for use in a URL path, leaving "/" as is.
func pathEscape(s string) string {
	return strings.ReplaceAll(url.PathEscape(s), "%2F", "/")
}

// fetchHTTP gets req from an http or https proxy through the core's
// upstream client, which bounds the wait for headers and for each read,
// and retries transient failures until the body starts. The proxy's
// answers keep the GOPROXY protocol's meaning: 404 and 410 are "not
// found" with the proxy's one-line text/plain reason.
func (u *Upstream) fetchHTTP(ctx context.Context, e entry, req proxypath.Name) (io.ReadCloser, error) {
	t := target(e, req)
	where := redact.Bare(t)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, t.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", where, err)
	}
	hreq.Header.Set("User-Agent", userAgent)
	resp, err := u.http.Do(ctx, hreq)
	if err == nil {
		return resp.Body, nil
	}
	var se *pull.StatusError
	if !errors.As(err, &se) {
		return nil, err // It names the URL, without credentials.
	}
	reason := readReason(se.Header, se.Body)
	if se.Code == http.StatusNotFound || se.Code == http.StatusGone {
		if reason == "" {
			reason = "not found: " + req.Subject()
		}
		return nil, &notFoundError{reason: reason}
	}
	status := strconv.Itoa(se.Code) + " " + http.StatusText(se.Code)
	return nil, fmt.Errorf("reading %s: %w", redact.Bare(t), &statusError{status: status, code: se.Code, reason: reason})
}

// readReason returns the one-line reason from an error response's body,
// when the body is plain UTF-8 text (as the go command requires to show it).
func readReason(hdr http.Header, body []byte) string {
	mediaType, params, _ := mime.ParseMediaType(hdr.Get("Content-Type"))
	if mediaType != "text/plain" {
		return ""
	}
	switch strings.ToLower(params["charset"]) {
	case "", "utf-8", "us-ascii":
	default:
		return ""
	}
	return cleanReason(string(body[:min(len(body), maxErrorBody)]))
}

// fetchFile reads req from a file:// proxy.
func fetchFile(e entry, req proxypath.Name) (io.ReadCloser, error) {
	dir := filepath.FromSlash(e.url.Path)
	if runtime.GOOS == "windows" && len(e.url.Path) > 2 && e.url.Path[0] == '/' && e.url.Path[2] == ':' {
		dir = filepath.FromSlash(e.url.Path[1:]) // file:///C:/dir
	}
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(req.Escaped)))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, &notFoundError{reason: "not found: " + req.Subject()}
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", redact.Bare(target(e, req)), err)
	}
	return f, nil
}
