package oci

import (
	"context"
	"encoding/json"
	"errors"
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

// upstreamErr names what a failed request was for. An answer that is
// not a success becomes not found (404), an upstreamError that keeps its
// status (401, 403, 429), or a failure, with the registry's own message
// when its body has one.
func (c *client) upstreamErr(err error, what string) error {
	var se *pull.StatusError
	if !errors.As(err, &se) {
		return err
	}
	msg := upstreamMessage(se.Body)
	status := fmt.Sprintf("%d %s", se.Code, http.StatusText(se.Code))
	switch se.Code {
	case http.StatusNotFound:
		return pull.NotFound(fmt.Sprintf("%s: not found on %s%s", what, c.reg.Host, msg))
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		return &upstreamError{se.Code, fmt.Sprintf("%s: %s answered %s%s", what, c.reg.Host, status, msg)}
	default:
		return fmt.Errorf("%w: %s: %s answered %s%s", pull.ErrUpstream, what, c.reg.Host, status, msg)
	}
}

// upstreamMessage returns ": <message>" from a registry's JSON error body,
// or "".
func upstreamMessage(body []byte) string {
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil || len(eb.Errors) == 0 {
		return ""
	}
	e := eb.Errors[0]
	return ": " + pull.OneLine(e.Code+" "+e.Message)
}

// blob opens a blob of repo.
func (c *client) blob(ctx context.Context, repo string, d digest) (io.ReadCloser, error) {
	resp, err := c.do(ctx, http.MethodGet, "/v2/"+repo+"/blobs/"+d.String(), pullScope(repo), nil)
	if err != nil {
		return nil, c.upstreamErr(err, "blob "+c.reg.Host+"/"+repo+"@"+d.String())
	}
	return resp.Body, nil
}

// headManifest asks for the digest that ref (a tag) of repo resolves to.
// It returns "" when the registry answers without one.
func (c *client) headManifest(ctx context.Context, repo, ref string) (string, error) {
	hdr := http.Header{"Accept": {manifestAccept}}
	resp, err := c.do(ctx, http.MethodHead, "/v2/"+repo+"/manifests/"+ref, pullScope(repo), hdr)
	if err != nil {
		return "", c.upstreamErr(err, "manifest "+c.reg.Host+"/"+repo+":"+ref)
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
		return nil, "", "", c.upstreamErr(err, what)
	}
	defer resp.Body.Close()
	if data, err = pull.ReadLimited(resp.Body, limit, what); err != nil {
		return nil, "", "", err
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
		return nil, c.upstreamErr(err, "referrers of "+c.reg.Host+"/"+repo+"@"+d.String())
	}
	return resp.Body, nil
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
			return nil, c.upstreamErr(err, what)
		}
		// The limit is of the whole list, over every page.
		data, err := pull.ReadLimited(resp.Body, limit-total, what)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		total += int64(len(data))
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
