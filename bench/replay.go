package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// replay asks base for every request of t with n parallel clients, in the
// trace's order, and checks every answer's status and body against it. It
// returns how long the whole trace took.
func replay(ctx context.Context, base string, t trace, n int) (time.Duration, error) {
	return replayChecked(ctx, base, t, n, false)
}

// replayLenient is replay for another proxy: a .info body may differ from
// the trace's (a proxy may write its own, such as Athens from the go
// command's), and "not found" may be 404 or 410. Every .mod and .zip must
// still be the trace's, byte for byte.
func replayLenient(ctx context.Context, base string, t trace, n int) (time.Duration, error) {
	return replayChecked(ctx, base, t, n, true)
}

func replayChecked(ctx context.Context, base string, t trace, n int, lenient bool) (time.Duration, error) {
	tr := &http.Transport{
		DisableCompression:  true,
		MaxIdleConnsPerHost: n,
		MaxConnsPerHost:     n,
	}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Minute}
	defer tr.CloseIdleConnections()

	work := make(chan int)
	after := t.after()
	answered := make([]chan struct{}, len(t))
	for i := range answered {
		answered[i] = make(chan struct{})
	}
	var (
		mu   sync.Mutex
		errs []string
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, fmt.Sprintf(format, args...))
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for i := range work {
				if j := after[i]; j >= 0 {
					select {
					case <-answered[j]:
					case <-ctx.Done():
					}
				}
				e := t[i]
				if err := check(ctx, client, base, e, lenient); err != nil {
					fail("%s: %v", e.Path, err)
				}
				close(answered[i])
			}
		})
	}
	for i := range t {
		select {
		case work <- i:
		case <-ctx.Done():
		}
	}
	close(work)
	wg.Wait()
	d := time.Since(start)
	if err := ctx.Err(); err != nil {
		return d, err
	}
	if len(errs) > 0 {
		n := len(errs)
		more := ""
		if len(errs) > 5 {
			more = fmt.Sprintf("\n\t... and %d more", len(errs)-5)
			errs = errs[:5]
		}
		return d, fmt.Errorf("%w: %d of %d:\n\t%s%s", errWrongAnswers, n, len(t), strings.Join(errs, "\n\t"), more)
	}
	return d, nil
}

// errWrongAnswers is wrapped by the error of a replay that got answers
// other than the trace's.
var errWrongAnswers = errors.New("answers wrong")

// check makes one request and compares the answer with e.
func check(ctx context.Context, client *http.Client, base string, e entry, lenient bool) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+e.Path, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	notFound := func(code int) bool { return code == http.StatusNotFound || code == http.StatusGone }
	if resp.StatusCode != e.Status && !(lenient && notFound(resp.StatusCode) && notFound(e.Status)) {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
		return fmt.Errorf("got status %d, want %d (%s)", resp.StatusCode, e.Status, strings.TrimSpace(string(msg)))
	}
	if e.Status != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	size, sum, err := hashReader(resp.Body)
	if err != nil {
		return err
	}
	if lenient && strings.HasSuffix(e.Path, ".info") {
		if size == 0 {
			return fmt.Errorf("got an empty .info")
		}
		return nil
	}
	if size != e.Size || sum != e.SHA256 {
		return fmt.Errorf("got %d bytes sha256 %s, want %d bytes sha256 %s", size, sum, e.Size, e.SHA256)
	}
	return nil
}

// getOK fetches url and fails unless it answers 200.
func getOK(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
