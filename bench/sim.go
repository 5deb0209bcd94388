package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// link is the network between a client and a simulated upstream.
type link struct {
	// RTT is paid once per request, before the answer's first byte.
	RTT time.Duration
	// Handshake is paid on a connection's first request, on top of RTT:
	// TCP's and TLS 1.3's round trips.
	Handshake time.Duration
	// Bandwidth is the bytes per second of one connection; 0 is unlimited.
	Bandwidth int64
}

func (l link) String() string {
	bw := "unlimited"
	if l.Bandwidth > 0 {
		bw = fmt.Sprintf("%.1f MB/s", float64(l.Bandwidth)/1e6)
	}
	return fmt.Sprintf("RTT %v, handshake %v, %s per connection", l.RTT, l.Handshake, bw)
}

// connKey is the context key of a connection's state.
type connKey struct{}

type connState struct{ requests atomic.Int64 }

// simulator is an upstream module proxy: it serves the bodies under dir
// (laid out like GOPROXY) and the checksum database under /sumdb/, through
// a simulated link.
type simulator struct {
	dir   string
	sumdb http.Handler
	link  atomic.Pointer[link]
	// extra, when set, answers module files the trace does not hold,
	// which other proxies ask for (a version's .info before its .mod,
	// Athens' go command the .zip too): from the real proxy once, from
	// its cache afterwards.
	extra atomic.Pointer[sumdbCache]
}

// setLink changes the simulated network for the requests that follow.
func (s *simulator) setLink(l link) { s.link.Store(&l) }

// start serves s on a loopback port and returns its base URL and a stop
// function.
func (s *simulator) start() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	hs := &http.Server{
		Handler: s,
		ConnContext: func(ctx context.Context, _ net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, &connState{})
		},
	}
	go hs.Serve(ln)
	return "http://" + ln.Addr().String(), func() { hs.Close() }, nil
}

func (s *simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l := *s.link.Load()
	delay := l.RTT
	if st, ok := r.Context().Value(connKey{}).(*connState); ok && st.requests.Add(1) == 1 {
		delay += l.Handshake
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	if l.Bandwidth > 0 {
		w = &paced{ResponseWriter: w, bw: l.Bandwidth, start: time.Now()}
	}
	if strings.HasPrefix(r.URL.Path, "/sumdb/") {
		s.sumdb.ServeHTTP(w, r)
		return
	}
	file, ok := localPath(s.dir, r.URL.Path)
	if !ok {
		http.Error(w, "bad path", http.StatusBadRequest)
		return
	}
	f, err := os.Open(file)
	if err != nil {
		if extra := s.extra.Load(); extra != nil && strings.Contains(r.URL.Path, "/@v/") {
			extra.ServeHTTP(w, r)
			return
		}
		http.Error(w, "not found: "+r.URL.Path, http.StatusNotFound)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		http.Error(w, "not found: "+r.URL.Path, http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
	w.Header().Set("Content-Type", "application/octet-stream")
	io.Copy(w, f)
}

// localPath maps a URL path to a file under dir, refusing any path that
// could leave it.
func localPath(dir, urlPath string) (string, bool) {
	p := strings.TrimPrefix(urlPath, "/")
	if p == "" || strings.Contains(p, "\\") || strings.Contains(p, "\x00") {
		return "", false
	}
	for elem := range strings.SplitSeq(p, "/") {
		if elem == "" || elem == "." || elem == ".." {
			return "", false
		}
	}
	return filepath.Join(dir, filepath.FromSlash(p)), true
}

// paced writes no faster than bw bytes a second.
type paced struct {
	http.ResponseWriter
	bw    int64
	start time.Time
	sent  int64
}

func (p *paced) Write(b []byte) (int, error) {
	const chunk = 16 << 10
	n := 0
	for len(b) > 0 {
		c := min(len(b), chunk)
		m, err := p.ResponseWriter.Write(b[:c])
		n += m
		p.sent += int64(m)
		if err != nil {
			return n, err
		}
		b = b[c:]
		due := p.start.Add(time.Duration(float64(p.sent) / float64(p.bw) * float64(time.Second)))
		if d := time.Until(due); d > 0 {
			if f, ok := p.ResponseWriter.(http.Flusher); ok {
				f.Flush()
			}
			time.Sleep(d)
		}
	}
	return n, nil
}

// sumdbCache passes /sumdb/ requests through to a real module proxy's
// /sumdb/ once, and answers them from a cache directory afterwards.
type sumdbCache struct {
	dir      string
	upstream string // base URL of the real proxy, without a trailing slash
	client   *http.Client
	misses   atomic.Int64 // requests that went to the network
}

func (c *sumdbCache) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	file, ok := localPath(c.dir, r.URL.EscapedPath())
	if !ok {
		http.Error(w, "bad path", http.StatusBadRequest)
		return
	}
	status, body, err := c.get(r.Context(), r.URL.EscapedPath(), file)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// get returns the cached answer for path, fetching it the first time.
func (c *sumdbCache) get(ctx context.Context, path, file string) (int, []byte, error) {
	if body, err := os.ReadFile(file); err == nil {
		return http.StatusOK, body, nil
	}
	if _, err := os.Stat(file + ".404"); err == nil {
		return http.StatusNotFound, []byte("not found\n"), nil
	}
	c.misses.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.upstream+path, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return http.StatusOK, body, writeAtomic(file, body)
	case http.StatusNotFound, http.StatusGone:
		return http.StatusNotFound, body, writeAtomic(file+".404", nil)
	default:
		return 0, nil, fmt.Errorf("%s: %s", path, resp.Status)
	}
}

// writeAtomic writes data to file through a temporary file and a rename.
func writeAtomic(file string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(file), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
