package npm

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"

	"github.com/gomirror/gomirror/internal/pull"
)

// userAgent identifies the mirror to upstream registries.
const userAgent = "gomirror (npm mirror)"

// sizedBody is an upstream body whose length is announced, for the core.
type sizedBody struct {
	io.Reader
	closer io.Closer
	size   int64
}

func (b *sizedBody) Close() error { return b.closer.Close() }
func (b *sizedBody) Size() int64  { return b.size }

// body returns resp's body, announcing its size when upstream did, after
// prefix when it is not empty.
func body(resp *http.Response, prefix []byte) io.ReadCloser {
	if resp.ContentLength < 0 {
		return struct {
			io.Reader
			io.Closer
		}{io.MultiReader(strings.NewReader(string(prefix)), resp.Body), resp.Body}
	}
	return &sizedBody{
		Reader: io.MultiReader(strings.NewReader(string(prefix)), resp.Body),
		closer: resp.Body,
		size:   int64(len(prefix)) + resp.ContentLength,
	}
}

// upstreamFor returns the registry that serves name, and whether its
// scope is routed to a registry of its own.
func (h *Handler) upstreamFor(name string) (Upstream, bool) {
	if up, ok := h.cfg.Scopes[scopeOf(name)]; ok {
		return up, true
	}
	return h.cfg.Upstream, false
}

// escapeName returns name as registries take it in a path: a scoped
// name's slash is escaped.
func escapeName(name string) string {
	return strings.Replace(name, "/", "%2f", 1)
}

// get sends a GET to rawURL, with up's token when rawURL is on up's host.
func (h *Handler) get(ctx context.Context, rawURL string, up Upstream, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", pull.ErrUpstream, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", userAgent)
	h.authorize(req, up)
	resp, err := h.cfg.Client.Do(req)
	if err != nil {
		return nil, upstreamErr(err)
	}
	return resp, nil
}

// authorize adds up's token to req when req goes to up's host.
func (h *Handler) authorize(req *http.Request, up Upstream) {
	if up.Token == "" {
		return
	}
	if u, err := url.Parse(up.URL); err == nil && strings.EqualFold(u.Host, req.URL.Host) {
		req.Header.Set("Authorization", "Bearer "+up.Token)
	}
}

// upstreamErr marks a failure to reach an upstream, keeping timeouts
// recognizable.
func upstreamErr(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %v", pull.ErrUpstream, err)
}

// statusErr turns an upstream answer other than 200 into an error: 404
// and 410 mean not found, everything else is the upstream's failure.
func statusErr(resp *http.Response, what string) error {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotFound, http.StatusGone:
		return pull.NotFound(what + ": not found upstream")
	}
	return fmt.Errorf("%w: %s: upstream answered %s", pull.ErrUpstream, what, resp.Status)
}

// fetchPackument fetches name's full packument, in its stored form. prev,
// the stored copy (nil when there is none), gives the validators to
// revalidate it with: an upstream 304 returns pull.ErrNotModified.
func (h *Handler) fetchPackument(ctx context.Context, name string, prev io.Reader) (io.ReadCloser, error) {
	up, _ := h.upstreamFor(name)
	u := up.URL + escapeName(name)
	hdr := http.Header{"Accept": {"application/json"}}
	if prev != nil {
		line, err := bufio.NewReaderSize(prev, maxHeaderLine+1).ReadSlice('\n')
		var old storedHeader
		if err == nil && json.Unmarshal(line, &old) == nil && old.URL == u {
			if old.ETag != "" {
				hdr.Set("If-None-Match", old.ETag)
			} else if old.LastModified != "" {
				hdr.Set("If-Modified-Since", old.LastModified)
			}
		}
	}
	resp, err := h.get(ctx, u, up, hdr)
	if err != nil {
		return nil, fmt.Errorf("packument of %s: %w", name, err)
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && prev != nil:
		resp.Body.Close()
		return nil, pull.ErrNotModified
	case resp.StatusCode != http.StatusOK:
		return nil, statusErr(resp, "packument of "+name)
	}
	h0 := storedHeader{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), URL: u}
	return body(resp, encodeHeader(h0)), nil
}

// fetchTarball fetches the tarball that d names. A routed scope's tarballs
// are fetched only from its own registry's host.
func (h *Handler) fetchTarball(ctx context.Context, name string, d *dist) (io.ReadCloser, error) {
	up, routed := h.upstreamFor(name)
	what := fmt.Sprintf("tarball of %s@%s", name, d.version)
	if routed {
		tu, err1 := url.Parse(d.tarball)
		uu, err2 := url.Parse(up.URL)
		if err1 != nil || err2 != nil || !strings.EqualFold(tu.Host, uu.Host) {
			return nil, fmt.Errorf("%w: %s: its URL is not on the registry of %s", pull.ErrRefused, what, scopeOf(name))
		}
	}
	resp, err := h.get(ctx, d.tarball, up, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusErr(resp, what)
	}
	return body(resp, nil), nil
}

// fetchKeys fetches the default upstream's signing keys.
func (h *Handler) fetchKeys(ctx context.Context) (io.ReadCloser, error) {
	up := h.cfg.Upstream
	resp, err := h.get(ctx, up.URL+"-/npm/v1/keys", up, http.Header{"Accept": {"application/json"}})
	if err != nil {
		return nil, fmt.Errorf("signing keys: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, statusErr(resp, "signing keys")
	}
	return body(resp, nil), nil
}
