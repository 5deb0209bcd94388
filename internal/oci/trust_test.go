package oci

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestTokenFlow(t *testing.T) {
	e := newEnv(t, func(e *env, c *Config) { c.ManifestTTL = time.Nanosecond })
	e.hub.expiresIn = 600
	e.hub.pushImage(t, "library/one:1", randomImage(t, 1024, 2))
	e.hub.pushImage(t, "library/two:1", randomImage(t, 1024, 2))

	pullImage(t, e.ref(t, "one:1"))
	if n := e.hub.issued.Load(); n != 1 {
		t.Errorf("after one pull: %d tokens issued, want 1 (one scope)", n)
	}
	pullImage(t, e.ref(t, "two:1"))
	if n := e.hub.issued.Load(); n != 2 {
		t.Errorf("after a pull of a second repository: %d tokens issued, want 2", n)
	}
	// The tag is past its TTL: each pull refreshes it upstream with the
	// cached token.
	heads := e.hub.count("HEAD /v2/library/one/manifests/1")
	pullImage(t, e.ref(t, "one:1"))
	if got := e.hub.count("HEAD /v2/library/one/manifests/1"); got != heads+1 {
		t.Fatalf("the refresh made %d HEADs, want 1", got-heads)
	}
	if n := e.hub.issued.Load(); n != 2 {
		t.Errorf("a refresh within the token's life: %d tokens issued, want still 2", n)
	}
	// Past its expiry the token is replaced.
	e.clock.Advance(601 * time.Second)
	pullImage(t, e.ref(t, "one:1"))
	if n := e.hub.issued.Load(); n != 3 {
		t.Errorf("after the token expired: %d tokens issued, want 3", n)
	}
	// A token the registry stops accepting early is replaced once.
	e.hub.mu.Lock()
	clear(e.hub.tokens)
	e.hub.mu.Unlock()
	pullImage(t, e.ref(t, "one:1"))
	if n := e.hub.issued.Load(); n != 4 {
		t.Errorf("after the registry dropped its tokens: %d tokens issued, want 4", n)
	}
}

func TestTokenFlowCredentials(t *testing.T) {
	tests := []struct {
		name       string
		user, pass string
		wantStatus int
	}{
		{"right credentials", "robot", "s3cret", http.StatusOK},
		{"wrong password", "robot", "wrong", http.StatusForbidden},
		{"anonymous", "", "", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, func(e *env, c *Config) {
				c.Registries[1].Username, c.Registries[1].Password = tt.user, tt.pass
			})
			e.ghcr.user, e.ghcr.pass = "robot", "s3cret"
			e.ghcr.pushImage(t, "org/private:1", randomImage(t, 256, 1))
			resp, body := e.do(t, http.MethodGet, "/v2/ghcr.io/org/private/manifests/1", nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("got %s %s, want %d", resp.Status, body, tt.wantStatus)
			}
			if tt.wantStatus != http.StatusOK && specError(t, body) != CodeDenied {
				t.Errorf("got %s, want DENIED", body)
			}
		})
	}
}

func TestBasicChallenge(t *testing.T) {
	for _, withCreds := range []bool{true, false} {
		t.Run(strconv.FormatBool(withCreds), func(t *testing.T) {
			e := newEnv(t, func(e *env, c *Config) {
				if withCreds {
					c.Registries[1].Username, c.Registries[1].Password = "u", "p"
				}
			})
			e.ghcr.auth, e.ghcr.user, e.ghcr.pass = "basic", "u", "p"
			img := randomImage(t, 256, 1)
			e.ghcr.pushImage(t, "org/img:1", img)
			if !withCreds {
				resp, body := e.do(t, http.MethodGet, "/v2/ghcr.io/org/img/manifests/1", nil)
				if resp.StatusCode != http.StatusForbidden || specError(t, body) != CodeDenied {
					t.Errorf("got %s %s, want 403 DENIED", resp.Status, body)
				}
				return
			}
			want, _ := img.Digest()
			if got := pullImage(t, e.ref(t, "ghcr.io/org/img:1")); got != want {
				t.Errorf("got %s, want %s", got, want)
			}
			if n := e.ghcr.issued.Load(); n != 0 {
				t.Errorf("%d tokens issued for a Basic registry", n)
			}
		})
	}
}

// rawGet makes a GET to the mirror and reads as much of the body as
// arrives, returning the read error instead of failing on it.
func (e *env) rawGet(t *testing.T, path string) (status int, body []byte, readErr error) {
	t.Helper()
	resp, err := e.client.Get(e.srv.URL + path)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, readErr = io.ReadAll(resp.Body)
	return resp.StatusCode, body, readErr
}

