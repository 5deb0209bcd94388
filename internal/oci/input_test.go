package oci

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/store"
)

func TestBadInput(t *testing.T) {
	e := newEnv(t, func(e *env, c *Config) { c.MaxPageSize = 100 })
	e.hub.pushImage(t, "library/app:1", randomImage(t, 64, 1))
	zero := "sha256:" + strings.Repeat("0", 64)
	tests := []struct {
		name, method, path string
		status             int
		code               string
	}{
		{"push a blob", http.MethodPost, "/v2/app/blobs/uploads/", http.StatusMethodNotAllowed, CodeUnsupported},
		{"push a manifest", http.MethodPut, "/v2/app/manifests/1", http.StatusMethodNotAllowed, CodeUnsupported},
		{"patch an upload", http.MethodPatch, "/v2/app/blobs/uploads/x", http.StatusMethodNotAllowed, CodeUnsupported},
		{"delete a manifest", http.MethodDelete, "/v2/app/manifests/" + zero, http.StatusMethodNotAllowed, CodeUnsupported},
		{"post to the base", http.MethodPost, "/v2/", http.StatusMethodNotAllowed, CodeUnsupported},
		{"options", http.MethodOptions, "/v2/app/manifests/1", http.StatusMethodNotAllowed, CodeUnsupported},
		{"upper-case name", http.MethodGet, "/v2/App/manifests/1", http.StatusBadRequest, CodeNameInvalid},
		{"empty component", http.MethodGet, "/v2/library//app/manifests/1", http.StatusBadRequest, CodeNameInvalid},
		{"dot-dot", http.MethodGet, "/v2/library/../app/manifests/1", http.StatusBadRequest, CodeNameInvalid},
		{"leading dot-dot", http.MethodGet, "/v2/../../etc/passwd/manifests/1", http.StatusBadRequest, CodeNameInvalid},
		{"escaped dot-dot", http.MethodGet, "/v2/library/%2e%2e/app/manifests/1", http.StatusBadRequest, CodeNameInvalid},
		{"escaped slash", http.MethodGet, "/v2/library%2Fapp/manifests/1", http.StatusBadRequest, CodeNameInvalid},
		{"separator at the end", http.MethodGet, "/v2/app-/manifests/1", http.StatusBadRequest, CodeNameInvalid},
		{"name too long", http.MethodGet, "/v2/" + strings.Repeat("a/", 130) + "a/manifests/1", http.StatusBadRequest, CodeNameInvalid},
		{"bad registry host", http.MethodGet, "/v2/app/manifests/1?ns=bad_host!", http.StatusBadRequest, CodeNameInvalid},
		{"bad path-prefix host", http.MethodGet, "/v2/-bad.io/app/manifests/1", http.StatusBadRequest, CodeNameInvalid},
		{"tag starts with a dash", http.MethodGet, "/v2/app/manifests/-1", http.StatusBadRequest, CodeTagInvalid},
		{"tag starts with a dot", http.MethodGet, "/v2/app/manifests/.1", http.StatusBadRequest, CodeTagInvalid},
		{"tag too long", http.MethodGet, "/v2/app/manifests/" + strings.Repeat("a", 129), http.StatusBadRequest, CodeTagInvalid},
		{"empty tag", http.MethodGet, "/v2/app/manifests/", http.StatusBadRequest, CodeTagInvalid},
		{"digest not hex", http.MethodGet, "/v2/app/blobs/sha256:" + strings.Repeat("z", 64), http.StatusBadRequest, CodeDigestInvalid},
		{"digest short", http.MethodGet, "/v2/app/blobs/sha256:abc", http.StatusBadRequest, CodeDigestInvalid},
		{"digest upper-case", http.MethodGet, "/v2/app/blobs/sha256:" + strings.Repeat("A", 64), http.StatusBadRequest, CodeDigestInvalid},
		{"blob by tag", http.MethodGet, "/v2/app/blobs/latest", http.StatusBadRequest, CodeDigestInvalid},
		{"manifest digest with no sum", http.MethodGet, "/v2/app/manifests/sha256:", http.StatusBadRequest, CodeDigestInvalid},
		{"unsupported algorithm", http.MethodGet, "/v2/app/blobs/md5:" + strings.Repeat("0", 32), http.StatusBadRequest, CodeUnsupported},
		{"referrers by tag", http.MethodGet, "/v2/app/referrers/latest", http.StatusBadRequest, CodeDigestInvalid},
		{"n too large", http.MethodGet, "/v2/app/tags/list?n=101", http.StatusBadRequest, CodePaginationNumber},
		{"n huge", http.MethodGet, "/v2/app/tags/list?n=99999999999999999999", http.StatusBadRequest, CodePaginationNumber},
		{"n negative", http.MethodGet, "/v2/app/tags/list?n=-1", http.StatusBadRequest, CodePaginationNumber},
		{"n not a number", http.MethodGet, "/v2/app/tags/list?n=ten", http.StatusBadRequest, CodePaginationNumber},
		{"last not a tag", http.MethodGet, "/v2/app/tags/list?last=../x", http.StatusBadRequest, CodeTagInvalid},
		{"catalog", http.MethodGet, "/v2/_catalog", http.StatusNotFound, CodeUnsupported},
		{"unknown endpoint", http.MethodGet, "/v2/app/things/1", http.StatusNotFound, CodeNameUnknown},
		{"unknown tag", http.MethodGet, "/v2/app/manifests/2", http.StatusNotFound, CodeManifestUnknown},
		{"unknown manifest digest", http.MethodGet, "/v2/app/manifests/" + zero, http.StatusNotFound, CodeManifestUnknown},
		{"unknown blob", http.MethodGet, "/v2/app/blobs/" + zero, http.StatusNotFound, CodeBlobUnknown},
		{"unknown blob, HEAD", http.MethodHead, "/v2/app/blobs/" + zero, http.StatusNotFound, ""},
		{"unknown repository's tags", http.MethodGet, "/v2/nothing/tags/list", http.StatusNotFound, CodeNameUnknown},
		{"registry not configured", http.MethodGet, "/v2/quay.io/app/manifests/1", http.StatusForbidden, CodeDenied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, e.srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			// Send the path exactly as written, dots and escapes too.
			req.URL.Opaque = tt.path
			if i := strings.IndexByte(tt.path, '?'); i >= 0 {
				req.URL.Opaque, req.URL.RawQuery = tt.path[:i], tt.path[i+1:]
			}
			resp, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body errorBody
			derr := json.NewDecoder(resp.Body).Decode(&body)
			if resp.StatusCode != tt.status {
				t.Errorf("got %s, want %d", resp.Status, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("got Content-Type %q, want application/json", ct)
			}
			if resp.ContentLength <= 0 {
				t.Errorf("got Content-Length %d, want the body's", resp.ContentLength)
			}
			if tt.method == http.MethodHead {
				return
			}
			if derr != nil || len(body.Errors) != 1 {
				t.Fatalf("body is not one spec error: %v %+v", derr, body)
			}
			if got := body.Errors[0]; got.Code != tt.code || got.Message == "" || strings.Contains(got.Message, "\n") {
				t.Errorf("got error %+v, want code %s with a one-line message", got, tt.code)
			}
		})
	}
}

