package oci

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// pullImage pulls ref through the mirror with go-containerregistry's
// client, checking every blob against its digest, and returns its digest.
func pullImage(t *testing.T, ref name.Reference) v1.Hash {
	t.Helper()
	img, err := remote.Image(ref)
	if err != nil {
		t.Fatalf("pull %s: %v", ref, err)
	}
	if err := validate.Image(img); err != nil {
		t.Fatalf("pulled %s is not valid: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestPullSingleArch(t *testing.T) {
	e := newEnv(t, nil)
	img := randomImage(t, 4096, 3)
	e.hub.pushImage(t, "library/alpine:3.20", img)
	want, _ := img.Digest()

	for _, ref := range []string{"alpine:3.20", "library/alpine:3.20", "alpine@" + want.String()} {
		t.Run(ref, func(t *testing.T) {
			if got := pullImage(t, e.ref(t, ref)); got != want {
				t.Errorf("got digest %s, want %s", got, want)
			}
		})
	}
	layers, _ := img.Layers()
	for _, l := range layers {
		d, _ := l.Digest()
		if n := e.hub.count("GET /v2/library/alpine/blobs/" + d.String()); n != 1 {
			t.Errorf("layer %s fetched upstream %d times over three pulls, want 1", d, n)
		}
		if !e.stored(t, "oci/blobs/docker.io/sha256/"+d.Hex) {
			t.Errorf("layer %s not stored", d)
		}
	}
	if !e.stored(t, "oci/manifests/docker.io/sha256/"+want.Hex) {
		t.Errorf("manifest fetched by tag not stored by its digest")
	}

	// HEAD and GET answers carry the digest, the length and the
	// manifest's own media type.
	raw, _ := img.RawManifest()
	mt, _ := img.MediaType()
	for _, method := range []string{http.MethodHead, http.MethodGet} {
		for _, ref := range []string{"3.20", want.String()} {
			resp, body := e.do(t, method, "/v2/alpine/manifests/"+ref, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: got %s, want 200", method, ref, resp.Status)
			}
			if got := resp.Header.Get("Docker-Content-Digest"); got != want.String() {
				t.Errorf("%s %s: Docker-Content-Digest %q, want %q", method, ref, got, want)
			}
			if got := resp.Header.Get("Content-Type"); got != string(mt) {
				t.Errorf("%s %s: Content-Type %q, want %q", method, ref, got, mt)
			}
			if resp.ContentLength != int64(len(raw)) {
				t.Errorf("%s %s: Content-Length %d, want %d", method, ref, resp.ContentLength, len(raw))
			}
			if method == http.MethodGet && string(body) != string(raw) {
				t.Errorf("%s %s: body differs from the pushed manifest", method, ref)
			}
		}
	}
	cfgName, _ := img.ConfigName()
	resp, _ := e.do(t, http.MethodHead, "/v2/alpine/blobs/"+cfgName.String(), nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Content-Digest") != cfgName.String() || resp.ContentLength <= 0 {
		t.Errorf("HEAD config blob: got %s, digest %q, length %d", resp.Status, resp.Header.Get("Docker-Content-Digest"), resp.ContentLength)
	}
}

func TestPullMultiArch(t *testing.T) {
	e := newEnv(t, nil)
	idx, err := random.Index(2048, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	e.ghcr.pushIndex(t, "owner/tool:v1", idx)
	want, _ := idx.Digest()

	for _, ref := range []string{"ghcr.io/owner/tool:v1", "ghcr.io/owner/tool@" + want.String()} {
		t.Run(ref, func(t *testing.T) {
			got, err := remote.Index(e.ref(t, ref))
			if err != nil {
				t.Fatalf("pull index: %v", err)
			}
			if err := validate.Index(got); err != nil {
				t.Fatalf("pulled index is not valid: %v", err)
			}
			d, _ := got.Digest()
			if d != want {
				t.Errorf("got digest %s, want %s", d, want)
			}
			mt, _ := got.MediaType()
			if mt != types.OCIImageIndex {
				t.Errorf("got media type %s, want %s", mt, types.OCIImageIndex)
			}
		})
	}
	im, _ := idx.IndexManifest()
	for _, m := range im.Manifests {
		got := pullImage(t, e.ref(t, "ghcr.io/owner/tool@"+m.Digest.String()))
		if got != m.Digest {
			t.Errorf("child: got %s, want %s", got, m.Digest)
		}
	}
	if n := e.hub.countPrefix("GET "); n != 0 {
		t.Errorf("docker.io got %d requests for a ghcr.io image", n)
	}
}

// TestDockerManifestList pulls a Docker manifest list of Docker schema 2
// manifests, whose media types must survive the mirror.
func TestDockerManifestList(t *testing.T) {
	e := newEnv(t, nil)
	img := randomImage(t, 1024, 1)
	if mt, _ := img.MediaType(); mt != types.DockerManifestSchema2 {
		t.Fatalf("random image has media type %s, want Docker schema 2", mt)
	}
	list := mutate.IndexMediaType(mutate.AppendManifests(empty.Index, mutate.IndexAddendum{
		Add:        img,
		Descriptor: v1.Descriptor{MediaType: types.DockerManifestSchema2, Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}},
	}), types.DockerManifestList)
	e.hub.pushIndex(t, "library/busybox:latest", list)
	imgD, _ := img.Digest()
	listD, _ := list.Digest()
	for _, tt := range []struct {
		ref    string
		digest v1.Hash
		mt     types.MediaType
	}{
		{"latest", listD, types.DockerManifestList},
		{listD.String(), listD, types.DockerManifestList},
		{imgD.String(), imgD, types.DockerManifestSchema2},
	} {
		resp, _ := e.do(t, http.MethodGet, "/v2/busybox/manifests/"+tt.ref, nil)
		if got := resp.Header.Get("Content-Type"); got != string(tt.mt) {
			t.Errorf("%s: got Content-Type %q, want %q", tt.ref, got, tt.mt)
		}
		if got := resp.Header.Get("Docker-Content-Digest"); got != tt.digest.String() {
			t.Errorf("%s: got digest %q, want %s", tt.ref, got, tt.digest)
		}
	}
	got, err := remote.Image(e.ref(t, "busybox:latest"), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "arm64"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(got); err != nil {
		t.Fatal(err)
	}
	if d, _ := got.Digest(); d != imgD {
		t.Errorf("platform pull: got %s, want %s", d, imgD)
	}
}

func TestRouting(t *testing.T) {
	e := newEnv(t, nil)
	hubImg := randomImage(t, 512, 1)
	ghImg := randomImage(t, 512, 1)
	e.hub.pushImage(t, "library/nginx:1", hubImg)
	e.ghcr.pushImage(t, "owner/app:1", ghImg)
	hubD, _ := hubImg.Digest()
	ghD, _ := ghImg.Digest()

	tests := []struct {
		name, path string
		want       v1.Hash
	}{
		{"default registry, library added", "/v2/nginx/manifests/1", hubD},
		{"default registry, full name", "/v2/library/nginx/manifests/1", hubD},
		{"ns=docker.io", "/v2/library/nginx/manifests/1?ns=docker.io", hubD},
		{"ns=docker.io, library added", "/v2/nginx/manifests/1?ns=docker.io", hubD},
		{"ns=index.docker.io", "/v2/nginx/manifests/1?ns=index.docker.io", hubD},
		{"ns=ghcr.io", "/v2/owner/app/manifests/1?ns=ghcr.io", ghD},
		{"path prefix ghcr.io", "/v2/ghcr.io/owner/app/manifests/1", ghD},
		{"path prefix docker.io", "/v2/docker.io/library/nginx/manifests/1", hubD},
		{"path prefix docker.io, library added", "/v2/docker.io/nginx/manifests/1", hubD},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := e.do(t, http.MethodGet, tt.path, nil)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("got %s %s, want 200", resp.Status, body)
			}
			if got := resp.Header.Get("Docker-Content-Digest"); got != tt.want.String() {
				t.Errorf("got digest %s, want %s", got, tt.want)
			}
		})
	}
	// go-containerregistry's client, through the path prefix.
	if got := pullImage(t, e.ref(t, "ghcr.io/owner/app:1")); got != ghD {
		t.Errorf("pull through the path prefix: got %s, want %s", got, ghD)
	}
	for _, p := range []string{"/v2/quay.io/org/img/manifests/1", "/v2/org/img/manifests/1?ns=quay.io"} {
		resp, body := e.do(t, http.MethodGet, p, nil)
		if resp.StatusCode != http.StatusForbidden || specError(t, body) != CodeDenied || !strings.Contains(string(body), "quay.io is not mirrored") {
			t.Errorf("%s: got %s %s, want 403 DENIED naming quay.io", p, resp.Status, body)
		}
	}
	// /v2/ answers as a registry does, for the Docker daemon's check.
	resp, body := e.do(t, http.MethodGet, "/v2/", nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Distribution-API-Version") != "registry/2.0" || string(body) != "{}" {
		t.Errorf("GET /v2/: got %s %q", resp.Status, body)
	}
}
