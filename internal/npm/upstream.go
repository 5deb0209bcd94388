package npm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/gomirror/gomirror/internal/pull"
)

// userAgent identifies the mirror to upstream registries.
const userAgent = "gomirror (npm mirror)"

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

// clientFor returns the upstream client of up: it fetches from up's host
// (and the allow-list's) and sends up's token to up's URLs.
func (h *Handler) clientFor(up Upstream) *pull.HTTPUpstream {
	h.clientsOnce.Do(func() {
		h.clients = make(map[string]*pull.HTTPUpstream)
		for _, u := range append([]Upstream{h.cfg.Upstream}, slices.Collect(maps.Values(h.cfg.Scopes))...) {
			var auth func(http.RoundTripper) http.RoundTripper
			if u.Token != "" {
				auth = pull.StaticAuth(pull.Bearer(origin(u.URL), u.Token))
			}
			c := h.cfg.HTTPUpstream.For([]string{u.URL}, auth)
			c.UserAgent = userAgent
			h.clients[u.URL+"\x00"+u.Token] = c
		}
	})
	return h.clients[up.URL+"\x00"+up.Token]
}

// origin returns the scheme and host of a registry URL: its token goes
// to every URL on its host, as npm sends it.
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	return u.Scheme + "://" + u.Host + "/"
}

// statusErr names what a failed request was for; "not found" keeps the
// registry's own wording.
func statusErr(err error, what string) error {
	if errors.Is(err, fs.ErrNotExist) {
		return pull.NotFound(what + ": not found upstream")
	}
	return fmt.Errorf("%s: %w", what, err)
}

// fetchPackument fetches name's full packument, in its stored form. prev,
// the stored copy (nil when there is none), gives the validators to
// revalidate it with: an upstream 304 returns pull.ErrNotModified.
func (h *Handler) fetchPackument(ctx context.Context, name string, prev io.Reader) (io.ReadCloser, error) {
	up, _ := h.upstreamFor(name)
	u := up.URL + escapeName(name)
	hdr := http.Header{"Accept": {"application/json"}}
	pull.Revalidate(hdr, prev, u)
	resp, err := h.clientFor(up).GetResponse(ctx, u, hdr)
	switch {
	case errors.Is(err, pull.ErrNotModified) && prev != nil:
		return nil, pull.ErrNotModified
	case err != nil:
		return nil, statusErr(err, "packument of "+name)
	}
	return pull.StoredBody(resp, u), nil
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
	resp, err := h.clientFor(up).GetResponse(ctx, d.tarball, nil)
	if err != nil {
		return nil, statusErr(err, what)
	}
	return resp.Body, nil
}

// fetchKeys fetches the default upstream's signing keys.
func (h *Handler) fetchKeys(ctx context.Context) (io.ReadCloser, error) {
	up := h.cfg.Upstream
	resp, err := h.clientFor(up).GetResponse(ctx, up.URL+"-/npm/v1/keys", http.Header{"Accept": {"application/json"}})
	if err != nil {
		return nil, statusErr(err, "signing keys")
	}
	return resp.Body, nil
}