func TestTagsList(t *testing.T) {
	e := newEnv(t, nil)
	img := randomImage(t, 64, 1)
	for _, tag := range []string{"b", "a", "d", "c", "sha256-" + strings.Repeat("0", 64) + ".sig"} {
		e.hub.pushImage(t, "library/app:"+tag, img)
	}
	list := func(t *testing.T, path string) (tagsList, string) {
		t.Helper()
		resp, body := e.do(t, http.MethodGet, path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: got %s %s", path, resp.Status, body)
		}
		var tl tagsList
		if err := json.Unmarshal(body, &tl); err != nil {
			t.Fatal(err)
		}
		return tl, resp.Header.Get("Link")
	}
	all, link := list(t, "/v2/app/tags/list")
	want := []string{"a", "b", "c", "d", "sha256-" + strings.Repeat("0", 64) + ".sig"}
	if !slices.Equal(all.Tags, want) || link != "" || all.Name != "app" {
		t.Errorf("whole list: got %+v, Link %q; want %v", all, link, want)
	}
	// Pages of two, following Link.
	var got []string
	path := "/v2/app/tags/list?n=2"
	for range 10 {
		page, link := list(t, path)
		if len(page.Tags) > 2 {
			t.Fatalf("page of %d tags, want at most 2", len(page.Tags))
		}
		got = append(got, page.Tags...)
		if link == "" {
			break
		}
		m := regexp.MustCompile(`^<([^>]+)>; rel="next"$`).FindStringSubmatch(link)
		if m == nil {
			t.Fatalf("bad Link %q", link)
		}
		path = m[1]
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages: got %v, want %v", got, want)
	}
	if page, _ := list(t, "/v2/app/tags/list?last=b"); !slices.Equal(page.Tags, want[2:]) {
		t.Errorf("after b: got %v, want %v", page.Tags, want[2:])
	}
	if page, _ := list(t, "/v2/app/tags/list?n=0"); len(page.Tags) != 0 {
		t.Errorf("n=0: got %v, want none", page.Tags)
	}
	// Through ?ns= the next link keeps the registry.
	if _, link := list(t, "/v2/library/app/tags/list?ns=docker.io&n=1"); !strings.Contains(link, "ns=docker.io") {
		t.Errorf("Link %q lost ns", link)
	}
}

