// Package pulltest has the fake upstreams that the tests of every mirror
// on the pull core share.
package pulltest

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Hung returns a server that accepts requests and never answers them,
// until the test ends or the request's client gives up: an upstream that
// hangs before its headers. The server is closed when the test ends.
func Hung(t testing.TB) *httptest.Server {
	t.Helper()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	return srv
}
