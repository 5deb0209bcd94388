package pull

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gomirror/gomirror/internal/redact"
)

// HTTPUpstream is the one client that every mirror sends its upstream
// requests through. It bounds the wait for the response headers and for
// each read of the body, retries idempotent requests that failed for a
// reason worth retrying, maps the answer to the core's errors, adds
// credentials per request, refuses URLs and redirects to hosts that are
// neither configured nor allowed (and non-public addresses for the
// latter), and names URLs in errors and log lines without their
// credentials. Its zero value uses http.DefaultClient, 30-second bounds,
// no retries and no host guard. Set its fields before its first use; it
// is safe for concurrent use after that.
type HTTPUpstream struct {
	// Client sends the requests. Nil means http.DefaultClient. With
	// Hosts set, its Transport must be an *http.Transport (nil means
	// http.DefaultTransport) for addresses to be checked when dialling;
	// the client's transport is then cloned, and so are its pools.
	Client *http.Client
	// HeaderTimeout bounds the wait for the response headers. Zero means
	// 30 seconds; negative means no bound.
	HeaderTimeout time.Duration
	// IdleTimeout bounds the wait for each read of the body. Zero means
	// 30 seconds; negative means no bound.
	IdleTimeout time.Duration
	// Retries is how many times a GET or HEAD is sent again after a
	// connection error, a 5xx or a 429, with exponential backoff and
	// jitter, honouring a Retry-After of up to 30 seconds. A request
	// whose headers did not come within HeaderTimeout is not retried.
	// Zero or negative means no retries.
	Retries int
	// Hosts are the configured upstreams (URLs or host names): their
	// hosts are fetched from as configured, on any port, even at private
	// addresses. Empty means no guard: every URL is fetched.
	Hosts []string
	// Allow lists the other hosts ("files.example.org", or patterns like
	// "*.example.org") that an upstream's content or its redirects may
	// send the mirror to. They are dialled only at public addresses.
	// Used only with Hosts.
	Allow []string
	// Auth, when not nil, wraps the transport to add credentials to each
	// request (see [StaticAuth]).
	Auth func(http.RoundTripper) http.RoundTripper
	// UserAgent is sent when a request has none. Empty means "gomirror".
	UserAgent string
	// Logger receives retries. Nil discards them.
	Logger *slog.Logger

	// RetryDelay is the first retry's backoff, doubled for each later
	// one. Zero means 250 ms.
	RetryDelay time.Duration

	once   sync.Once
	client *http.Client
	guard  *guard
}

// For returns an HTTPUpstream with u's client, bounds, retries,
// allow-list, user agent and logger, that guards hosts (see Hosts) and
// adds credentials with auth (nil: none). A nil u gives one with the
// zero value's settings. Mirrors call it once for each upstream they are
// configured with.
func (u *HTTPUpstream) For(hosts []string, auth func(http.RoundTripper) http.RoundTripper) *HTTPUpstream {
	if u == nil {
		u = &HTTPUpstream{}
	}
	return &HTTPUpstream{
		Client: u.Client, HeaderTimeout: u.HeaderTimeout, IdleTimeout: u.IdleTimeout, Retries: u.Retries,
		Hosts: hosts, Allow: u.Allow, Auth: auth, UserAgent: u.UserAgent, Logger: u.Logger, RetryDelay: u.RetryDelay,
	}
}

// init builds the client that requests go through.
func (u *HTTPUpstream) init() {
	u.once.Do(func() {
		base := u.Client
		if base == nil {
			base = http.DefaultClient
		}
		u.guard = newGuard(u.Hosts, u.Allow)
		if u.guard == nil && u.Auth == nil {
			u.client = base
			return
		}
		rt := base.Transport
		if rt == nil {
			rt = http.DefaultTransport
		}
		c := *base
		if u.guard != nil {
			if t, ok := rt.(*http.Transport); ok {
				t = t.Clone()
				t.DialContext = u.guard.dialer(t.DialContext, proxyAddrs(t))
				rt = t
			}
			c.CheckRedirect = u.guard.checkRedirect
		}
		if u.Auth != nil {
			rt = u.Auth(rt)
		}
		c.Transport = rt
		u.client = &c
	})
}

// Check returns the ErrRefused error of a URL that the host guard would
// refuse (see Hosts and Allow), or nil. An authenticating transport checks
// the URLs it fetches by itself, such as a token service's, with it.
func (u *HTTPUpstream) Check(target *url.URL) error {
	u.init()
	return u.guard.check(target)
}

