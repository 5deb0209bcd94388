package jobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Syncer is one kind of job: it requests through s what its mirror should
// hold. Sync returns an error only when the run cannot go on (an index
// that could not be read); failures of single requests are counted by s
// and make the run "partial" or "failed" by themselves. Implementations
// must be safe to call from one goroutine at a time.
type Syncer interface {
	Sync(ctx context.Context, s *Session) error
}

// maxMetadata bounds the body of a metadata response a job reads (an
// index, a list, a manifest); files are streamed and discarded instead.
const maxMetadata = 64 << 20

// Session is one run of a job: the client through which its [Syncer]
// requests the mirror, and the tally of those requests. It is safe for
// concurrent use.
type Session struct {
	handler  http.Handler
	job      *job
	recorder Recorder
	now      func() time.Time
	sleep    func(ctx context.Context, d time.Duration) error
	prev     State

	ok, failed atomic.Int64
	bytes      atomic.Int64

	mu        sync.Mutex
	firstErrs []string
	seen      map[string]bool // keys of the previous run still true, and new ones
	prevSeen  map[string]bool // prev.Seen as a set, made on first use
	cursor    string
	note      string
}

// Response is a metadata response read whole by [Session.Get].
type Response struct {
	Header http.Header
	Body   []byte
	// URL is the request's URL, against which relative links in Body
	// resolve.
	URL *url.URL
}

// StatusError is the error of a request the mirror answered with a status
// other than 200.
type StatusError struct {
	Path   string
	Code   int
	Reason string // the first line of the body, when there is one
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("GET %s: %d %s", e.Path, e.Code, http.StatusText(e.Code))
	if e.Reason != "" {
		msg += ": " + e.Reason
	}
	return msg
}

// temporary reports whether a request that failed with err may succeed
// when tried again.
func temporary(err error) bool {
	var se *StatusError
	if errors.As(err, &se) {
		return se.Code >= 500 || se.Code == http.StatusTooManyRequests || se.Code == http.StatusRequestTimeout
	}
	return !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// Get requests path (with its query) from the mirror with the Accept
// header accept (empty for none) and returns the whole response, which
// must be 200 and at most 64 MiB. The request counts toward the run's
// tally: an error here is already counted as a failed request.
func (s *Session) Get(ctx context.Context, path, accept string) (*Response, error) {
	var resp *Response
	err := s.do(ctx, path, accept, func(h http.Header, u *url.URL, body io.Reader) error {
		b, err := io.ReadAll(io.LimitReader(body, maxMetadata+1))
		if err != nil {
			return err
		}
		if len(b) > maxMetadata {
			return fmt.Errorf("GET %s: response over %d bytes", path, maxMetadata)
		}
		resp = &Response{Header: h, Body: b, URL: u}
		return nil
	})
	return resp, err
}

// Fetch requests path from the mirror and discards the body, which is how
// a job brings a file into the store. Like Get, it counts in the tally.
func (s *Session) Fetch(ctx context.Context, path, accept string) error {
	return s.do(ctx, path, accept, nil)
}

// do runs one request with retries, and counts its outcome.
func (s *Session) do(ctx context.Context, path, accept string, read func(http.Header, *url.URL, io.Reader) error) error {
	var err error
	wait := s.job.Backoff
	for attempt := 0; ; attempt++ {
		err = s.once(ctx, path, accept, read)
		if err == nil || attempt >= s.job.Retries || !temporary(err) || ctx.Err() != nil {
			break
		}
		if serr := s.sleep(ctx, wait); serr != nil {
			break
		}
		wait *= 2
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("GET %s: %w", path, context.Cause(ctx))
		}
		s.fail(err)
		return err
	}
	s.ok.Add(1)
	return nil
}

// fail counts a failed request and keeps the first few reasons.
func (s *Session) fail(err error) {
	s.failed.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.firstErrs) < 3 {
		s.firstErrs = append(s.firstErrs, err.Error())
	}
}

