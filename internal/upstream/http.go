package upstream

import (
	"context"
	"errors"
	"fmt"
	"github.com/gomirror/gomirror/internal/proxypath"
	"io"
	"io/fs"
	"math/rand/v2"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
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

// fetchHTTP gets req from an http or https proxy, retrying transient
// failures until the body starts.
func (u *Upstream) fetchHTTP(ctx context.Context, e entry, req proxypath.Name) (io.ReadCloser, error) {
	t := target(e, req)
	where := t.Redacted()
	for attempt := 0; ; attempt++ {
		body, retryAfter, err := u.getOnce(ctx, t, req)
		if err == nil {
			return body, nil
		}
		var nf *notFoundError
		if errors.As(err, &nf) {
			return nil, err
		}
		err = fmt.Errorf("reading %s: %w", where, err)
		if ctx.Err() != nil {
			return nil, withCause(ctx, err)
		}
		if retryAfter < 0 || attempt >= u.retries {
			return nil, err
		}
		delay := u.backoff(attempt, retryAfter)
		if delay < 0 {
			return nil, fmt.Errorf("%w (Retry-After %v is too long)", err, retryAfter)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < delay {
			return nil, err
		}
		u.logger.WarnContext(ctx, "upstream retrying", "url", where, "attempt", attempt+1, "delay", delay, "err", err)
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, withCause(ctx, err)
		case <-timer.C:
		}
	}
}

// withCause adds ctx's cause to err, unless err already says it.
func withCause(ctx context.Context, err error) error {
	cause := context.Cause(ctx)
	if cause == nil || errors.Is(err, cause) {
		return err
	}
	return fmt.Errorf("%w: %w", err, cause)
}

// backoff returns how long to wait before retry number attempt+1: an
// exponentially growing delay with jitter, or retryAfter when the upstream
// asked for longer. It returns -1 when retryAfter exceeds the cap.
func (u *Upstream) backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > u.maxDelay {
		return -1
	}
	d := u.baseDelay << attempt
	if d > u.maxDelay || d <= 0 {
		d = u.maxDelay
	}
	d = d/2 + rand.N(d/2+1)
	return max(d, retryAfter)
}

// getOnce sends one request, bounded by the header timeout; the body it
// returns is bounded by the idle timeout. On failure, retryAfter is
// negative when the failure is not worth retrying, and otherwise the delay
// the upstream asked for (0 when it did not say). A timeout is not retried.
func (u *Upstream) getOnce(ctx context.Context, t *url.URL, req proxypath.Name) (body io.ReadCloser, retryAfter time.Duration, err error) {
	ctx, cancel := context.WithCancelCause(ctx)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, t.String(), nil)
	if err != nil {
		cancel(nil)
		return nil, -1, err
	}
	hreq.Header.Set("User-Agent", userAgent)
	var headerTimer *time.Timer
	if u.headerTimeout > 0 {
		timeout := &timeoutError{what: "no response header", d: u.headerTimeout}
		headerTimer = time.AfterFunc(u.headerTimeout, func() { cancel(timeout) })
	}
	resp, err := u.client.Do(hreq)
	if headerTimer != nil && !headerTimer.Stop() && err == nil {
		// The timer fired as the headers came: the request is cancelled.
		resp.Body.Close()
		err = context.Cause(ctx)
	}
	if err != nil {
		if te := (*timeoutError)(nil); errors.As(context.Cause(ctx), &te) {
			err = te
		} else if ue := (*url.Error)(nil); errors.As(err, &ue) {
			err = ue.Err // the URL is named by the caller
		}
		cancel(nil)
		if isTransient(err) {
			return nil, 0, err
		}
		return nil, -1, err
	}
	ib := newIdleBody(resp.Body, u.idleTimeout, cancel)
	ib.size = resp.ContentLength
	resp.Body = ib
	if resp.StatusCode == http.StatusOK {
		return resp.Body, 0, nil
	}
	reason := readReason(resp)
	resp.Body.Close()
	switch code := resp.StatusCode; {
	case code == http.StatusNotFound || code == http.StatusGone:
		if reason == "" {
			reason = "not found: " + req.Subject()
		}
		return nil, -1, &notFoundError{reason: reason}
	case code == http.StatusTooManyRequests || code >= 500:
		return nil, parseRetryAfter(resp.Header.Get("Retry-After")), &statusError{status: resp.Status, code: code, reason: reason}
	default:
		return nil, -1, &statusError{status: resp.Status, code: code, reason: reason}
	}
}

// idleBody is a response body whose every Read must get a byte within
// idle; otherwise it cancels the request, which ends the Read, and fails
// with a *timeoutError. Closing it cancels the request.
type idleBody struct {
	rc      io.ReadCloser
	idle    time.Duration
	timer   *time.Timer // nil when idle is 0
	timeout *timeoutError
	fired   atomic.Bool
	cancel  context.CancelCauseFunc
	size    int64 // the announced Content-Length, or -1
}

// Size returns the length the upstream announced, or -1.
func (b *idleBody) Size() int64 { return b.size }

// newIdleBody returns rc bounded by idle (0: no bound), cancelling its
// request with cancel.
func newIdleBody(rc io.ReadCloser, idle time.Duration, cancel context.CancelCauseFunc) *idleBody {
	b := &idleBody{rc: rc, idle: idle, cancel: cancel, timeout: &timeoutError{what: "no data", d: idle}}
	if idle > 0 {
		b.timer = time.AfterFunc(time.Hour, func() {
			b.fired.Store(true)
			cancel(b.timeout)
		})
		b.timer.Stop()
	}
	return b
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.timer == nil {
		return b.rc.Read(p)
	}
	if b.fired.Load() {
		return 0, b.timeout
	}
	b.timer.Reset(b.idle)
	n, err := b.rc.Read(p)
	b.timer.Stop()
	if err != nil && err != io.EOF && b.fired.Load() {
		err = b.timeout
	}
	return n, err
}

func (b *idleBody) Close() error {
	if b.timer != nil {
		b.timer.Stop()
	}
	err := b.rc.Close()
	b.cancel(nil)
	return err
}

// isTransient reports whether a proxypath.Name error is a connection reset or
// closed before any response header arrived.
func isTransient(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// parseRetryAfter parses a Retry-After header (seconds or an HTTP date).
// It returns 0 when there is none or it does not parse.
func parseRetryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// readReason returns the one-line reason from an error response's body,
// when the body is plain UTF-8 text (as the go command requires to show it).
func readReason(resp *http.Response) string {
	mediaType, params, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mediaType != "text/plain" {
		return ""
	}
	switch strings.ToLower(params["charset"]) {
	case "", "utf-8", "us-ascii":
	default:
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return cleanReason(string(b))
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
		return nil, fmt.Errorf("reading %s: %w", target(e, req).Redacted(), err)
	}
	return f, nil
}
