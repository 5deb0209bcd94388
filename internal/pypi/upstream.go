package pypi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"

	"github.com/gomirror/gomirror/internal/pull"
)

// acceptUpstream is what the mirror asks an upstream index for: JSON, or
// HTML from one that has no JSON.
const acceptUpstream = ContentTypeJSON + ", " + ContentTypeHTMLv1 + ";q=0.2, text/html;q=0.1"

// upstream fetches pages and files from the upstream indexes, in order. It
// is safe for concurrent use.
type upstream struct {
	indexes   []*url.URL // each ends in "/"
	client    *http.Client
	userAgent string
	maxPage   int64 // bytes of one project page
	maxIndex  int64 // bytes of one index of projects
	log       *slog.Logger
}

// get sends a GET for u with accept and, when etag is not "", a
// conditional request on it.
func (up *upstream) get(ctx context.Context, u, accept, etag string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %w", pull.ErrUpstream, redactURL(u), err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	req.Header.Set("User-Agent", up.userAgent)
	resp, err := up.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: %w", pull.ErrUpstream, u, err)
	}
	return resp, nil
}

// readLimited reads a page body of at most limit bytes.
func readLimited(resp *http.Response, limit int64, what string) ([]byte, error) {
	if resp.ContentLength > limit {
		return nil, fmt.Errorf("%w: %s is %d bytes, over the limit of %d", pull.ErrUpstream, what, resp.ContentLength, limit)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s: %w", pull.ErrUpstream, what, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%w: %s is over the limit of %d bytes", pull.ErrUpstream, what, limit)
	}
	return data, nil
}

// isJSON reports whether a response's Content-Type is the JSON of PEP 691.
func isJSON(resp *http.Response) bool {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return mt == ContentTypeJSON || mt == "application/vnd.pypi.simple.latest+json" || mt == "application/json"
}

// statusErr is the error for an upstream answer that is neither a page nor
// "not found": it stops the search through the indexes.
func statusErr(resp *http.Response, what string) error {
	return fmt.Errorf("%w: %s: upstream answered %s", pull.ErrUpstream, what, resp.Status)
}

// notFound reports whether an upstream status means "no such project or
// file" rather than a failure.
func notFound(code int) bool { return code == http.StatusNotFound || code == http.StatusGone }

// fetchProject returns the page of project name (normalised) from the
// first index that has it. prev, when not nil, is the stored page: when it
// came from the first index with a validator, the request is conditional,
// and pull.ErrNotModified reports that it is current. Only "not found"
// moves on to the next index; any other failure ends the search, so a
// later index never answers for a name because an earlier one is down.
func (up *upstream) fetchProject(ctx context.Context, name string, prev *Project) (*Project, error) {
	for i, ix := range up.indexes {
		pageURL := ix.JoinPath(name).String() + "/"
		etag := ""
		if i == 0 && prev != nil && prev.Index == ix.String() {
			etag = prev.ETag
		}
		resp, err := up.get(ctx, pageURL, acceptUpstream, etag)
		if err != nil {
			return nil, err
		}
		p, err := up.readProject(resp, name, pageURL, etag != "")
		resp.Body.Close()
		if errors.Is(err, errNotHere) {
			continue
		}
		if err != nil {
			return nil, err
		}
		p.Index = ix.String()
		return p, nil
	}
	return nil, pull.NotFound(fmt.Sprintf("project %s is not on any upstream index", name))
}

// errNotHere is an index's "not found" for a project.
var errNotHere = errors.New("not on this index")

func (up *upstream) readProject(resp *http.Response, name, pageURL string, conditional bool) (*Project, error) {
	what := "project page " + redactURL(pageURL)
	switch {
	case resp.StatusCode == http.StatusNotModified && conditional:
		return nil, pull.ErrNotModified
	case notFound(resp.StatusCode):
		return nil, errNotHere
	case resp.StatusCode != http.StatusOK:
		return nil, statusErr(resp, what)
	}
	data, err := readLimited(resp, up.maxPage, what)
	if err != nil {
		return nil, err
	}
	base := resp.Request.URL // After redirects, which relative URLs follow.
	var p *Project
	var dropped []string
	if isJSON(resp) {
		p, dropped, err = parseJSONPage(data, name, base)
	} else {
		p, dropped, err = parseHTMLPage(bytes.NewReader(data), name, base)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", pull.ErrUpstream, what, err)
	}
	if len(dropped) > 0 {
		up.log.Warn("upstream page lists files the mirror leaves out", "page", redactURL(pageURL), "count", len(dropped), "first", dropped[0])
	}
	p.ETag = resp.Header.Get("ETag")
	return p, nil
}

// fetchIndex returns the index of projects: the union of the indexes'
// lists, each normalised name once, in index order.
func (up *upstream) fetchIndex(ctx context.Context) (*Index, error) {
	ix := &Index{Projects: []string{}}
	seen := make(map[string]bool)
	for _, base := range up.indexes {
		u := base.String()
		resp, err := up.get(ctx, u, acceptUpstream, "")
		if err != nil {
			return nil, err
		}
		names, err := up.readIndex(resp, u)
		resp.Body.Close()
		if errors.Is(err, errNotHere) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if CheckName(n) != nil || seen[Normalize(n)] {
				continue
			}
			seen[Normalize(n)] = true
			ix.Projects = append(ix.Projects, n)
		}
	}
	return ix, nil
}

func (up *upstream) readIndex(resp *http.Response, u string) ([]string, error) {
	what := "index of projects " + redactURL(u)
	switch {
	case notFound(resp.StatusCode):
		return nil, errNotHere
	case resp.StatusCode != http.StatusOK:
		return nil, statusErr(resp, what)
	}
	data, err := readLimited(resp, up.maxIndex, what)
	if err != nil {
		return nil, err
	}
	var names []string
	if isJSON(resp) {
		names, err = parseJSONIndex(data)
	} else {
		names, err = parseHTMLIndex(bytes.NewReader(data))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", pull.ErrUpstream, what, err)
	}
	return names, nil
}

// sizedBody is an upstream body that announces its length to the core.
type sizedBody struct {
	io.ReadCloser
	size int64
}

func (b sizedBody) Size() int64 { return b.size }

// fetchFile opens a file at u, an absolute URL from a stored page.
func (up *upstream) fetchFile(ctx context.Context, u string) (io.ReadCloser, error) {
	resp, err := up.get(ctx, u, "", "")
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusOK:
		if resp.ContentLength >= 0 {
			return sizedBody{resp.Body, resp.ContentLength}, nil
		}
		return resp.Body, nil
	case notFound(resp.StatusCode):
		resp.Body.Close()
		return nil, pull.NotFound(fmt.Sprintf("upstream has no file %s (%s)", redactURL(u), resp.Status))
	default:
		resp.Body.Close()
		return nil, statusErr(resp, "file "+redactURL(u))
	}
}

// redactURL drops credentials and the query from u for messages.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(bad URL)"
	}
	p.User = nil
	p.RawQuery = ""
	return p.String()
}

// bytesBody is a fetched page made in memory.
type bytesBody struct{ *bytes.Reader }

func (bytesBody) Close() error { return nil }

func newBytesBody(data []byte) io.ReadCloser { return bytesBody{bytes.NewReader(data)} }
