package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/pull/pulltest"
)

// TestEveryMirrorBoundsAHungUpstream: with one upstream that accepts and
// never answers behind every mirror, each answers with a gateway timeout
// bounded by --upstream-header-timeout.
func TestEveryMirrorBoundsAHungUpstream(t *testing.T) {
	hung := pulltest.Hung(t)
	_, ts := newTestServer(t, func(c *config.Config) {
		c.Upstream = hung.URL
		c.SumDB = "off"
		c.UpstreamHeaderTimeout = 300 * time.Millisecond
		c.UpstreamIdleTimeout = 300 * time.Millisecond
		c.Golang.Index = hung.URL + "/dl/?mode=json&include=all"
		c.Golang.Base = hung.URL + "/go/"
		c.PyPI.Indexes = hung.URL + "/simple/"
		c.OCI.Registries = "reg.test=" + hung.URL
		c.OCI.DefaultRegistry = "reg.test"
		c.NPM.Upstream = hung.URL + "/"
		c.Cargo.Index = hung.URL + "/index/"
		c.Cargo.Download = hung.URL + "/crates/"
		c.Maven.Repos = hung.URL + "/maven2/"
		c.Vuln.Enabled = false // Its database loads in the background.
	})
	for _, p := range []string{
		"/example.com/hello/@v/list",
		"/golang/go1.99.1.linux-amd64.tar.gz",
		"/pypi/simple/demo/",
		"/v2/team/app/manifests/latest",
		"/v2/team/app/blobs/sha256:1111111111111111111111111111111111111111111111111111111111111111",
		"/npm/pkg",
		"/cargo/index/se/rd/serde",
		"/maven2/org/example/demo/1.0/demo-1.0.jar",
		"/maven2/org/example/demo/maven-metadata.xml",
	} {
		resp, body := do(t, http.MethodGet, ts.URL+p)
		if resp.StatusCode != http.StatusGatewayTimeout {
			t.Errorf("%s: got %d %s, want 504", p, resp.StatusCode, body)
		}
	}
}
