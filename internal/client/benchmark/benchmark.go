// Package benchmark measures Go module mirrors on what the go command really
// fetches: the .info, .mod and .zip of a few small popular modules, the
// checksum database's signed tree head through the mirror's /sumdb/, and the
// version list of a frequently released module, to tell whether the mirror
// is up to date. Mirrors are measured in parallel, each over its own
// connections.
package benchmark

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"

	"github.com/gomirror/gomirror/internal/client/probes"
)

// Mirror is a mirror to measure.
type Mirror struct {
	// Name is what the report calls it (a preset name or the URL).
	Name string
	// URL is the GOPROXY base URL.
	URL string
}

// Options says what to measure. Mirrors is required.
type Options struct {
	Mirrors []Mirror
	// Modules are fetched from every mirror; nil means probes.Modules().
	Modules []module.Version
	// FreshModule's @v/list decides freshness; "" means probes.FreshModule.
	FreshModule string
	// SumDB is the checksum database whose /latest is fetched through each
	// mirror; "" means sum.golang.org.
	SumDB string
	// Timeout bounds the whole run; zero means 15s.
	Timeout time.Duration
	// Transport returns a new transport for each mirror, so each one is
	// measured on its own connections; nil means one that honours the
	// proxy environment variables.
	Transport func() http.RoundTripper
	// Progress, when not nil, receives live progress lines ("\r"-updated).
	Progress io.Writer
}

// Result is one mirror's measurements. Durations are in milliseconds.
type Result struct {
	Rank int    `json:"rank"`
	Name string `json:"name"`
	URL  string `json:"url"`
	// DNSMs, ConnectMs and TLSMs are from the first connection.
	DNSMs     float64 `json:"dns_ms"`
	ConnectMs float64 `json:"connect_ms"`
	TLSMs     float64 `json:"tls_ms"`
	// TTFBMs is the mean time from sending a request to the first byte of
	// the answer, over successful requests.
	TTFBMs float64 `json:"ttfb_ms"`
	// TotalMs is the time all requests took, one after another.
	TotalMs float64 `json:"total_ms"`
	// Bytes is what was downloaded; BytesPerSec is Bytes over TotalMs.
	Bytes       int64   `json:"bytes"`
	BytesPerSec float64 `json:"bytes_per_sec"`
	Requests    int     `json:"requests"`
	Succeeded   int     `json:"succeeded"`
	SuccessRate float64 `json:"success_rate"`
	// Newest is the newest version of the fresh module this mirror lists.
	Newest string `json:"newest,omitempty"`
	// Fresh is "yes", "no" (lacks the newest version another mirror
	// lists) or "unknown" (no mirror listed the module).
	Fresh string `json:"fresh"`
	// Errors are the first few failures.
	Errors []string `json:"errors,omitempty"`
}

type progress struct {
	mu         sync.Mutex
	w          io.Writer
	done, all  int
	mirrorDone int
	mirrors    int
}

func (p *progress) step(mirrorFinished bool) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if mirrorFinished {
		p.mirrorDone++
	}
	fmt.Fprintf(p.w, "\rbench: %d/%d requests, %d/%d mirrors done", p.done, p.all, p.mirrorDone, p.mirrors)
}

