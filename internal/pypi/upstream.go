package pypi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/redact"
)

// acceptUpstream is what the mirror asks an upstream index for: JSON, or
// HTML from one that has no JSON.
const acceptUpstream = ContentTypeJSON + ", " + ContentTypeHTMLv1 + ";q=0.2, text/html;q=0.1"

// upstream fetches pages and files from the upstream indexes, in order. It
// is safe for concurrent use.
type upstream struct {
	indexes   []*url.URL // each ends in "/", without user information
	http      *pull.HTTPUpstream
	userAgent string
	maxPage   int64 // bytes of one project page
	maxIndex  int64 // bytes of one index of projects
	mem       *pull.Memory
	log       *slog.Logger
}

// newHTTP returns the client of indexes (each ends in "/"): it fetches
// from their hosts (and files.pythonhosted.org when one of them is
// pypi.org), and sends the credentials of an index URL (user:password@)
// as Basic authentication to that index's host only. It returns the
// indexes without their credentials.
func newHTTP(settings *pull.HTTPUpstream, indexes []*url.URL) (*pull.HTTPUpstream, []*url.URL) {
	var hosts []string
	var creds []pull.Credential
	var out []*url.URL
	pypi := false
	for _, ix := range indexes {
		c := *ix
		if c.User != nil {
			pw, _ := c.User.Password()
			c.User = nil
			creds = append(creds, pull.Basic(c.Scheme+"://"+c.Host+"/", ix.User.Username(), pw))
		}
		hosts = append(hosts, c.String())
		pypi = pypi || strings.EqualFold(c.Hostname(), "pypi.org")
		out = append(out, &c)
	}
	hc := settings.For(hosts, pull.StaticAuth(creds...))
	if pypi {
		hc.Allow = append(slices.Clip(hc.Allow), "files.pythonhosted.org")
	}
	return hc, out
}

// get sends a GET for u with accept and, when etag is not "", a
// conditional request on it. Answers other than a success are errors (see
// pull.HTTPUpstream.Do).
func (up *upstream) get(ctx context.Context, u, accept, etag string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s: bad URL", pull.ErrUpstream, redact.BareString(u))
	}
	req.URL.User = nil // An index's credentials are sent by up.http.
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	req.Header.Set("User-Agent", up.userAgent)
	return up.http.Do(ctx, req)
}

// isJSON reports whether a response's Content-Type is the JSON of PEP 691.
func isJSON(resp *http.Response) bool {
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return mt == ContentTypeJSON || mt == "application/vnd.pypi.simple.latest+json" || mt == "application/json"
}

// fetchProject returns the page of project name (normalised) from the
// first index that has it. prev, when not nil, is the stored page: when it
// came from the first index with a validator, the request is conditional,
// and pull.ErrNotModified reports that it is current. Only "not found"
// moves on to the next index; any other failure ends the search, so a
// later index never answers for a name because an earlier one is down.
// The page comes with the memory reserved to decode it, which the caller
// gives back with release once it is done with the page.
func (up *upstream) fetchProject(ctx context.Context, name string, prev *Project) (p *Project, release func(), err error) {
	for i, ix := range up.indexes {
		pageURL := ix.JoinPath(name).String() + "/"
		etag := ""
		if i == 0 && prev != nil && prev.Index == ix.String() {
			etag = prev.ETag
		}
		resp, err := up.get(ctx, pageURL, acceptUpstream, etag)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case errors.Is(err, pull.ErrNotModified) && etag != "":
			return nil, nil, pull.ErrNotModified
		case err != nil:
			return nil, nil, err
		}
		p, release, err := up.readProject(ctx, resp, name, pageURL)
		resp.Body.Close()
		if err != nil {
			return nil, nil, err
		}
		p.Index = ix.String()
		return p, release, nil
	}
	return nil, nil, pull.NotFound(fmt.Sprintf("project %s is not on any upstream index", name))
}

// readProject reads the page of project name from a successful answer.
func (up *upstream) readProject(ctx context.Context, resp *http.Response, name, pageURL string) (p *Project, release func(), err error) {
	what := "project page " + redact.BareString(pageURL)
	release, err = up.mem.Reserve(ctx, sizeOr(resp.ContentLength, up.maxPage))
	if err != nil {
		return nil, nil, err
	}
	p, err = up.decodeProject(resp, name, pageURL, what)
	if err != nil {
		release()
		return nil, nil, err
	}
	return p, release, nil
}

// decodeProject reads and decodes the page of project name.
func (up *upstream) decodeProject(resp *http.Response, name, pageURL, what string) (*Project, error) {
	data, err := pull.ReadLimited(resp.Body, up.maxPage, what)
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
		up.log.Warn("upstream page lists files the mirror leaves out", "page", redact.BareString(pageURL), "count", len(dropped), "first", dropped[0])
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
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		names, err := up.readIndex(resp, u)
		resp.Body.Close()
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
	what := "index of projects " + redact.BareString(u)
	data, err := pull.ReadLimited(resp.Body, up.maxIndex, what)
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

// fetchFile opens a file at u, an absolute URL from a stored page. Its
// body announces its length (a Size method) when upstream did.
func (up *upstream) fetchFile(ctx context.Context, u string) (io.ReadCloser, error) {
	resp, err := up.get(ctx, u, "", "")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, pull.NotFound(fmt.Sprintf("upstream has no file %s", redact.BareString(u)))
	}
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}