// TestTagsListPagesUpstream follows an upstream registry that pages its
// tags list, and refuses one too large.
func TestTagsListPagesUpstream(t *testing.T) {
	e := newEnv(t, func(e *env, c *Config) { c.MaxTagsListSize = 4096 })
	e.hub.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case "/v2/library/paged/tags/list":
			last := r.URL.Query().Get("last")
			var tags []string
			for i := 0; i < 5; i++ {
				tags = append(tags, fmt.Sprintf("v%d", i))
			}
			i, _ := slices.BinarySearch(tags, last)
			if last != "" {
				i++
			}
			end := min(i+2, len(tags))
			if end < len(tags) {
				w.Header().Set("Link", `</v2/library/paged/tags/list?n=2&last=`+url.QueryEscape(tags[end-1])+`>; rel="next"`)
			}
			json.NewEncoder(w).Encode(tagsList{Name: "library/paged", Tags: tags[i:end]})
			return true
		case "/v2/library/huge/tags/list":
			var tags []string
			for i := range 1000 {
				tags = append(tags, "tag-"+strconv.Itoa(i))
			}
			json.NewEncoder(w).Encode(tagsList{Name: "library/huge", Tags: tags})
			return true
		}
		return false
	})
	resp, body := e.do(t, http.MethodGet, "/v2/paged/tags/list", nil)
	var tl tagsList
	if err := json.Unmarshal(body, &tl); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("got %s %s", resp.Status, body)
	}
	if want := []string{"v0", "v1", "v2", "v3", "v4"}; !slices.Equal(tl.Tags, want) {
		t.Errorf("got %v, want %v", tl.Tags, want)
	}
	resp, body = e.do(t, http.MethodGet, "/v2/huge/tags/list", nil)
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(body), "over the limit") {
		t.Errorf("oversized list: got %s %s, want 502 naming the limit", resp.Status, body)
	}
	specError(t, body)
}

