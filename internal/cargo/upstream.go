package cargo

import (
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

// fetchStored fetches rawURL in its stored form (see pull.StoredBody).
// prev, the stored copy (nil when there is none), gives the validators to
// revalidate it with: an upstream 304 returns pull.ErrNotModified.
func (h *Handler) fetchStored(ctx context.Context, rawURL, what string, prev io.Reader) (io.ReadCloser, error) {
	hdr := http.Header{}
	pull.Revalidate(hdr, prev, rawURL)
	resp, err := h.up.GetResponse(ctx, rawURL, hdr)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		return nil, err
	}
	return pull.StoredBody(resp, rawURL), nil
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
	_, body, err := pull.SplitStored(data)
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
	resp, err := h.up.GetResponse(ctx, raw, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return resp.Body, nil
}