func TestTamperedBlob(t *testing.T) {
	for _, size := range []int64{1 << 10, 1 << 20} { // Within and beyond the held-back tail.
		t.Run(strconv.FormatInt(size, 10), func(t *testing.T) {
			e := newEnv(t, nil)
			layer, err := random.Layer(size, types.DockerLayer)
			if err != nil {
				t.Fatal(err)
			}
			img, err := mutate.AppendLayers(randomImage(t, 64, 1), layer)
			if err != nil {
				t.Fatal(err)
			}
			e.hub.pushImage(t, "library/app:1", img)
			d, _ := layer.Digest()
			rc, _ := layer.Compressed()
			good, _ := io.ReadAll(rc)
			path := "/v2/library/app/blobs/" + d.String()
			e.hub.setHook(func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != path {
					return false
				}
				bad := bytes.Clone(good)
				bad[len(bad)-1] ^= 0xff
				w.Header().Set("Content-Length", strconv.Itoa(len(bad)))
				w.Write(bad)
				return true
			})
			// Five clients at once: none gets the tampered blob whole.
			var wg sync.WaitGroup
			for range 5 {
				wg.Go(func() {
					status, body, readErr := e.rawGet(t, "/v2/app/blobs/"+d.String())
					if status == http.StatusOK && readErr == nil {
						t.Errorf("a tampered blob was served whole (%d bytes)", len(body))
					}
					if status != 0 && status != http.StatusOK && status != http.StatusBadGateway {
						t.Errorf("got status %d, want a cut-short answer or a 502", status)
					}
				})
			}
			wg.Wait()
			var status int
			var body []byte
			var readErr error
			if e.stored(t, blobName("docker.io", digest{d})) {
				t.Fatal("a tampered blob was stored")
			}
			e.hub.setHook(nil)
			// The client sees its transfer cut as soon as the check fails,
			// a moment before the refused fill ends; a request in that
			// moment joins the fill and shares its refusal. Ask until a
			// new fill answers.
			for range 100 {
				status, body, readErr = e.rawGet(t, "/v2/app/blobs/"+d.String())
				if status != http.StatusBadGateway {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if status != http.StatusOK || readErr != nil || !bytes.Equal(body, good) {
				t.Errorf("after upstream recovered: got %d, %d bytes, %v; want the good blob", status, len(body), readErr)
			}
		})
	}
}

func TestTamperedManifest(t *testing.T) {
	e := newEnv(t, nil)
	img := randomImage(t, 256, 1)
	e.hub.pushImage(t, "library/app:1", img)
	d, _ := img.Digest()
	raw, _ := img.RawManifest()
	tampered := bytes.Replace(raw, []byte(`"schemaVersion": 2`), []byte(`"schemaVersion":2`), 1)
	if bytes.Equal(tampered, raw) {
		tampered = append(bytes.Clone(raw), ' ')
	}
	// By digest: the bytes do not hash to the digest asked for.
	e.hub.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/v2/library/app/manifests/"+d.String() {
			return false
		}
		w.Header().Set("Content-Type", string(types.DockerManifestSchema2))
		w.Header().Set("Docker-Content-Digest", d.String())
		w.Write(tampered)
		return true
	})
	resp, body := e.do(t, http.MethodGet, "/v2/app/manifests/"+d.String(), nil)
	if resp.StatusCode != http.StatusBadGateway || !bytes.Contains(body, []byte("mismatch")) {
		t.Errorf("by digest: got %s %s, want 502 naming the mismatch", resp.Status, body)
	}
	specError(t, body)
	if e.stored(t, manifestName("docker.io", digest{d})) {
		t.Fatal("a tampered manifest was stored")
	}
	// By tag: the bytes do not hash to the digest upstream claims.
	e.hub.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/v2/library/app/manifests/1" {
			return false
		}
		w.Header().Set("Content-Type", string(types.DockerManifestSchema2))
		w.Header().Set("Docker-Content-Digest", d.String())
		w.Write(tampered)
		return true
	})
	resp, body = e.do(t, http.MethodGet, "/v2/app/manifests/1", nil)
	if resp.StatusCode != http.StatusBadGateway || !bytes.Contains(body, []byte("hash to")) {
		t.Errorf("by tag: got %s %s, want 502 naming the mismatch", resp.Status, body)
	}
	sum := sha256.Sum256(tampered)
	if e.stored(t, "oci/tags/docker.io/library/app/_tags/1") || e.stored(t, "oci/manifests/docker.io/sha256/"+hex.EncodeToString(sum[:])) {
		t.Fatal("a manifest whose digest upstream misnamed was stored")
	}
	e.hub.setHook(nil)
	if got := pullImage(t, e.ref(t, "app:1")); got != d {
		t.Errorf("after upstream recovered: got %s, want %s", got, d)
	}
}

