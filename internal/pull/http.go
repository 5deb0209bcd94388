package pull

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"
)

// HTTPUpstream sends an ecosystem's requests to its upstream with the
// bounds that every upstream request gets, and maps the answer to the
// core's errors. Its zero value uses http.DefaultClient and 30-second
// bounds. It is safe for concurrent use.
type HTTPUpstream struct {
	// Client sends the requests. Nil means http.DefaultClient.
	Client *http.Client
	// HeaderTimeout bounds the wait for the response headers. Zero means
	// 30 seconds.
	HeaderTimeout time.Duration
	// IdleTimeout bounds the wait for each read of the body. Zero means
	// 30 seconds.
	IdleTimeout time.Duration
}

// Do sends req. A 2xx answer returns the response, whose Body fails with
// an error matching os.ErrDeadlineExceeded when it stalls for longer than
// IdleTimeout, and has a method Size() int64 giving the Content-Length
// (-1 when unknown). Otherwise Do closes the body and returns an error:
// 404 and 410 match fs.ErrNotExist with the upstream's reason, 304 is
// ErrNotModified, a stall before the headers matches
// os.ErrDeadlineExceeded, and anything else matches ErrUpstream. The
// message names the URL without its credentials.
func (u *HTTPUpstream) Do(ctx context.Context, req *http.Request) (*http.Response, error) {
	hdrTimeout, idle := u.HeaderTimeout, u.IdleTimeout
	if hdrTimeout <= 0 {
		hdrTimeout = 30 * time.Second
	}
	if idle <= 0 {
		idle = 30 * time.Second
	}
	client := u.Client
	if client == nil {
		client = http.DefaultClient
	}
	where := req.URL.Redacted()
	ctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(hdrTimeout, func() {
		cancel(fmt.Errorf("%s: %w: no answer within %v", where, os.ErrDeadlineExceeded, hdrTimeout))
	})
	resp, err := client.Do(req.WithContext(ctx))
	if err != nil {
		timer.Stop()
		if cause := context.Cause(ctx); errors.Is(cause, os.ErrDeadlineExceeded) {
			err = cause
		} else if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("%w: %w", ErrUpstream, err)
		}
		cancel(nil)
		return nil, err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		timer.Stop()
		defer cancel(nil)
		defer resp.Body.Close()
		return nil, statusError(where, resp)
	}
	timer.Stop()
	idleTimer := time.AfterFunc(idle, func() {
		cancel(fmt.Errorf("%s: %w: the body stalled for %v", where, os.ErrDeadlineExceeded, idle))
	})
	resp.Body = &idleBody{body: resp.Body, timer: idleTimer, idle: idle, ctx: ctx, cancel: cancel, size: resp.ContentLength}
	return resp, nil
}

// Get fetches url with Do and returns its body.
func (u *HTTPUpstream) Get(ctx context.Context, url string, header http.Header) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrUpstream, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := u.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// statusError maps an upstream's non-2xx answer to the core's errors.
func statusError(where string, resp *http.Response) error {
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	reason := OneLine(string(msg))
	if reason == "" || len(reason) > 300 || reason[0] == '<' || reason[0] == '{' {
		reason = http.StatusText(resp.StatusCode)
	}
	switch resp.StatusCode {
	case http.StatusNotFound, http.StatusGone:
		return NotFound(fmt.Sprintf("not found: %s: %s", where, reason))
	case http.StatusNotModified:
		return ErrNotModified
	case http.StatusTooManyRequests:
		return fmt.Errorf("%w: %s: 429 too many requests (retry after %q)", ErrUpstream, where, resp.Header.Get("Retry-After"))
	default:
		return fmt.Errorf("%w: %s: %s: %s", ErrUpstream, where, strconv.Itoa(resp.StatusCode), reason)
	}
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
	b.timer.Reset(b.idle)
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
