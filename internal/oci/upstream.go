package oci

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gomirror/gomirror/internal/pull"
)

// manifestAccept is the Accept header of manifest requests: every
// manifest and index type gomirror serves.
var manifestAccept = strings.Join([]string{
	string(types.OCIImageIndex),
	string(types.OCIManifestSchema1),
	string(types.DockerManifestList),
	string(types.DockerManifestSchema2),
	string(types.DockerManifestSchema1Signed),
	string(types.DockerManifestSchema1),
}, ", ")

// statusError turns an upstream answer that is not a success into an
// error: not found, denied, too many requests, or a failure. It closes the
// body.
func (c *client) statusError(resp *http.Response, what string) error {
	defer drain(resp)
	msg := upstreamMessage(resp)
	switch resp.StatusCode {
	case http.StatusNotFound:
		return pull.NotFound(fmt.Sprintf("%s: not found on %s%s", what, c.reg.Host, msg))
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		return &upstreamError{resp.StatusCode, fmt.Sprintf("%s: %s answered %s%s", what, c.reg.Host, resp.Status, msg)}
	default:
		return fmt.Errorf("%w: %s: %s answered %s%s", pull.ErrUpstream, what, c.reg.Host, resp.Status, msg)
	}
}

// upstreamMessage returns ": <message>" from a registry's JSON error body,
// or "".
func upstreamMessage(resp *http.Response) string {
	var body errorBody
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<10)).Decode(&body); err != nil || len(body.Errors) == 0 {
		return ""
	}
	e := body.Errors[0]
	return ": " + pull.OneLine(e.Code+" "+e.Message)
}

// sizedBody is an upstream body that announces its length to the core.
type sizedBody struct {
	io.ReadCloser
	size int64
}

func (b *sizedBody) Size() int64 { return b.size }

// body returns resp's body, announcing its Content-Length when it has one.
func body(resp *http.Response) io.ReadCloser {
	if resp.ContentLength >= 0 {
		return &sizedBody{resp.Body, resp.ContentLength}
	}
	return resp.Body
}

// blob opens a blob of repo.
func (c *client) blob(ctx context.Context, repo string, d digest) (io.ReadCloser, error) {
	resp, err := c.do(ctx, http.MethodGet, "/v2/"+repo+"/blobs/"+d.String(), pullScope(repo), nil)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.statusError(resp, "blob "+c.reg.Host+"/"+repo+"@"+d.String())
	}
	return body(resp), nil
}

// headManifest asks for the digest that ref (a tag) of repo resolves to.
// It returns "" when the registry answers without one.
func (c *client) headManifest(ctx context.Context, repo, ref string) (string, error) {
	hdr := http.Header{"Accept": {manifestAccept}}
	resp, err := c.do(ctx, http.MethodHead, "/v2/"+repo+"/manifests/"+ref, pullScope(repo), hdr)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", c.statusError(resp, "manifest "+c.reg.Host+"/"+repo+":"+ref)
	}
	drain(resp)
	return resp.Header.Get("Docker-Content-Digest"), nil
}

// manifest fetches a manifest of repo by tag or digest, with the media
// type and digest the registry names it by.
func (c *client) manifest(ctx context.Context, repo, ref string, limit int64) (data []byte, mediaType, claimed string, err error) {
	hdr := http.Header{"Accept": {manifestAccept}}
	what := "manifest " + c.reg.Host + "/" + repo + refSep(ref) + ref
	resp, err := c.do(ctx, http.MethodGet, "/v2/"+repo+"/manifests/"+ref, pullScope(repo), hdr)
	if err != nil {
		return nil, "", "", err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, "", "", c.statusError(resp, what)
	}
	defer resp.Body.Close()
	if resp.ContentLength > limit {
		return nil, "", "", fmt.Errorf("%w: %s: %d bytes, over the limit of %d", pull.ErrRefused, what, resp.ContentLength, limit)
	}
	data, err = io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, "", "", fmt.Errorf("%w: %s: %v", pull.ErrUpstream, what, err)
	}
	if int64(len(data)) > limit {
		return nil, "", "", fmt.Errorf("%w: %s: over the limit of %d bytes", pull.ErrRefused, what, limit)
	}
	return data, resp.Header.Get("Content-Type"), resp.Header.Get("Docker-Content-Digest"), nil
}

func refSep(ref string) string {
	if strings.Contains(ref, ":") {
		return "@"
	}
	return ":"
}

// referrers fetches the referrers index of a manifest of repo, unfiltered.
func (c *client) referrers(ctx context.Context, repo string, d digest) (io.ReadCloser, error) {
	hdr := http.Header{"Accept": {string(types.OCIImageIndex)}}
	resp, err := c.do(ctx, http.MethodGet, "/v2/"+repo+"/referrers/"+d.String(), pullScope(repo), hdr)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, c.statusError(resp, "referrers of "+c.reg.Host+"/"+repo+"@"+d.String())
	}
	return body(resp), nil
}

// tagsList is the body of a tags list answer.
type tagsList struct {
	Name string   `json:"name"`
	Tags []string `json:"tags"`
}

// maxTagPages bounds the pages of one tags list fetch.
const maxTagPages = 1000

// tags fetches the whole tags list of repo, following the registry's
// pagination, up to limit bytes of answers.
func (c *client) tags(ctx context.Context, repo string, limit int64) ([]string, error) {
	what := "tags of " + c.reg.Host + "/" + repo
	var all []string
	path := "/v2/" + repo + "/tags/list"
	var total int64
	for page := 0; path != ""; page++ {
		if page == maxTagPages {
			return nil, fmt.Errorf("%w: %s: more than %d pages", pull.ErrRefused, what, maxTagPages)
		}
		resp, err := c.do(ctx, http.MethodGet, path, pullScope(repo), nil)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, c.statusError(resp, what)
		}
		data, err := io.ReadAll(io.LimitReader(resp.Body, limit-total+1))
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", pull.ErrUpstream, what, err)
		}
		total += int64(len(data))
		if total > limit {
			return nil, fmt.Errorf("%w: %s: over the limit of %d bytes", pull.ErrRefused, what, limit)
		}
		var tl tagsList
		if err := json.Unmarshal(data, &tl); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", pull.ErrRefused, what, err)
		}
		all = append(all, tl.Tags...)
		path = nextPage(resp.Header.Get("Link"), repo)
	}
	return all, nil
}

// nextPage returns the path and query of a Link header's rel="next"
// target, when it stays on the registry's tags list of repo.
func nextPage(link, repo string) string {
	for part := range strings.SplitSeq(link, ",") {
		target, params, ok := strings.Cut(part, ";")
		if !ok || !strings.Contains(strings.ReplaceAll(params, " ", ""), `rel="next"`) {
			continue
		}
		target = strings.Trim(strings.TrimSpace(target), "<>")
		u, err := url.Parse(target)
		if err != nil || u.Path != "/v2/"+repo+"/tags/list" {
			return ""
		}
		if u.RawQuery == "" {
			return ""
		}
		return u.Path + "?" + u.RawQuery
	}
	return ""
}

// contentLength is the Content-Length header value of n.
func contentLength(n int64) string { return strconv.FormatInt(n, 10) }