func TestConcurrentBlobPulls(t *testing.T) {
	const clients = 100
	e := newEnv(t, nil)
	layer, err := random.Layer(1<<20, types.DockerLayer)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := layer.Digest()
	rc, _ := layer.Compressed()
	want, _ := io.ReadAll(rc)
	e.hub.pushImage(t, "library/big:1", randomImage(t, 64, 1))
	path := "/v2/library/big/blobs/" + d.String()
	gate := make(chan struct{})
	e.hub.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != path {
			return false
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(want)))
		if r.Method == http.MethodHead {
			// The mirror asks whether the repository holds the blob.
			return true
		}
		half := len(want) / 2
		w.Write(want[:half])
		w.(http.Flusher).Flush()
		select {
		case <-gate: // Every client has some of the blob: it streams.
		case <-r.Context().Done():
			return true
		}
		w.Write(want[half:])
		return true
	})

	var started, done sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		started.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			once := sync.OnceFunc(started.Done)
			defer once()
			resp, err := e.client.Get(e.srv.URL + "/v2/big/blobs/" + d.String())
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Content-Digest") != d.String() {
				errs <- fmt.Errorf("got %s, digest %q", resp.Status, resp.Header.Get("Docker-Content-Digest"))
				return
			}
			first := make([]byte, 256<<10)
			if _, err := io.ReadFull(resp.Body, first); err != nil {
				errs <- fmt.Errorf("reading the first part: %w", err)
				return
			}
			once()
			rest, err := io.ReadAll(resp.Body)
			if err != nil {
				errs <- fmt.Errorf("reading the rest: %w", err)
				return
			}
			if got := append(first, rest...); !bytes.Equal(got, want) {
				errs <- errors.New("got bytes that differ from the blob")
			}
		}()
	}
	started.Wait()
	close(gate)
	done.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := e.hub.count("GET " + path); n != 1 {
		t.Errorf("%d upstream requests for the blob, want 1", n)
	}
	if !e.stored(t, blobName("docker.io", digest{d})) {
		t.Error("the blob was not stored")
	}
}

func TestStaleTag(t *testing.T) {
	e := newEnv(t, func(e *env, c *Config) { c.ManifestTTL = time.Nanosecond })
	img := randomImage(t, 256, 1)
	e.hub.pushImage(t, "library/app:1", img)
	d, _ := img.Digest()
	get := func(t *testing.T) (*http.Response, []byte) {
		t.Helper()
		return e.do(t, http.MethodGet, "/v2/app/manifests/1", nil)
	}
	resp, _ := get(t)
	if resp.StatusCode != http.StatusOK || resp.Header.Get(stalePullHeader) != "" {
		t.Fatalf("first pull: got %s, stale %q", resp.Status, resp.Header.Get(stalePullHeader))
	}

	t.Run("unchanged tag refreshed with a HEAD only", func(t *testing.T) {
		gets := e.hub.count("GET /v2/library/app/manifests/1")
		heads := e.hub.count("HEAD /v2/library/app/manifests/1")
		resp, _ := get(t)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Content-Digest") != d.String() {
			t.Fatalf("got %s %s", resp.Status, resp.Header.Get("Docker-Content-Digest"))
		}
		if n := e.hub.count("HEAD /v2/library/app/manifests/1") - heads; n != 1 {
			t.Errorf("%d HEADs upstream, want 1", n)
		}
		if n := e.hub.count("GET /v2/library/app/manifests/1") - gets; n != 0 {
			t.Errorf("%d GETs of the manifest upstream, want 0", n)
		}
	})
	for _, status := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprintf("upstream answers %d", status), func(t *testing.T) {
			e.hub.setHook(func(w http.ResponseWriter, r *http.Request) bool {
				w.WriteHeader(status)
				return true
			})
			defer e.hub.setHook(nil)
			for _, method := range []string{http.MethodGet, http.MethodHead} {
				resp, _ := e.do(t, method, "/v2/app/manifests/1", nil)
				if resp.StatusCode != http.StatusOK || resp.Header.Get("Docker-Content-Digest") != d.String() {
					t.Fatalf("%s: got %s %s, want the old digest", method, resp.Status, resp.Header.Get("Docker-Content-Digest"))
				}
				if resp.Header.Get(stalePullHeader) != "true" {
					t.Errorf("%s: not marked stale", method)
				}
			}
			// A tag the mirror never saw gets the upstream's answer.
			resp, body := e.do(t, http.MethodGet, "/v2/app/manifests/never-seen", nil)
			wantCode := CodeTooManyRequests
			wantStatus := status
			if status != http.StatusTooManyRequests {
				wantCode, wantStatus = CodeUnknown, http.StatusBadGateway
			}
			if resp.StatusCode != wantStatus || specError(t, body) != wantCode {
				t.Errorf("unseen tag: got %s %s, want %d %s", resp.Status, body, wantStatus, wantCode)
			}
		})
	}
	t.Run("tag moved upstream", func(t *testing.T) {
		img2 := randomImage(t, 256, 1)
		e.hub.pushImage(t, "library/app:1", img2)
		d2, _ := img2.Digest()
		resp, _ := get(t)
		if got := resp.Header.Get("Docker-Content-Digest"); got != d2.String() || resp.Header.Get(stalePullHeader) != "" {
			t.Errorf("got %s (stale %q), want the new digest %s", got, resp.Header.Get(stalePullHeader), d2)
		}
	})
	t.Run("upstream down", func(t *testing.T) {
		e.hub.srv.Close()
		resp, _ := get(t)
		if resp.StatusCode != http.StatusOK || resp.Header.Get(stalePullHeader) != "true" {
			t.Errorf("got %s, stale %q; want the stored digest, marked stale", resp.Status, resp.Header.Get(stalePullHeader))
		}
	})
}