// Run measures every mirror and returns the results best first: by success
// rate, then freshness, then total time. It never fails: what could not be
// fetched counts against the mirror.
func Run(ctx context.Context, opts Options) []Result {
	if opts.Modules == nil {
		opts.Modules = probes.Modules()
	}
	if opts.FreshModule == "" {
		opts.FreshModule = probes.FreshModule
	}
	if opts.SumDB == "" {
		opts.SumDB = probes.SumDB
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 15 * time.Second
	}
	if opts.Transport == nil {
		opts.Transport = func() http.RoundTripper {
			return &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{}}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	var prog *progress
	perMirror := 2 + 3*len(opts.Modules)
	if opts.Progress != nil {
		prog = &progress{w: opts.Progress, all: perMirror * len(opts.Mirrors), mirrors: len(opts.Mirrors)}
	}
	results := make([]Result, len(opts.Mirrors))
	lists := make([][]string, len(opts.Mirrors))
	var wg sync.WaitGroup
	for i, m := range opts.Mirrors {
		wg.Go(func() {
			results[i], lists[i] = measure(ctx, opts, m, prog)
		})
	}
	wg.Wait()
	if prog != nil {
		fmt.Fprintln(opts.Progress)
	}

	newest := ""
	for _, l := range lists {
		for _, v := range l {
			if semver.IsValid(v) && (newest == "" || semver.Compare(v, newest) > 0) {
				newest = v
			}
		}
	}
	for i := range results {
		r := &results[i]
		switch {
		case newest == "":
			r.Fresh = "unknown"
		case slices.Contains(lists[i], newest):
			r.Fresh = "yes"
		default:
			r.Fresh = "no"
		}
	}
	slices.SortStableFunc(results, compare)
	for i := range results {
		results[i].Rank = i + 1
	}
	return results
}

func freshRank(f string) int {
	switch f {
	case "yes":
		return 0
	case "unknown":
		return 1
	}
	return 2
}

func compare(a, b Result) int {
	if c := cmp.Compare(b.SuccessRate, a.SuccessRate); c != 0 {
		return c
	}
	if c := cmp.Compare(freshRank(a.Fresh), freshRank(b.Fresh)); c != 0 {
		return c
	}
	if c := cmp.Compare(a.TotalMs, b.TotalMs); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// measure fetches everything from one mirror, one request after another,
// as the go command does for a single module.
func measure(ctx context.Context, opts Options, m Mirror, prog *progress) (Result, []string) {
	r := Result{Name: m.Name, URL: m.URL}
	hc := &http.Client{Transport: opts.Transport()}
	defer hc.CloseIdleConnections()
	base := strings.TrimRight(m.URL, "/")

	var urls []string
	freshEsc, _ := module.EscapePath(opts.FreshModule)
	listURL := base + "/" + freshEsc + "/@v/list"
	urls = append(urls, listURL)
	for _, mod := range opts.Modules {
		ep, err1 := module.EscapePath(mod.Path)
		ev, err2 := module.EscapeVersion(mod.Version)
		if err1 != nil || err2 != nil {
			continue
		}
		for _, ext := range []string{".info", ".mod", ".zip"} {
			urls = append(urls, base+"/"+ep+"/@v/"+ev+ext)
		}
	}
	urls = append(urls, base+"/sumdb/"+opts.SumDB+"/latest")

	var list []string
	var ttfbSum, total time.Duration
	connected := false
	for n, u := range urls {
		r.Requests++
		body, t, err := get(ctx, hc, u)
		total += t.total
		if !connected && t.connect > 0 {
			connected = true
			r.DNSMs, r.ConnectMs, r.TLSMs = millis(t.dns), millis(t.connect), millis(t.tls)
		}
		if err != nil {
			if len(r.Errors) < 3 {
				r.Errors = append(r.Errors, err.Error())
			}
		} else {
			r.Succeeded++
			r.Bytes += int64(len(body))
			ttfbSum += t.ttfb
			if u == listURL {
				list = strings.Fields(string(body))
				for _, v := range list {
					if semver.IsValid(v) && (r.Newest == "" || semver.Compare(v, r.Newest) > 0) {
						r.Newest = v
					}
				}
			}
		}
		prog.step(n == len(urls)-1)
	}
	r.TotalMs = millis(total)
	if r.Succeeded > 0 {
		r.TTFBMs = millis(ttfbSum / time.Duration(r.Succeeded))
	}
	if total > 0 {
		r.BytesPerSec = float64(r.Bytes) / total.Seconds()
	}
	if r.Requests > 0 {
		r.SuccessRate = float64(r.Succeeded) / float64(r.Requests)
	}
	return r, list
}

type timing struct {
	dns, connect, tls, ttfb, total time.Duration
}

func get(ctx context.Context, hc *http.Client, u string) ([]byte, timing, error) {
	var t timing
	var dnsStart, connStart, tlsStart, sent time.Time
	trace := &httptrace.ClientTrace{
		DNSStart:          func(httptrace.DNSStartInfo) { dnsStart = time.Now() },
		DNSDone:           func(httptrace.DNSDoneInfo) { t.dns = time.Since(dnsStart) },
		ConnectStart:      func(string, string) { connStart = time.Now() },
		ConnectDone:       func(string, string, error) { t.connect = time.Since(connStart) },
		TLSHandshakeStart: func() { tlsStart = time.Now() },
		TLSHandshakeDone:  func(tls.ConnectionState, error) { t.tls = time.Since(tlsStart) },
		WroteRequest:      func(httptrace.WroteRequestInfo) { sent = time.Now() },
		GotFirstResponseByte: func() {
			if !sent.IsZero() {
				t.ttfb = time.Since(sent)
			}
		},
	}
	start := time.Now()
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, u, nil)
	if err != nil {
		return nil, t, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.total = time.Since(start)
		return nil, t, fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	t.total = time.Since(start)
	if err != nil {
		return nil, t, fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, t, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return body, t, nil
}

// WriteTable prints results as a table, best first.
func WriteTable(w io.Writer, results []Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RANK\tMIRROR\tOK\tFRESH\tDNS\tCONNECT\tTTFB\tSPEED\tTOTAL")
	for _, r := range results {
		fmt.Fprintf(tw, "%d\t%s\t%d/%d\t%s\t%.0fms\t%.0fms\t%.0fms\t%s\t%.0fms\n",
			r.Rank, r.Name, r.Succeeded, r.Requests, r.Fresh, r.DNSMs, r.ConnectMs, r.TTFBMs, speed(r.BytesPerSec), r.TotalMs)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range results {
		for _, e := range r.Errors {
			fmt.Fprintf(w, "%s: %s\n", r.Name, e)
		}
	}
	return nil
}

func speed(bps float64) string {
	switch {
	case bps >= 1<<20:
		return fmt.Sprintf("%.1fMB/s", bps/(1<<20))
	case bps >= 1<<10:
		return fmt.Sprintf("%.1fKB/s", bps/(1<<10))
	}
	return fmt.Sprintf("%.0fB/s", bps)
}

// WriteJSON prints results as an indented JSON array, best first.
func WriteJSON(w io.Writer, results []Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(results)
}
