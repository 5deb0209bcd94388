package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"
)

// recorder is a module proxy that passes requests through to a real one,
// keeps each body in a cache and notes each request in arrival order.
type recorder struct {
	upstream string
	bodies   string
	sumdb    http.Handler
	client   *http.Client

	mu    sync.Mutex
	trace trace
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/sumdb/") {
		rec.sumdb.ServeHTTP(w, r)
		return
	}
	path := r.URL.EscapedPath()
	rec.mu.Lock()
	i := len(rec.trace)
	rec.trace = append(rec.trace, entry{Path: path})
	rec.mu.Unlock()

	status, body, err := fetchBody(r.Context(), rec.client, rec.upstream+path)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	e := entry{Path: path, Status: status}
	if status == http.StatusOK {
		sum := sha256.Sum256(body)
		e.Size, e.SHA256 = int64(len(body)), hex.EncodeToString(sum[:])
		file, ok := localPath(rec.bodies, r.URL.Path)
		if !ok {
			http.Error(w, "bad path", http.StatusBadRequest)
			return
		}
		if err := writeAtomic(file, body); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	rec.mu.Lock()
	rec.trace[i] = e
	rec.mu.Unlock()
	w.WriteHeader(status)
	w.Write(body)
}

// fetchBody gets url whole.
func fetchBody(ctx context.Context, client *http.Client, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// record runs `go mod download all` in a copy of the module in modDir,
// through a recorder in front of the real proxy, with an empty module
// cache, and returns the requests it made.
func record(ctx context.Context, b *bench, modDir string) (trace, error) {
	rec := &recorder{upstream: b.realProxy, bodies: b.bodies, sumdb: b.sumdb, client: b.netClient}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: rec}
	go hs.Serve(ln)
	defer hs.Close()

	d, err := b.downloadAll(ctx, modDir, "http://"+ln.Addr().String(), "sum.golang.org")
	if err != nil {
		return nil, err
	}
	b.logf("recorded go mod download all in %v", d.Round(time.Millisecond))
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, e := range rec.trace {
		if e.Status == 0 {
			return nil, fmt.Errorf("recording %s failed; record again", e.Path)
		}
	}
	return rec.trace, nil
}

// fetchBodies makes sure every body of t is in the cache, fetching the
// missing ones from the real proxy and checking them against t.
func fetchBodies(ctx context.Context, b *bench, t trace) error {
	var missing []entry
	for _, e := range t {
		if e.Status != http.StatusOK {
			continue
		}
		file, ok := bodyFile(b.bodies, e.Path)
		if !ok {
			return fmt.Errorf("trace: bad path %q", e.Path)
		}
		if fi, err := os.Stat(file); err != nil || fi.Size() != e.Size {
			missing = append(missing, e)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	b.logf("fetching %d bodies from %s into %s", len(missing), b.realProxy, b.bodies)
	work := make(chan entry)
	errc := make(chan error, len(missing))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for e := range work {
				status, body, err := fetchBody(ctx, b.netClient, b.realProxy+e.Path)
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("status %d", status)
				}
				if err == nil {
					sum := sha256.Sum256(body)
					if hex.EncodeToString(sum[:]) != e.SHA256 {
						err = fmt.Errorf("sha256 differs from the trace's")
					}
				}
				if err == nil {
					file, _ := bodyFile(b.bodies, e.Path)
					err = writeAtomic(file, body)
				}
				if err != nil {
					errc <- fmt.Errorf("%s: %w", e.Path, err)
				}
			}
		})
	}
	for _, e := range missing {
		work <- e
	}
	close(work)
	wg.Wait()
	close(errc)
	return <-errc
}

// bodyFile returns the cache file of the body of an escaped URL path.
func bodyFile(dir, urlPath string) (string, bool) {
	p, err := url.PathUnescape(urlPath)
	if err != nil {
		return "", false
	}
	return localPath(dir, p)
}