// FuzzParseRequest checks that any request path either parses into names
// that the store accepts, or is refused with a 4xx in the spec's format.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		"/v2/", "/v2/alpine/manifests/latest", "/v2/library/alpine/blobs/sha256:" + strings.Repeat("a", 64),
		"/v2/ghcr.io/owner/img/manifests/v1?ns=", "/v2/app/tags/list?n=10&last=a", "/v2/a/manifests/x?ns=ghcr.io",
		"/v2/localhost:5000/a/referrers/sha256:" + strings.Repeat("0", 64), "/v2/../x/manifests/1", "/v2/a/%2e%2e/manifests/1",
		"/v2/a/manifests/manifests/manifests/x", "/v2/a/blobs/sha512:00", "/v2/docker.io/alpine/tags/list",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		r, perr := parseRequest(u, DockerHub)
		if perr != nil {
			if perr.Status < 400 || perr.Status >= 500 || perr.Code == "" || perr.Message == "" {
				t.Fatalf("%q: refused with %+v, want a 4xx with a code and message", s, perr)
			}
			return
		}
		if r.kind == kindBase {
			return
		}
		if r.registry == "" || r.repo == "" {
			t.Fatalf("%q: parsed to %+v without a registry or repository", s, r)
		}
		names := []string{tagsListName(r)}
		switch {
		case r.tag != "":
			names = append(names, tagName(r))
		case !r.digest.isZero():
			names = append(names, blobName(r.registry, r.digest), manifestName(r.registry, r.digest), referrersName(r))
		}
		for _, n := range names {
			if err := store.CheckName(n); err != nil {
				t.Fatalf("%q: store name %q refused: %v", s, n, err)
			}
		}
	})
}

// FuzzParseChallenges checks that any WWW-Authenticate value parses
// without a panic into lower-case schemes.
func FuzzParseChallenges(f *testing.F) {
	for _, s := range []string{
		`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"`,
		`Basic realm="Registry Realm"`, `Bearer realm="a\"b",error="invalid_token"`, `Bearer`, `, ,`, `Bearer realm=`, `Negotiate, Basic realm=x`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, ch := range parseChallenges([]string{s}) {
			if ch.scheme == "" || ch.scheme != strings.ToLower(ch.scheme) {
				t.Fatalf("%q: scheme %q", s, ch.scheme)
			}
		}
	})
}

func TestParseChallenges(t *testing.T) {
	got := parseChallenges([]string{`Bearer realm="https://auth.example/token",service="reg",scope="repository:a/b:pull,push", Basic realm="x y"`})
	if len(got) != 2 {
		t.Fatalf("got %d challenges, want 2: %+v", len(got), got)
	}
	if got[0].scheme != "bearer" || got[0].params["realm"] != "https://auth.example/token" || got[0].params["service"] != "reg" || got[0].params["scope"] != "repository:a/b:pull,push" {
		t.Errorf("got %+v", got[0])
	}
	if got[1].scheme != "basic" || got[1].params["realm"] != "x y" {
		t.Errorf("got %+v", got[1])
	}
}

// FuzzUpstreamAnswers feeds what an upstream registry controls (a tags
// list's Link header, a manifest's bytes and Content-Type) to their
// parsers: a next page never leaves the repository's tags list, and every
// manifest gets a media type.
func FuzzUpstreamAnswers(f *testing.F) {
	f.Add(`</v2/library/a/tags/list?n=2&last=b>; rel="next"`, `{"schemaVersion":2,"manifests":[]}`, "application/vnd.oci.image.index.v1+json")
	f.Add(`<https://evil.example/v2/library/a/tags/list?last=b>; rel="next"`, `{"schemaVersion":1,"signatures":[]}`, "")
	f.Add(`</v2/library/a/../b/tags/list?x>;rel="next", <x>; rel="prev"`, `not json`, "text/plain; charset=utf-8")
	f.Fuzz(func(t *testing.T, link, manifest, contentType string) {
		if next := nextPage(link, "library/a"); next != "" && !strings.HasPrefix(next, "/v2/library/a/tags/list?") {
			t.Fatalf("%q: next page %q leaves the tags list", link, next)
		}
		if mt := mediaTypeOf([]byte(manifest), contentType); mt == "" {
			t.Fatalf("no media type for %q", manifest)
		}
	})
}
