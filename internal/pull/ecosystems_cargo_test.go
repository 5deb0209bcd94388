package pull_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/gomirror/gomirror/internal/cargo"
	"github.com/gomirror/gomirror/internal/pull"
)

func init() {
	ecosystems = append(ecosystems, ecosystem{name: "cargo", setup: setupCargo})
}

// setupCargo serves one crate from a sparse index whose config.json sends
// downloads to the same host.
func setupCargo(t *testing.T, upstreamURL func() string, client *http.Client, cache *pull.Cache) served {
	crate := bytes.Repeat([]byte("a crate of the table test\n"), 8000)
	sum := sha256.Sum256(crate)
	origin := http.NewServeMux()
	origin.HandleFunc("/config.json", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"dl": upstreamURL() + "/dl"})
	})
	origin.HandleFunc("/ta/bl/table", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"name":"table","vers":"1.0.0","deps":[],"cksum":"%s","features":{},"yanked":false}`+"\n", hex.EncodeToString(sum[:]))
	})
	origin.HandleFunc("/dl/table/1.0.0/download", func(w http.ResponseWriter, r *http.Request) { w.Write(crate) })
	h := &lazy{build: func() (http.Handler, error) {
		return cargo.New(cargo.Config{Cache: cache, Index: upstreamURL() + "/", Upstream: upstreamFor(client)})
	}}
	return served{
		origin: origin, handler: h,
		file: "/cargo/api/v1/crates/table/1.0.0/download", fileUp: "/dl/table/1.0.0/download",
		fileName: "cargo/crates/table/table-1.0.0.crate", eco: "cargo", kind: "crate", want: crate,
		meta: "/cargo/index/ta/bl/table",
	}
}