// Do sends req. A 2xx answer returns the response, whose Body fails with
// an error matching os.ErrDeadlineExceeded when it stalls for longer than
// IdleTimeout, and has a method Size() int64 giving the Content-Length
// (-1 when unknown). Otherwise Do closes the body and returns an error:
// a *[StatusError] for an answer that is not a success (404 and 410
// match fs.ErrNotExist, 304 matches ErrNotModified, the others
// ErrUpstream), an error matching os.ErrDeadlineExceeded for a stall
// before the headers, ErrRefused for a URL, redirect or address that the
// guard refuses, and ErrUpstream for a failed connection. The messages
// name the URL without its credentials.
func (u *HTTPUpstream) Do(ctx context.Context, req *http.Request) (*http.Response, error) {
	u.init()
	where := redact.Bare(req.URL)
	if err := u.guard.check(req.URL); err != nil {
		return nil, err
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", cmp.Or(u.UserAgent, "gomirror"))
	}
	retry := req.Method == http.MethodGet || req.Method == http.MethodHead
	for attempt := 0; ; attempt++ {
		resp, retryAfter, err := u.send(ctx, req, where)
		if err == nil {
			return resp, nil
		}
		if !retry || retryAfter < 0 || attempt >= u.Retries || ctx.Err() != nil {
			return nil, err
		}
		delay := backoff(cmp.Or(u.RetryDelay, 250*time.Millisecond), attempt, retryAfter)
		if delay < 0 {
			return nil, fmt.Errorf("%w (it asked to retry after %v, longer than the mirror waits)", err, retryAfter)
		}
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < delay {
			return nil, err
		}
		if u.Logger != nil {
			u.Logger.WarnContext(ctx, "upstream retrying", "url", where, "attempt", attempt+1, "delay", delay, "err", err)
		}
		timer := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, fmt.Errorf("%w (while waiting to retry: %w)", err, ctx.Err())
		case <-timer.C:
		}
	}
}

// maxRetryDelay caps one wait before a retry, including one asked for by
// Retry-After.
const maxRetryDelay = 30 * time.Second

// backoff returns how long to wait before retry number attempt+1: an
// exponentially growing delay from base with jitter, or retryAfter when
// the upstream asked for longer. It returns -1 when retryAfter exceeds
// the cap.
func backoff(base time.Duration, attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > maxRetryDelay {
		return -1
	}
	d := base << min(attempt, 16)
	if d > maxRetryDelay || d <= 0 {
		d = maxRetryDelay
	}
	d = d/2 + rand.N(d/2+1)
	return max(d, retryAfter)
}

// send sends req once. On failure, retryAfter is negative when the
// failure is not worth retrying, and otherwise the delay the upstream
// asked for (0 when it did not say).
func (u *HTTPUpstream) send(ctx context.Context, req *http.Request, where string) (resp *http.Response, retryAfter time.Duration, err error) {
	hdrTimeout, idle := cmp.Or(u.HeaderTimeout, 30*time.Second), cmp.Or(u.IdleTimeout, 30*time.Second)
	ctx, cancel := context.WithCancelCause(ctx)
	timer := afterFunc(hdrTimeout, func() {
		cancel(fmt.Errorf("%s: %w: no response header within %v", where, os.ErrDeadlineExceeded, hdrTimeout))
	})
	resp, err = u.client.Do(req.Clone(ctx))
	if err != nil {
		timer.Stop()
		defer cancel(nil)
		if cause := context.Cause(ctx); errors.Is(cause, os.ErrDeadlineExceeded) {
			return nil, -1, cause
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // Its URL may carry a user name or a token.
		}
		switch {
		case errors.Is(err, ErrUpstream):
			// An answer that an authenticating transport has judged,
			// such as a token service's refusal: final, as it says.
			return nil, -1, err
		case errors.Is(err, ErrRefused):
			return nil, -1, fmt.Errorf("%s: %w", where, err)
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			return nil, -1, fmt.Errorf("%s: %w", where, err)
		}
		return nil, 0, fmt.Errorf("%w: %s: %w", ErrUpstream, where, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		timer.Stop()
		defer cancel(nil)
		// The reason in the body is read within the idle bound too: an
		// upstream that stalls in an error's body fails as one that
		// stalls in a file's.
		errTimer := afterFunc(idle, func() {
			cancel(fmt.Errorf("%s: %w: no data within %v", where, os.ErrDeadlineExceeded, idle))
		})
		defer errTimer.Stop()
		serr := statusError(where, resp)
		resp.Body.Close()
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
			return nil, parseRetryAfter(resp.Header.Get("Retry-After")), serr
		}
		return nil, -1, serr
	}
	timer.Stop()
	idleTimer := afterFunc(idle, func() {
		cancel(fmt.Errorf("%s: %w: no data within %v", where, os.ErrDeadlineExceeded, idle))
	})
	resp.Body = &idleBody{body: resp.Body, timer: idleTimer, idle: idle, ctx: ctx, cancel: cancel, size: resp.ContentLength}
	return resp, 0, nil
}