// once sends one request to the handler in process.
func (s *Session) once(ctx context.Context, path, accept string, read func(http.Header, *url.URL, io.Reader) error) error {
	if !strings.HasPrefix(path, "/") {
		return fmt.Errorf("GET %s: not an absolute path", path)
	}
	u, err := url.Parse("http://gomirror.internal" + path)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	req.RemoteAddr = "127.0.0.1:0"
	req.RequestURI = u.RequestURI()
	req.Header.Set("User-Agent", "gomirror-sync/"+s.job.Name)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	w := newWriter(&s.bytes, read == nil)
	s.handler.ServeHTTP(w, req)
	w.finish()
	if w.code != http.StatusOK {
		return &StatusError{Path: path, Code: w.code, Reason: firstLine(w.buf.String())}
	}
	if read == nil {
		return nil
	}
	return read(w.header, u, &w.buf)
}

// firstLine returns the first line of s, cut to 200 bytes.
func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// Each calls fn for each of n items, at most the job's concurrency at a
// time, and returns when all have returned or ctx ended.
func (s *Session) Each(ctx context.Context, n int, fn func(ctx context.Context, i int)) {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(s.job.Concurrency)
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error {
			fn(ctx, i)
			return nil
		})
	}
	_ = g.Wait()
}

// Seen reports whether a previous run of the job recorded key as fetched
// (see MarkSeen). A key asked about stays recorded after this run.
func (s *Session) Seen(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[key] {
		return true
	}
	if s.prevSeen == nil {
		s.prevSeen = make(map[string]bool, len(s.prev.Seen))
		for _, k := range s.prev.Seen {
			s.prevSeen[k] = true
		}
	}
	if s.prevSeen[key] {
		s.seen[key] = true
		return true
	}
	return false
}

// MarkSeen records that everything key stands for was fetched, so that
// later runs skip it.
func (s *Session) MarkSeen(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen[key] = true
}

// Cursor returns what the job's last run that ended without failed
// requests passed to SetCursor, or "".
func (s *Session) Cursor() string { return s.prev.Cursor }

// SetCursor records where the next run may start from (for example the
// modification time of an index). It is kept only if no request of this
// run fails.
func (s *Session) SetCursor(c string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cursor = c
}

// NothingToDo records that the run had nothing to fetch, and why; without
// it, a run that fetched nothing fails.
func (s *Session) NothingToDo(why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.note = why
}

// Now returns the runner's current time.
func (s *Session) Now() time.Time { return s.now() }

// Recorder returns the source of recently requested modules, or nil.
func (s *Session) Recorder() Recorder { return s.recorder }

// Progress is a running job's tally so far.
type Progress struct {
	Requests int64 `json:"requests"`
	Failed   int64 `json:"failed"`
	Bytes    int64 `json:"bytes"`
}

// progress returns the tally so far.
func (s *Session) progress() Progress {
	return Progress{Requests: s.ok.Load() + s.failed.Load(), Failed: s.failed.Load(), Bytes: s.bytes.Load()}
}

// writer is the http.ResponseWriter of an in-process request: it counts
// the bytes of a 200 body into n, keeps the body in buf unless discard is set (and
// keeps a little of it even then, for the reason of an error), and
// streams nothing anywhere else.
type writer struct {
	header  http.Header
	code    int
	wrote   bool
	discard bool
	n       *atomic.Int64
	buf     bytes.Buffer
}

func newWriter(n *atomic.Int64, discard bool) *writer {
	return &writer{header: http.Header{}, n: n, discard: discard}
}

func (w *writer) Header() http.Header { return w.header }

func (w *writer) WriteHeader(code int) {
	if w.wrote || code < 200 {
		return // 1xx responses are informational; the real one follows
	}
	w.code, w.wrote = code, true
}

func (w *writer) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.code == http.StatusOK {
		w.n.Add(int64(len(p)))
	}
	switch {
	case !w.discard && w.code == http.StatusOK:
		if w.buf.Len()+len(p) > maxMetadata+1 {
			return 0, fmt.Errorf("response over %d bytes", maxMetadata)
		}
		w.buf.Write(p)
	case w.code != http.StatusOK && w.buf.Len() < 512:
		w.buf.Write(p[:min(len(p), 512-w.buf.Len())])
	}
	return len(p), nil
}

// Flush does nothing: there is no connection to flush.
func (w *writer) Flush() {}

// finish makes a handler that wrote nothing answer 200, as net/http does.
func (w *writer) finish() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
}
