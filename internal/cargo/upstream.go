package cargo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"

	"github.com/gomirror/gomirror/internal/pull"
)

// userAgent identifies the mirror to upstream registries.
const userAgent = "gomirror (cargo mirror)"

// sizedBody is an upstream body after a stored header, whose length is
// announced when the upstream announced its own.
type sizedBody struct {
	io.Reader
	closer io.Closer
	size   int64
}

func (b *sizedBody) Close() error { return b.closer.Close() }
func (b *sizedBody) Size() int64  { return b.size }

// get sends a GET for rawURL through the upstream, which refuses
// redirects to other hosts.
func (h *Handler) get(ctx context.Context, rawURL string, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", pull.ErrUpstream, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", userAgent)
	return h.up.Do(ctx, req)
}

// fetchStored fetches rawURL in its stored form: a header line with its
// validators, then the body. prev, the stored copy (nil when there is
// none), gives the validators to revalidate it with: an upstream 304
// returns pull.ErrNotModified.
func (h *Handler) fetchStored(ctx context.Context, rawURL, what string, prev io.Reader) (io.ReadCloser, error) {
	hdr := http.Header{}
	if prev != nil {
		line, err := bufio.NewReaderSize(prev, maxHeaderLine+1).ReadSlice('\n')
		var old storedHeader
		if err == nil && json.Unmarshal(line, &old) == nil && old.URL == rawURL {
			if old.ETag != "" {
				hdr.Set("If-None-Match", old.ETag)
			} else if old.LastModified != "" {
				hdr.Set("If-Modified-Since", old.LastModified)
			}
		}
	}
	resp, err := h.get(ctx, rawURL, hdr)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		return nil, err
	}
	head := encodeHeader(storedHeader{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified"), URL: rawURL})
	b := &sizedBody{Reader: io.MultiReader(bytes.NewReader(head), resp.Body), closer: resp.Body, size: -1}
	if s, ok := resp.Body.(interface{ Size() int64 }); ok && s.Size() >= 0 {
		b.size = int64(len(head)) + s.Size()
	}
	return b, nil
}

// dlTemplate returns the upstream's dl template: from its config.json,
// or, when it has none, the configured download root.
func (h *Handler) dlTemplate(ctx context.Context) (string, error) {
	e, err := h.cache.Open(ctx, h.configArtifact())
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return h.cfg.Download, nil
	case err != nil:
		return "", fmt.Errorf("the upstream's config.json: %w", err)
	}
	defer e.Body.Close()
	data, err := io.ReadAll(io.LimitReader(e.Body, 2<<20))
	if err != nil {
		return "", fmt.Errorf("reading the stored config.json: %w", err)
	}
	_, body, err := splitStored(data)
	if err != nil {
		return "", err
	}
	var c config
	if err := json.Unmarshal(body, &c); err != nil {
		return "", fmt.Errorf("%w: the upstream's config.json: %w", pull.ErrRefused, err)
	}
	if c.DL == "" {
		return h.cfg.Download, nil
	}
	return c.DL, nil
}

// fetchCrate fetches the .crate of rel from the upstream's dl template,
// only when it is on the index's or the download's host.
func (h *Handler) fetchCrate(ctx context.Context, rel release) (io.ReadCloser, error) {
	what := fmt.Sprintf("crate %s %s", rel.Name, rel.Vers)
	dl, err := h.dlTemplate(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	raw := expandDL(dl, rel)
	u, err := url.Parse(raw)
	if err != nil || !allowed(h.hosts, u) {
		return nil, fmt.Errorf("%w: %s: the upstream's download URL %q is not on the index's or the download host", pull.ErrRefused, what, trunc(raw))
	}
	resp, err := h.get(ctx, raw, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return resp.Body, nil
}
