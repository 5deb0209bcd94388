package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/mod/semver"
)

// OCIImages is the oci kind: for each image repository, it lists the
// tags, keeps those that pass the filter, and fetches their manifests
// (for an index, the manifests of the chosen platforms too) and blobs.
type OCIImages struct {
	Images []OCIImage `yaml:"images" json:"images"`
}

// OCIImage is one repository to sync.
type OCIImage struct {
	// Repository names the repository: "library/alpine" (or "alpine") on
	// Docker Hub, or "ghcr.io/owner/name" with the registry's host first.
	Repository string `yaml:"repository" json:"repository"`
	// Tags is a regular expression a tag must match in full, such as
	// `3\.2[0-9]`. Empty matches every tag.
	Tags string `yaml:"tags" json:"tags,omitempty"`
	// Semver keeps only tags that are semantic versions (with or without
	// a leading v, "3.20" counting as 3.20.0), without pre-release.
	Semver bool `yaml:"semver" json:"semver,omitempty"`
	// Newest, when above zero, keeps only that many tags: the highest
	// versions with Semver, else the last in the registry's order.
	Newest int `yaml:"newest" json:"newest,omitempty"`
	// Platforms lists the platforms of an index to take, such as
	// linux/amd64 or linux/arm64/v8. Empty takes every platform but
	// unknown/unknown (attestations).
	Platforms []string `yaml:"platforms" json:"platforms,omitempty"`

	tags *regexp.Regexp
}

func (o *OCIImages) check() error {
	if len(o.Images) == 0 {
		return errors.New("images: empty")
	}
	for i := range o.Images {
		im := &o.Images[i]
		if im.Repository == "" || strings.Contains(im.Repository, "..") || strings.HasPrefix(im.Repository, "/") {
			return fmt.Errorf("images: repository %q: want library/alpine or host/owner/name", im.Repository)
		}
		if im.Tags != "" {
			re, err := regexp.Compile("^(?:" + im.Tags + ")$")
			if err != nil {
				return fmt.Errorf("images: %s: tags: %w", im.Repository, err)
			}
			im.tags = re
		}
		if im.Newest < 0 {
			return fmt.Errorf("images: %s: newest: negative", im.Repository)
		}
	}
	return nil
}

// Media types of manifests.
const (
	ociIndex       = "application/vnd.oci.image.index.v1+json"
	ociManifest    = "application/vnd.oci.image.manifest.v1+json"
	dockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	dockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
)

var manifestAccept = strings.Join([]string{ociIndex, ociManifest, dockerList, dockerManifest}, ", ")

// ociDescriptor is the part of a descriptor a job reads.
type ociDescriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Platform  *struct {
		OS           string `json:"os"`
		Architecture string `json:"architecture"`
		Variant      string `json:"variant"`
	} `json:"platform"`
}

// ociManifestDoc is the part of a manifest or index a job reads.
type ociManifestDoc struct {
	MediaType string          `json:"mediaType"`
	Config    *ociDescriptor  `json:"config"`
	Layers    []ociDescriptor `json:"layers"`
	Manifests []ociDescriptor `json:"manifests"`
}

// digestRE matches the digests a job will put in a path.
var digestRE = regexp.MustCompile(`^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$`)

// repoPath returns the path prefix of repository on the mirror.
func repoPath(repo string) string {
	first, _, _ := strings.Cut(repo, "/")
	if !strings.ContainsAny(first, ".:") && first != "localhost" && !strings.Contains(repo, "/") {
		repo = "library/" + repo // Docker Hub's official images
	}
	return "/v2/" + repo
}

