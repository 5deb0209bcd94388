package oci

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// BenchmarkBlobThroughput measures reading one 64 MiB blob from Debian's
// docker-registry directly and through a warm gomirror in front of it, in
// one run, so that the two compare on the same machine at the same time.
// docs/performance.md records the ratio.
func BenchmarkBlobThroughput(b *testing.B) {
	const size = 64 << 20
	reg := startDistRegistry(b)
	layer, err := random.Layer(size, types.OCIUncompressedLayer)
	if err != nil {
		b.Fatal(err)
	}
	img, err := random.Image(64, 1)
	if err != nil {
		b.Fatal(err)
	}
	if img, err = mutate.AppendLayers(img, layer); err != nil {
		b.Fatal(err)
	}
	ref, err := name.ParseReference(reg.addr+"/bench/blob:1", name.Insecure)
	if err != nil {
		b.Fatal(err)
	}
	if err := remote.Write(ref, img); err != nil {
		b.Fatal(err)
	}
	d, _ := layer.Digest()
	m := startMirror(b, "http://"+reg.addr, time.Hour)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func(b *testing.B, url string) {
		resp, err := client.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK || n < size {
			b.Fatalf("GET %s: %s, %d bytes, %v", url, resp.Status, n, err)
		}
	}
	upstream := "http://" + reg.addr + "/v2/bench/blob/blobs/" + d.String()
	mirrored := m.srv.URL + "/v2/bench/blob/blobs/" + d.String()
	get(b, mirrored) // Warm the mirror.
	for _, bm := range []struct{ name, url string }{{"docker-registry", upstream}, {"gomirror-warm", mirrored}} {
		b.Run(bm.name, func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				get(b, bm.url)
			}
		})
	}
}
