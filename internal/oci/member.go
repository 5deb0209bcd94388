package oci

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"

	"github.com/gomirror/gomirror/internal/pull"
)

// Blobs and manifests are stored once per registry, by digest, so that
// every repository that shares a layer shares its copy. A digest is only
// served under a repository once that repository has been seen to hold
// it: a manifest of that repository references it, or the upstream
// answered for that repository. Each such fact is a small membership
// record in the store, by repository and digest, filled through the core
// like any artifact, so that the upstream's "not found" for a made-up
// repository is cached for that repository alone, never for the digest
// across the registry.

// memberName is the store name of the record that repository req.name()
// holds digest d. Repository components never start with "_".
func memberName(req *request, d digest) string {
	return "oci/members/" + req.name() + "/_" + d.hash.Algorithm + "/" + d.hash.Hex
}

// memberRecord is what a membership record holds, for people reading the
// store.
type memberRecord struct {
	Repository string `json:"repository"`
	Digest     string `json:"digest"`
	Via        string `json:"via"` // "upstream", or "manifest sha256:..." that references it
}

// maxKnown bounds the in-memory sets of known facts.
const maxKnown = 50_000

// known is a bounded set of facts already established in this process,
// which spares a store lookup per request. It is safe for concurrent use.
type known struct {
	mu  sync.Mutex
	set map[string]struct{}
}

func (k *known) has(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, ok := k.set[key]
	return ok
}

func (k *known) add(key string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.set == nil || len(k.set) >= maxKnown {
		k.set = map[string]struct{}{}
	}
	k.set[key] = struct{}{}
}

// member makes sure that req's repository is known to hold d, asking its
// upstream (a HEAD of the manifest or the blob) when no record says so,
// unless via names what proves it already ("manifest sha256:..." that
// references d, or "tag" for the digest a tag of the repository resolved
// to). An error matching fs.ErrNotExist means the repository does not
// hold d; that answer is cached for this repository only.
func (h *Handler) member(ctx context.Context, c *client, req *request, d digest, k kind, via string) error {
	name := memberName(req, d)
	if h.members.has(name) {
		return nil
	}
	a := &pull.Artifact{
		Ecosystem:   "oci",
		Kind:        "member",
		Name:        name,
		ContentType: "application/json",
		MaxSize:     4 << 10,
		Fetch: func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
			how := via
			if how == "" {
				var err error
				if k == kindBlob {
					err = c.headBlob(ctx, req.repo, d)
				} else {
					_, err = c.headManifest(ctx, req.repo, d.String())
				}
				if err != nil {
					return nil, err
				}
				how = "upstream"
			}
			out, _ := json.Marshal(memberRecord{Repository: req.name(), Digest: d.String(), Via: how})
			return pull.BytesBody(out), nil
		},
	}
	if _, err := h.cache.Prefetch(ctx, a); err != nil {
		return err
	}
	h.members.add(name)
	return nil
}

// memberChildren records that req's repository holds what manifest d
// (data) references: its config and layers, or the manifests of an
// index. It is done once per repository and manifest in the process's
// life; a record that cannot be written leaves the digest to be asked of
// the upstream when it is requested.
func (h *Handler) memberChildren(ctx context.Context, c *client, req *request, d digest, data []byte) {
	key := memberName(req, d) + "/children"
	if h.members.has(key) {
		return
	}
	var m struct {
		Config    *struct{ Digest string }  `json:"config"`
		Layers    []struct{ Digest string } `json:"layers"`
		Manifests []struct{ Digest string } `json:"manifests"`
		FSLayers  []struct {
			BlobSum string `json:"blobSum"`
		} `json:"fsLayers"`
	}
	if json.Unmarshal(data, &m) != nil {
		return
	}
	var refs []string
	if m.Config != nil {
		refs = append(refs, m.Config.Digest)
	}
	for _, l := range m.Layers {
		refs = append(refs, l.Digest)
	}
	for _, l := range m.Manifests {
		refs = append(refs, l.Digest)
	}
	for _, l := range m.FSLayers {
		refs = append(refs, l.BlobSum)
	}
	via := "manifest " + d.String()
	for _, ref := range refs {
		cd, perr := parseDigest(ref)
		if perr != nil {
			continue
		}
		if err := h.member(ctx, c, req, cd, kindBlob, via); err != nil {
			h.log.WarnContext(ctx, "oci: recording what a manifest references", "repository", req.name(), "digest", ref, "err", err)
			return
		}
	}
	h.members.add(key)
}

// headBlob asks repo's registry whether it holds blob d.
func (c *client) headBlob(ctx context.Context, repo string, d digest) error {
	resp, err := c.do(ctx, http.MethodHead, "/v2/"+repo+"/blobs/"+d.String(), pullScope(repo), nil)
	if err != nil {
		return c.upstreamErr(err, "blob "+c.reg.Host+"/"+repo+"@"+d.String())
	}
	drain(resp)
	return nil
}
