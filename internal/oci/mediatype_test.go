package oci

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/types"
)

// TestManifestMediaTypes checks that a manifest is only ever served with a
// media type of the OCI and Docker specs, whatever its mediaType field
// and upstream's Content-Type say, with nosniff: a hostile upstream cannot
// make the mirror serve a page from its own origin.
func TestManifestMediaTypes(t *testing.T) {
	tests := []struct {
		name, body, header string
		want               types.MediaType
		byDigest           types.MediaType // when not want: a manifest stored by digest keeps no header
	}{
		{"html in the field", `{"schemaVersion":2,"mediaType":"text/html","config":{},"layers":[],"x":"<script>alert(1)</script>"}`, "text/html", types.OCIManifestSchema1, ""},
		{"html index", `{"schemaVersion":2,"mediaType":"text/html","manifests":[]}`, "text/html; charset=utf-8", types.OCIImageIndex, ""},
		{"svg from the header", `{"schemaVersion":2,"config":{},"layers":[]}`, "image/svg+xml", types.OCIManifestSchema1, ""},
		{"docker from the header", `{"schemaVersion":2,"config":{},"layers":[]}`, string(types.DockerManifestSchema2), types.DockerManifestSchema2, types.OCIManifestSchema1},
		{"spec type in the field", `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}`, "text/plain", types.OCIImageIndex, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, nil)
			sum := sha256.Sum256([]byte(tt.body))
			d := "sha256:" + hex.EncodeToString(sum[:])
			e.hub.setHook(func(w http.ResponseWriter, r *http.Request) bool {
				if r.URL.Path != "/v2/library/app/manifests/1" && r.URL.Path != "/v2/library/app/manifests/"+d {
					return false
				}
				w.Header().Set("Content-Type", tt.header)
				w.Header().Set("Docker-Content-Digest", d)
				if r.Method != http.MethodHead {
					w.Write([]byte(tt.body))
				}
				return true
			})
			for _, p := range []string{"/v2/app/manifests/1", "/v2/app/manifests/" + d} {
				for _, method := range []string{http.MethodGet, http.MethodHead} {
					resp, body := e.do(t, method, p, nil)
					if resp.StatusCode != http.StatusOK {
						t.Fatalf("%s %s: got %s %s", method, p, resp.Status, body)
					}
					want := tt.want
					if p != "/v2/app/manifests/1" && tt.byDigest != "" {
						want = tt.byDigest
					}
					if got := resp.Header.Get("Content-Type"); got != string(want) {
						t.Errorf("%s %s: got Content-Type %q, want %q", method, p, got, want)
					}
					if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
						t.Errorf("%s %s: got X-Content-Type-Options %q, want nosniff", method, p, got)
					}
				}
			}
		})
	}
}

func TestWriteError(t *testing.T) {
	for _, tt := range []struct {
		code int
		want string
	}{{401, CodeUnauthorized}, {403, CodeDenied}, {404, CodeNameUnknown}, {400, CodeNameInvalid}, {429, CodeTooManyRequests}} {
		w := httptest.NewRecorder()
		WriteError(w, httptest.NewRequest("GET", "/v2/x/manifests/1", nil), tt.code, "some reason")
		if w.Code != tt.code || !strings.Contains(w.Body.String(), `"code":"`+tt.want+`"`) || w.Header().Get("Docker-Distribution-API-Version") == "" {
			t.Errorf("WriteError(%d): got %d %s, want the code %s in the spec's format", tt.code, w.Code, w.Body.String(), tt.want)
		}
	}
}