// stalePullHeader is the core's mark on an answer served stale.
const stalePullHeader = "X-Gomirror-Stale"

func TestSignatureTagsAndReferrers(t *testing.T) {
	e := newEnv(t, nil)
	img := randomImage(t, 256, 1)
	e.hub.pushImage(t, "library/app:1", img)
	d, _ := img.Digest()
	subject := v1.Descriptor{MediaType: types.DockerManifestSchema2, Digest: d}
	if raw, err := img.RawManifest(); err == nil {
		subject.Size = int64(len(raw))
	}
	sigTags := map[string]v1.Image{}
	for _, suffix := range []string{".sig", ".att", ".sbom"} {
		tag := "sha256-" + d.Hex + suffix
		sig := randomImage(t, 128, 1)
		sigTags[tag] = sig
		e.hub.pushImage(t, "library/app:"+tag, sig)
	}
	for tag, sig := range sigTags {
		want, _ := sig.Digest()
		if got := pullImage(t, e.ref(t, "app:"+tag)); got != want {
			t.Errorf("%s: got %s, want %s", tag, got, want)
		}
	}

	// Referrers: two artifacts refer to the image.
	for _, at := range []string{"application/vnd.dev.cosign.simplesigning.v1+json", "application/spdx+json"} {
		a := artifact(t, at, subject)
		ad, _ := a.Digest()
		e.hub.pushImage(t, "library/app@"+ad.String(), a)
	}
	upstreamResp, err := http.Get(e.hub.push.URL + "/v2/library/app/referrers/" + d.String())
	if err != nil {
		t.Fatal(err)
	}
	wantBody, _ := io.ReadAll(upstreamResp.Body)
	upstreamResp.Body.Close()
	resp, body := e.do(t, http.MethodGet, "/v2/app/referrers/"+d.String(), nil)
	if resp.StatusCode != http.StatusOK || !sameReferrers(t, body, wantBody) {
		t.Fatalf("referrers: got %s %s, want upstream's %s", resp.Status, body, wantBody)
	}
	if ct := resp.Header.Get("Content-Type"); ct != string(types.OCIImageIndex) {
		t.Errorf("referrers: Content-Type %q", ct)
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(body))
	if err != nil || len(idx.Manifests) != 2 {
		t.Fatalf("referrers: got %d manifests (%v), want 2", len(idx.Manifests), err)
	}
	resp, body = e.do(t, http.MethodGet, "/v2/app/referrers/"+d.String()+"?artifactType=application/spdx%2Bjson", nil)
	idx, err = v1.ParseIndexManifest(bytes.NewReader(body))
	if err != nil || len(idx.Manifests) != 1 || idx.Manifests[0].ArtifactType != "application/spdx+json" {
		t.Errorf("filtered referrers: got %s", body)
	}
	if resp.Header.Get("OCI-Filters-Applied") != "artifactType" {
		t.Errorf("filtered referrers: OCI-Filters-Applied %q", resp.Header.Get("OCI-Filters-Applied"))
	}
}

// sameReferrers reports whether two referrers indexes list the same
// descriptors, in any order (the upstream lists them in map order).
func sameReferrers(t *testing.T, a, b []byte) bool {
	t.Helper()
	ia, err := v1.ParseIndexManifest(bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	ib, err := v1.ParseIndexManifest(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	for _, m := range ia.Manifests {
		set[m.Digest.String()+" "+m.ArtifactType] = true
	}
	for _, m := range ib.Manifests {
		if !set[m.Digest.String()+" "+m.ArtifactType] {
			return false
		}
	}
	return len(ia.Manifests) == len(ib.Manifests) && ia.MediaType == ib.MediaType
}