// Sync syncs each image in turn. An image whose tags cannot be listed,
// or none of whose tags passes the filter, counts as a failed request: the
// run is then partial, or failed if no image came.
func (o *OCIImages) Sync(ctx context.Context, s *Session) error {
	var errs []error
	for i := range o.Images {
		if err := o.Images[i].sync(ctx, s); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == len(o.Images) {
		return fmt.Errorf("no image synced: %w", errors.Join(errs...))
	}
	return nil
}

// sync syncs one image; its error is already counted by s.
func (im *OCIImage) sync(ctx context.Context, s *Session) error {
	base := repoPath(im.Repository)
	tags, err := listTags(ctx, s, base)
	if err != nil {
		return err
	}
	tags = im.choose(tags)
	if len(tags) == 0 {
		err := fmt.Errorf("%s: no tag matches the job's filter", im.Repository)
		s.fail(err)
		return err
	}
	s.Each(ctx, len(tags), func(ctx context.Context, i int) {
		im.syncTag(ctx, s, base, tags[i])
	})
	return nil
}

// listTags reads every page of base's tag list.
func listTags(ctx context.Context, s *Session, base string) ([]string, error) {
	var tags []string
	next := base + "/tags/list"
	for page := 0; next != "" && page < 100; page++ {
		resp, err := s.Get(ctx, next, "application/json")
		if err != nil {
			return nil, err
		}
		var list struct {
			Tags []string `json:"tags"`
		}
		if err := json.Unmarshal(resp.Body, &list); err != nil {
			err = fmt.Errorf("GET %s: %w", next, err)
			s.fail(err)
			return nil, err
		}
		tags = append(tags, list.Tags...)
		next = nextLink(resp.Header.Get("Link"), resp.URL)
	}
	return tags, nil
}

// nextLink returns the path and query of a Link: <...>; rel="next" header
// resolved against u, or "" when there is none or it is not an http URL.
func nextLink(link string, u *url.URL) string {
	target, params, ok := strings.Cut(link, ";")
	if !ok || !strings.Contains(params, `rel="next"`) {
		return ""
	}
	target = strings.Trim(strings.TrimSpace(target), "<>")
	ref, err := url.Parse(target)
	if err != nil {
		return ""
	}
	// The link may name the mirror by its public host: only its path and
	// query matter, for a request to the handler in process.
	res := u.ResolveReference(ref)
	if res.Opaque != "" || (res.Scheme != "http" && res.Scheme != "https") || !strings.HasPrefix(res.EscapedPath(), "/") {
		return ""
	}
	return res.RequestURI()
}

// choose returns the tags that pass im's filter.
func (im *OCIImage) choose(tags []string) []string {
	var out []string
	for _, t := range tags {
		if im.tags != nil && !im.tags.MatchString(t) {
			continue
		}
		if im.Semver && (tagSemver(t) == "" || semver.Prerelease(tagSemver(t)) != "") {
			continue
		}
		out = append(out, t)
	}
	if im.Semver {
		slices.SortStableFunc(out, func(a, b string) int { return semver.Compare(tagSemver(b), tagSemver(a)) })
	} else {
		slices.Reverse(out) // the registry lists oldest first, by convention
	}
	if im.Newest > 0 {
		out = out[:min(im.Newest, len(out))]
	}
	return out
}

// tagSemver returns tag as a canonical semantic version, or "".
func tagSemver(tag string) string {
	v := tag
	if !strings.HasPrefix(v, "v") {
		v = "v" + v
	}
	if !semver.IsValid(v) {
		return ""
	}
	return semver.Canonical(v)
}

// syncTag fetches the manifest of tag and what it refers to.
func (im *OCIImage) syncTag(ctx context.Context, s *Session, base, tag string) {
	resp, err := s.Get(ctx, base+"/manifests/"+url.PathEscape(tag), manifestAccept)
	if err != nil {
		return
	}
	doc, err := parseManifest(resp)
	if err != nil {
		s.fail(fmt.Errorf("%s:%s: %w", im.Repository, tag, err))
		return
	}
	if len(doc.Manifests) == 0 {
		im.syncImage(ctx, s, base, doc)
		return
	}
	for _, d := range doc.Manifests {
		if !im.wantPlatform(d) || !digestRE.MatchString(d.Digest) {
			continue
		}
		key := "oci:" + base + "@" + d.Digest
		if s.Seen(key) {
			continue
		}
		resp, err := s.Get(ctx, base+"/manifests/"+d.Digest, manifestAccept)
		if err != nil {
			continue
		}
		sub, err := parseManifest(resp)
		if err != nil {
			s.fail(fmt.Errorf("%s@%s: %w", im.Repository, d.Digest, err))
			continue
		}
		if im.syncImage(ctx, s, base, sub) {
			s.MarkSeen(key)
		}
	}
}

// syncImage fetches the config and layers of one image manifest, and
// reports whether all came.
func (im *OCIImage) syncImage(ctx context.Context, s *Session, base string, doc *ociManifestDoc) bool {
	blobs := slices.Clone(doc.Layers)
	if doc.Config != nil {
		blobs = append(blobs, *doc.Config)
	}
	all := true
	for _, b := range blobs {
		if !digestRE.MatchString(b.Digest) {
			s.fail(fmt.Errorf("%s: blob with invalid digest %q", im.Repository, b.Digest))
			all = false
			continue
		}
		key := "oci:" + base + "/blobs/" + b.Digest
		if s.Seen(key) {
			continue
		}
		if s.Fetch(ctx, base+"/blobs/"+b.Digest, "") != nil {
			all = false
			continue
		}
		s.MarkSeen(key)
	}
	return all
}

// wantPlatform reports whether the index entry d is for a platform im
// takes.
func (im *OCIImage) wantPlatform(d ociDescriptor) bool {
	p := d.Platform
	if p == nil {
		return len(im.Platforms) == 0
	}
	name := p.OS + "/" + p.Architecture
	if len(im.Platforms) == 0 {
		return name != "unknown/unknown"
	}
	for _, want := range im.Platforms {
		if want == name || (p.Variant != "" && want == name+"/"+p.Variant) {
			return true
		}
	}
	return false
}

// parseManifest decodes a manifest or index response.
func parseManifest(resp *Response) (*ociManifestDoc, error) {
	var doc ociManifestDoc
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if doc.Config == nil && len(doc.Manifests) == 0 {
		return nil, errors.New("manifest: neither an image manifest nor an index")
	}
	return &doc, nil
}
