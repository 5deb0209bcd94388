package oci

import (
	"net/http"
	"testing"
)

// TestDigestsServedPerRepository checks that a digest is served under a
// repository only once that repository has been seen to hold it, and
// that "not found" under one repository is kept for that repository
// alone.
func TestDigestsServedPerRepository(t *testing.T) {
	e := newEnv(t, nil)
	// go-containerregistry's registry serves any blob under any
	// repository; a real one holds corp/public and made/up empty.
	e.hub.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if repo := repoOf(r.URL.Path); repo == "corp/public" || repo == "made/up" {
			w.WriteHeader(http.StatusNotFound)
			return true
		}
		return false
	})
	img := randomImage(t, 512, 2)
	e.hub.pushImage(t, "corp/private:1", img)
	md, _ := img.Digest()
	cfg, _ := img.ConfigName()
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()

	// An authorised user pulls corp/private: everything is now stored.
	if got := pullImage(t, e.ref(t, "corp/private:1")); got != md {
		t.Fatalf("pull: got %s, want %s", got, md)
	}
	if n := e.hub.countPrefix("HEAD /v2/corp/private/blobs/"); n != 0 {
		t.Errorf("a pull by tag asked upstream %d times whether the repository holds a blob, want 0: its manifest says so", n)
	}
	// Under another repository, the stored content is not served.
	for _, p := range []string{
		"/v2/corp/public/blobs/" + ld.String(),
		"/v2/corp/public/blobs/" + cfg.String(),
		"/v2/corp/public/manifests/" + md.String(),
		"/v2/corp/public/blobs/" + ld.String() + "?ns=docker.io",
		"/v2/docker.io/corp/public/manifests/" + md.String(),
	} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			resp, body := e.do(t, method, p, nil)
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("%s %s: got %s %s, want 404", method, p, resp.Status, body)
			}
		}
	}
	// Under its own repository it is, by digest too.
	for _, p := range []string{"/v2/corp/private/blobs/" + ld.String(), "/v2/corp/private/manifests/" + md.String()} {
		if resp, body := e.do(t, http.MethodGet, p, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: got %s %s, want 200", p, resp.Status, body)
		}
	}

	// A made-up repository's "not found" does not make a real image
	// unpullable.
	other := randomImage(t, 512, 1)
	e.hub.pushImage(t, "real/app:1", other)
	od, _ := other.Digest()
	olayers, _ := other.Layers()
	old, _ := olayers[0].Digest()
	for _, p := range []string{"/v2/made/up/blobs/" + old.String(), "/v2/made/up/manifests/" + od.String()} {
		if resp, body := e.do(t, http.MethodGet, p, nil); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: got %s %s, want 404", p, resp.Status, body)
		}
	}
	for _, p := range []string{"/v2/real/app/blobs/" + old.String(), "/v2/real/app/manifests/" + od.String()} {
		if resp, body := e.do(t, http.MethodGet, p, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s after a made-up repository's 404: got %s %s, want 200", p, resp.Status, body)
		}
	}
	if got := pullImage(t, e.ref(t, "real/app:1")); got != od {
		t.Errorf("pull of real/app: got %s, want %s", got, od)
	}
}
