package server

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/gomirror/gomirror/internal/metrics"
	"github.com/gomirror/gomirror/internal/pull"
)

var statusLogged = regexp.MustCompile(`status=[0-9]+`)

type fixedLabels struct{}

func (fixedLabels) ecosystem(*http.Request) string { return "npm" }
func (fixedLabels) kind(*http.Request) string      { return "packument" }

// lockedBuffer is a log destination for handlers on other goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// A client that hangs up is logged and counted as 499, whatever the handler
// then wrote (or did not), and never as a server error.
func TestClientHangUpIs499(t *testing.T) {
	tests := []struct {
		name    string
		respond func(w http.ResponseWriter)
		want    int
	}{
		{"handler writes 500 after the hang-up", func(w http.ResponseWriter) {
			pull.WriteText(w, http.StatusInternalServerError, "internal error")
		}, pull.StatusClientClosed},
		{"handler writes 502 after the hang-up", func(w http.ResponseWriter) {
			pull.WriteText(w, http.StatusBadGateway, "upstream: context canceled")
		}, pull.StatusClientClosed},
		{"handler writes nothing", func(http.ResponseWriter) {}, pull.StatusClientClosed},
		{"handler writes 404", func(w http.ResponseWriter) {
			pull.WriteText(w, http.StatusNotFound, "not found")
		}, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs lockedBuffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			m := metrics.New(nil)
			entered := make(chan struct{})
			h := instrument(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(entered)
				<-r.Context().Done()
				tt.respond(w)
			}), log, m, fixedLabels{})
			served := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(served)
				h.ServeHTTP(w, r)
			}))
			defer srv.Close()
			ctx, cancel := context.WithCancel(t.Context())
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/npm/left-pad", nil)
			go func() {
				<-entered
				cancel()
			}()
			if resp, err := srv.Client().Do(req); err == nil {
				resp.Body.Close()
				t.Fatalf("request: got status %d, want the client to have hung up", resp.StatusCode)
			}
			<-served
			if got, want := statusLogged.FindAllString(logs.String(), -1), []string{"status=" + strconv.Itoa(tt.want)}; !slices.Equal(got, want) {
				t.Errorf("access log statuses: got %q, want %q\n%s", got, want, logs.String())
			}
			if got := testutil.ToFloat64(m.Requests.WithLabelValues("npm", "packument", strconv.Itoa(tt.want))); got != 1 {
				t.Errorf("requests counted with status %d: got %v, want 1", tt.want, got)
			}
			for _, code := range []string{"500", "502"} {
				if got := testutil.ToFloat64(m.Requests.WithLabelValues("npm", "packument", code)); got != 0 {
					t.Errorf("requests counted with status %s: got %v, want 0", code, got)
				}
			}
		})
	}
}
