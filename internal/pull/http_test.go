package pull

import (
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestHTTPUpstream(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.Header().Set("Content-Length", "5")
			io.WriteString(w, "hello")
		case "/gone":
			http.Error(w, "no such release", http.StatusGone)
		case "/same":
			w.WriteHeader(http.StatusNotModified)
		case "/busy":
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(http.StatusTooManyRequests)
		case "/hang-headers":
			<-release
		case "/hang-body":
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "12345")
			w.(http.Flusher).Flush()
			<-release
		}
	}))
	defer srv.Close()
	defer close(release)
	u := &HTTPUpstream{Client: srv.Client(), HeaderTimeout: 100 * time.Millisecond, IdleTimeout: 100 * time.Millisecond}

	body, err := u.Get(t.Context(), srv.URL+"/ok", nil)
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := body.(interface{ Size() int64 }); !ok || s.Size() != 5 {
		t.Errorf("the body does not announce its 5 bytes")
	}
	if b, _ := io.ReadAll(body); string(b) != "hello" {
		t.Errorf("got %q, want hello", b)
	}
	body.Close()

	tests := []struct {
		path string
		is   error
		want int
		msg  string
	}{
		{"/gone", fs.ErrNotExist, 404, "no such release"},
		{"/same", ErrNotModified, 0, ""},
		{"/busy", ErrUpstream, 502, "429"},
		{"/hang-headers", os.ErrDeadlineExceeded, 504, "no response header within"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			_, err := u.Get(t.Context(), srv.URL+tt.path, nil)
			if !errors.Is(err, tt.is) {
				t.Fatalf("got %v, want an error matching %v", err, tt.is)
			}
			if tt.want != 0 && Status(err) != tt.want {
				t.Errorf("status: got %d, want %d", Status(err), tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
		})
	}

	t.Run("stall mid-body", func(t *testing.T) {
		body, err := u.Get(t.Context(), srv.URL+"/hang-body", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer body.Close()
		_, err = io.ReadAll(body)
		if !errors.Is(err, os.ErrDeadlineExceeded) || Status(err) != http.StatusGatewayTimeout {
			t.Errorf("got %v (status %d), want a 504 timeout", err, Status(err))
		}
	})
}
