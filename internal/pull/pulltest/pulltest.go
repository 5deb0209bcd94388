// Package pulltest has the fake upstreams that the tests of every mirror
// on the pull core share.
package pulltest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
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

// LoopbackClient returns an HTTP client that dials loopback addresses
// only: a test that reaches for anything but its own servers fails.
func LoopbackClient(t testing.TB) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
				t.Errorf("hermetic test dialed %s, which is not one of its own servers", addr)
				return nil, fmt.Errorf("hermetic test: dialing %s refused", addr)
			}
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// Buffer collects what is written to it, such as a test's log lines,
// and is safe for concurrent use. The zero value is empty.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