// Get fetches url with Do and returns its body.
func (u *HTTPUpstream) Get(ctx context.Context, url string, header http.Header) (io.ReadCloser, error) {
	resp, err := u.GetResponse(ctx, url, header)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// GetResponse sends a GET for url with header through Do and returns the
// response, for a caller that reads its headers too (an ETag, a
// Content-Type). A url that does not parse is an error matching
// ErrUpstream.
func (u *HTTPUpstream) GetResponse(ctx context.Context, url string, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: bad URL", ErrUpstream, redact.BareString(url))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return u.Do(ctx, req)
}

// StatusError is an upstream's answer that is not a success. It matches
// fs.ErrNotExist for a 404 or a 410, ErrNotModified for a 304, and
// ErrUpstream otherwise.
type StatusError struct {
	// URL is the request's URL, without credentials.
	URL string
	// Code is the HTTP status code.
	Code int
	// Reason is the upstream's one-line reason: the start of a short
	// plain-text body, or the status text.
	Reason string
	// Header is the answer's header.
	Header http.Header
	// Body is the start of the answer's body (at most 4 KiB), for an
	// ecosystem to read its own error format from.
	Body []byte
}

func (e *StatusError) Error() string {
	switch e.Code {
	case http.StatusNotFound, http.StatusGone:
		return fmt.Sprintf("not found: %s: %s", e.URL, e.Reason)
	case http.StatusNotModified:
		return ErrNotModified.Error()
	case http.StatusTooManyRequests:
		return fmt.Sprintf("%v: %s: 429 too many requests (retry after %q)", ErrUpstream, e.URL, e.Header.Get("Retry-After"))
	}
	return fmt.Sprintf("%v: %s: %d: %s", ErrUpstream, e.URL, e.Code, e.Reason)
}

// Is reports whether target is fs.ErrNotExist (404, 410) or
// ErrNotModified (304).
func (e *StatusError) Is(target error) bool {
	switch e.Code {
	case http.StatusNotFound, http.StatusGone:
		return target == fs.ErrNotExist
	case http.StatusNotModified:
		return target == ErrNotModified
	}
	return false
}

// Unwrap returns ErrUpstream for an answer that is neither "not found"
// nor "not modified".
func (e *StatusError) Unwrap() error {
	switch e.Code {
	case http.StatusNotFound, http.StatusGone, http.StatusNotModified:
		return nil
	}
	return ErrUpstream
}

// statusError maps an upstream's non-2xx answer to the core's errors.
func statusError(where string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	reason := OneLine(string(body[:min(len(body), 1024)]))
	if reason == "" || len(reason) > 300 || reason[0] == '<' || reason[0] == '{' || !isText(resp.Header.Get("Content-Type")) {
		reason = http.StatusText(resp.StatusCode)
	}
	return &StatusError{URL: where, Code: resp.StatusCode, Reason: reason, Header: resp.Header, Body: body}
}

// isText reports whether a Content-Type is plain text (or not given).
func isText(ct string) bool {
	return ct == "" || strings.HasPrefix(strings.ToLower(ct), "text/plain")
}

// parseRetryAfter parses a Retry-After header (seconds or an HTTP date).
// It returns 0 when there is none or it does not parse.
func parseRetryAfter(h string) time.Duration {
	if h == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		return time.Duration(min(s, 1<<20)) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil {
		return max(time.Until(t), 0)
	}
	return 0
}

// ReadLimited reads all of body, failing with ErrRefused when it is, or
// announces that it is (by a Size() method), longer than limit bytes.
// what names the body in the error.
func ReadLimited(body io.Reader, limit int64, what string) ([]byte, error) {
	if s, ok := body.(interface{ Size() int64 }); ok && s.Size() > limit {
		return nil, fmt.Errorf("%w: %s is %d bytes, over the limit of %d", ErrRefused, what, s.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("reading %s: %w", what, err)
		}
		return nil, fmt.Errorf("%w: reading %s: %w", ErrUpstream, what, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s is over the limit of %d bytes", ErrRefused, what, limit)
	}
	return data, nil
}

// afterFunc is time.AfterFunc, with a timer that never fires for a
// negative d.
func afterFunc(d time.Duration, f func()) *time.Timer {
	if d < 0 {
		t := time.AfterFunc(time.Hour, f)
		t.Stop()
		return t
	}
	return time.AfterFunc(d, f)
}

// idleBody fails a read that waits longer than idle for a byte.
type idleBody struct {
	body   io.ReadCloser
	timer  *time.Timer
	idle   time.Duration
	ctx    context.Context
	cancel context.CancelCauseFunc
	size   int64
	once   sync.Once
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.idle >= 0 {
		b.timer.Reset(b.idle)
	}
	n, err := b.body.Read(p)
	if err != nil && err != io.EOF {
		if cause := context.Cause(b.ctx); errors.Is(cause, os.ErrDeadlineExceeded) {
			return n, cause
		}
	}
	return n, err
}

// Size returns the announced length of the body, or -1.
func (b *idleBody) Size() int64 { return b.size }

func (b *idleBody) Close() error {
	b.once.Do(func() { b.timer.Stop() })
	err := b.body.Close()
	b.cancel(nil)
	return err
}

// BytesBody returns data as a body for an Artifact's Fetch, announcing
// its length (a Size method) to the core.
func BytesBody(data []byte) io.ReadCloser { return &bytesBody{bytes.NewReader(data)} }

type bytesBody struct{ *bytes.Reader }

func (bytesBody) Close() error { return nil }

// Size returns the length of the whole body.
func (b *bytesBody) Size() int64 { return b.Reader.Size() }
