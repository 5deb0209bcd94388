package pull_test

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/maven"
	"github.com/gomirror/gomirror/internal/pull"
)

func init() {
	ecosystems = append(ecosystems, ecosystem{name: "maven", setup: setupMaven})
}

// setupMaven serves a jar with its .sha1 and .sha256, and an artifact's
// maven-metadata.xml with its .sha1. The file's first upstream request is
// its .sha1, which the core's tests hold and count.
func setupMaven(t *testing.T, upstreamURL func() string, client *http.Client, cache *pull.Cache) served {
	jar := bytes.Repeat([]byte("a jar of the table test\n"), 8000)
	meta := []byte(`<?xml version="1.0"?><metadata><groupId>org.table</groupId><artifactId>table</artifactId><versioning><versions><version>1.0</version></versions></versioning></metadata>`)
	const dir = "/maven2/org/table/table/"
	files := map[string][]byte{dir + "1.0/table-1.0.jar": jar, dir + "maven-metadata.xml": meta}
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		for _, sum := range []struct {
			ext string
			fn  func([]byte) []byte
		}{
			{".sha1", func(b []byte) []byte { s := sha1.Sum(b); return s[:] }},
			{".sha256", func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }},
		} {
			if base, ok := strings.CutSuffix(p, sum.ext); ok && files[base] != nil {
				w.Write([]byte(hex.EncodeToString(sum.fn(files[base]))))
				return
			}
		}
		if data, ok := files[p]; ok {
			w.Write(data)
			return
		}
		http.NotFound(w, r)
	})
	h := &lazy{build: func() (http.Handler, error) {
		return maven.New(maven.Config{
			Cache:        cache,
			Repositories: []maven.Repository{{URL: upstreamURL() + "/maven2/"}},
			Upstream:     upstreamFor(client),
		})
	}}
	return served{
		origin: origin, handler: h,
		file: dir + "1.0/table-1.0.jar", fileUp: "table-1.0.jar.sha1", fileName: "maven2/org/table/table/1.0/table-1.0.jar",
		eco: "maven", kind: "file", want: jar, meta: dir + "maven-metadata.xml",
	}
}
