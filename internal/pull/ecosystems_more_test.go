package pull_test

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gomirror/gomirror/internal/npm"
	"github.com/gomirror/gomirror/internal/oci"
	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/pypi"
)

func init() {
	ecosystems = append(ecosystems,
		ecosystem{name: "pypi", setup: setupPyPI},
		ecosystem{name: "npm", setup: setupNPM},
		ecosystem{name: "oci", setup: setupOCI},
	)
}

// lazy builds an ecosystem's handler on its first request, once the
// gate's URL is known.
type lazy struct {
	once  sync.Once
	build func() (http.Handler, error)
	h     http.Handler
}

func (l *lazy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.once.Do(func() {
		h, err := l.build()
		if err != nil {
			panic(err)
		}
		l.h = h
	})
	l.h.ServeHTTP(w, r)
}

func setupPyPI(t *testing.T, upstreamURL func() string, client *http.Client, cache *pull.Cache) served {
	wheel := bytes.Repeat([]byte("a wheel of the table test\n"), 8000)
	sum := sha256.Sum256(wheel)
	file := "table-1.0-py3-none-any.whl"
	origin := http.NewServeMux()
	origin.HandleFunc("/simple/table/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.pypi.simple.v1+json")
		json.NewEncoder(w).Encode(map[string]any{
			"meta": map[string]string{"api-version": "1.1"},
			"name": "table",
			"files": []map[string]any{{
				"filename": file, "url": "/files/" + file,
				"hashes": map[string]string{"sha256": hex.EncodeToString(sum[:])},
			}},
		})
	})
	origin.HandleFunc("/files/"+file, func(w http.ResponseWriter, r *http.Request) { w.Write(wheel) })
	build := func(cache *pull.Cache) http.Handler {
		return &lazy{build: func() (http.Handler, error) {
			return pypi.New(pypi.Config{Cache: cache, Indexes: []string{upstreamURL() + "/simple/"}, HTTPUpstream: upstreamFor(client)})
		}}
	}
	return served{
		origin: origin, handler: build(cache), replica: build,
		file: "/pypi/files/table/" + hex.EncodeToString(sum[:]) + "/" + file, fileUp: "/files/" + file,
		fileName: "", eco: "pypi", kind: "file", want: wheel, meta: "/pypi/simple/table/",
	}
}

func setupNPM(t *testing.T, upstreamURL func() string, client *http.Client, cache *pull.Cache) served {
	tarball := bytes.Repeat([]byte("a tarball of the table test\n"), 8000)
	s512 := sha512.Sum512(tarball)
	s1 := sha1.Sum(tarball)
	origin := http.NewServeMux()
	origin.HandleFunc("/table", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"name":      "table",
			"dist-tags": map[string]string{"latest": "1.0.0"},
			"versions": map[string]any{"1.0.0": map[string]any{
				"name": "table", "version": "1.0.0",
				"dist": map[string]any{
					"tarball":   upstreamURL() + "/table/-/table-1.0.0.tgz",
					"integrity": "sha512-" + base64.StdEncoding.EncodeToString(s512[:]),
					"shasum":    hex.EncodeToString(s1[:]),
				},
			}},
			"time": map[string]string{"1.0.0": "2026-01-01T00:00:00.000Z"},
		})
	})
	origin.HandleFunc("/table/-/table-1.0.0.tgz", func(w http.ResponseWriter, r *http.Request) { w.Write(tarball) })
	build := func(cache *pull.Cache) http.Handler {
		return &lazy{build: func() (http.Handler, error) {
			return npm.New(npm.Config{Cache: cache, Upstream: npm.Upstream{URL: upstreamURL() + "/"}, HTTPUpstream: upstreamFor(client)})
		}}
	}
	return served{
		origin: origin, handler: build(cache), replica: build,
		file: "/npm/table/-/table-1.0.0.tgz", fileUp: "table-1.0.0.tgz",
		eco: "npm", kind: "tarball", want: tarball, meta: "/npm/table",
	}
}

func setupOCI(t *testing.T, upstreamURL func() string, client *http.Client, cache *pull.Cache) served {
	origin := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	// Push a one-layer image straight into the origin, not through the
	// gate.
	direct := httptest.NewServer(origin)
	defer direct.Close()
	img, err := random.Image(300<<10, 1)
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(direct.URL, "http://")
	ref, err := name.ParseReference(host+"/table/image:v1", name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	digest, _ := layers[0].Digest()
	var blob bytes.Buffer
	rc, _ := layers[0].Compressed()
	blob.ReadFrom(rc)
	rc.Close()
	const reg = "registry.table.test"
	build := func(cache *pull.Cache) http.Handler {
		return &lazy{build: func() (http.Handler, error) {
			return oci.New(oci.Config{
				Cache:           cache,
				Registries:      []oci.Registry{{Host: reg, URL: upstreamURL()}},
				DefaultRegistry: reg,
				HTTPUpstream:    upstreamFor(client),
			})
		}}
	}
	return served{
		origin: origin, handler: build(cache), replica: build,
		file: "/v2/table/image/blobs/" + digest.String(), fileUp: "/blobs/" + digest.String(),
		eco: "oci", kind: "blob", want: blob.Bytes(), meta: "/v2/table/image/manifests/v1",
	}
}
