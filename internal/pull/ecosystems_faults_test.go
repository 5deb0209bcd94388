package pull_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
)

// The upstream faults that every ecosystem must survive: whatever the
// upstream does, a client gets a gateway error with a one-line reason
// within the upstream bounds, nothing partial is stored, and once the
// upstream is healthy again the next request succeeds at once.

// faultBound is the upstream header and idle timeout of the fault tests:
// short, so that the tests run fast, and long enough for a healthy fake
// upstream in the same process.
const faultBound = 2 * time.Second

// watchdog bounds a request that must not wait for a stuck fill: far less
// than the bounds that would end the fill by themselves.
const watchdog = 30 * time.Second

type fault struct {
	name string
	set  func(g *gate)
	// want are the statuses a client may get while the fault lasts.
	want []int
}

var faults = []fault{
	{"upstream never sends headers", func(g *gate) { g.hang = true }, []int{http.StatusGatewayTimeout}},
	{"upstream stalls mid-body", func(g *gate) { g.stall = true }, []int{http.StatusBadGateway, http.StatusGatewayTimeout}},
	{"upstream refuses connections", func(g *gate) { g.refuse = true }, []int{http.StatusBadGateway}},
	{"upstream answers 5xx", func(g *gate) { g.down = true }, []int{http.StatusBadGateway, http.StatusServiceUnavailable}},
}

// setFault starts f at the rig's upstream, closing the idle connections
// that a refusing upstream would not have accepted.
func (r *rig) setFault(f fault) {
	r.gate.set(f.set)
	r.client.CloseIdleConnections()
}

func (r *rig) heal() { r.gate.set(healthy) }

// checkFaultAnswer checks one answer given while the upstream is at fault.
func checkFaultAnswer(t *testing.T, what string, f fault, code int, body []byte, err error, want []byte) {
	t.Helper()
	switch {
	case err != nil && code == http.StatusOK:
		// A streamed file cut short when its download failed: the client
		// can tell that it is not whole.
		if bytes.Equal(body, want) {
			t.Errorf("%s: got the whole file with a transfer error %v", what, err)
		}
	case err != nil:
		t.Errorf("%s: got %v, want an answer", what, err)
	case !contains(f.want, code):
		t.Errorf("%s: got %d %q, want one of %v", what, code, body, f.want)
	case len(bytes.TrimSpace(body)) == 0 || bytes.Count(bytes.TrimSuffix(body, []byte("\n")), []byte("\n")) != 0:
		t.Errorf("%s: got the reason %q, want one line", what, body)
	}
}

func contains(codes []int, c int) bool {
	for _, x := range codes {
		if x == c {
			return true
		}
	}
	return false
}

func TestEveryEcosystemUpstreamFaults(t *testing.T) {
	for _, e := range ecosystems {
		for _, f := range faults {
			t.Run(e.name+"/"+f.name, func(t *testing.T) {
				t.Parallel()
				r := newRigWith(t, e, rigOptions{header: faultBound, idle: faultBound})
				ctx, cancel := context.WithTimeout(t.Context(), watchdog)
				defer cancel()

				// Metadata that the mirror has never fetched.
				r.setFault(f)
				code, body, _, err := r.get(ctx, r.meta)
				checkFaultAnswer(t, "metadata", f, code, body, err, nil)
				r.heal()
				if code, body, _, err := r.get(ctx, r.meta); err != nil || code != http.StatusOK {
					t.Fatalf("metadata once the upstream recovered: got %d %q %v, want 200", code, body, err)
				}

				// A file whose metadata is stored.
				r.setFault(f)
				code, body, _, err = r.get(ctx, r.file)
				checkFaultAnswer(t, "file", f, code, body, err, r.want)
				if f.name != "upstream stalls mid-body" && r.stored(t) {
					t.Errorf("file stored while the upstream was at fault")
				}
				r.heal()
				code, body, _, err = r.get(ctx, r.file)
				if err != nil || code != http.StatusOK || !bytes.Equal(body, r.want) {
					t.Errorf("file once the upstream recovered: got %d, %d bytes, %v; want 200 and the %d bytes of the file", code, len(body), err, len(r.want))
				}
			})
		}
	}
}

// A request that comes once the upstream has recovered does not wait for
// a fill that is still stuck on the hung upstream: the core abandons that
// fill and starts afresh. The rig's stall timeout is tiny and its upstream
// bounds are long, so the stuck fill would hold a request that joined it
// for longer than the watchdog.
func TestEveryEcosystemLateRequestAfterRecovery(t *testing.T) {
	for _, e := range ecosystems {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			r := newRigWith(t, e, rigOptions{header: time.Hour, idle: time.Hour, stall: time.Nanosecond})
			for _, step := range []struct {
				what, path, up string
				want           []byte
			}{
				{"metadata", r.meta, "", nil},
				{"file", r.file, r.fileUp, r.want},
			} {
				held := make(chan string, 64)
				r.gate.set(func(g *gate) { g.hang, g.held = true, held })
				// A client asks during the hang and gives up.
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan struct{})
				go func() {
					defer close(done)
					r.get(ctx, step.path)
				}()
				for p := <-held; !strings.Contains(p, step.up); p = <-held {
				}
				cancel()
				<-done
				// The upstream recovers; the stuck fill goes on waiting.
				r.gate.set(func(g *gate) { g.hang, g.held = false, nil })
				wctx, stop := context.WithTimeout(t.Context(), watchdog)
				code, body, _, err := r.get(wctx, step.path)
				stop()
				if err != nil || code != http.StatusOK || (step.want != nil && !bytes.Equal(body, step.want)) {
					t.Fatalf("%s asked once the upstream recovered: got %d, %d bytes, %v; want 200 at once", step.what, code, len(body), err)
				}
			}
		})
	}
}

// A client that hangs up while its request waits for the upstream gets no
// server error: the handler writes nothing, or the core's 499.
func TestEveryEcosystemClientHangUpIsNotAServerError(t *testing.T) {
	for _, e := range ecosystems {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			r := newRigWith(t, e, rigOptions{header: time.Hour, idle: time.Hour, stall: time.Nanosecond})
			for _, step := range []struct{ what, path, up string }{
				{"metadata", r.meta, ""},
				{"file", r.file, r.fileUp},
			} {
				held := make(chan string, 64)
				r.gate.set(func(g *gate) { g.hang, g.held = true, held })
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error, 1)
				go func() {
					_, _, _, err := r.get(ctx, step.path)
					done <- err
				}()
				for p := <-held; !strings.Contains(p, step.up); p = <-held {
				}
				cancel()
				if err := <-done; !errors.Is(err, context.Canceled) {
					t.Fatalf("%s: the client got %v, want it to have hung up", step.what, err)
				}
				if code := <-r.answered; code != 0 && code != pull.StatusClientClosed {
					t.Errorf("%s: after the client hung up, the handler wrote %d, want nothing or %d", step.what, code, pull.StatusClientClosed)
				}
				r.gate.set(func(g *gate) { g.hang, g.held = false, nil })
				// What the next step needs, fetched while the upstream is
				// healthy.
				if code, body, _, err := r.get(t.Context(), step.path); err != nil || code != http.StatusOK {
					t.Fatalf("%s once the upstream recovered: got %d %q %v, want 200", step.what, code, body, err)
				}
				<-r.answered
			}
		})
	}
}
