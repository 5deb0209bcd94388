package s3

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/store"
	"github.com/gomirror/gomirror/internal/store/storetest"
)

// TestFull has a fake S3 server refuse uploads as MinIO and Ceph do when
// they have no room: Put and PutFile give errors matching store.ErrFull.
// Other refusals do not.
func TestFull(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		code     string
		wantFull bool
	}{
		{"MinIO drives full", http.StatusInsufficientStorage, "XMinioStorageFull", true},
		{"MinIO bucket quota", http.StatusBadRequest, "XMinioAdminBucketQuotaExceeded", true},
		{"Ceph quota", http.StatusForbidden, "QuotaExceeded", true},
		{"507 with another code", http.StatusInsufficientStorage, "InsufficientStorage", true},
		{"access denied", http.StatusForbidden, "AccessDenied", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				if r.Method == http.MethodHead {
					return // the bucket exists
				}
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(tt.status)
				fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>refused for the test</Message><Resource>%s</Resource></Error>`, tt.code, r.URL.Path)
			}))
			t.Cleanup(srv.Close)
			getenv := func(k string) string {
				return map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "testsecret"}[k]
			}
			s, err := New(t.Context(), "s3://bucket?region=us-east-1&endpoint="+srv.URL, getenv, nil)
			if err != nil {
				t.Fatal(err)
			}
			const name = "example.com/full/@v/v1.0.0.zip"
			data := storetest.Content(1, 1000)
			f := storetest.TempFile(t, t.TempDir(), data)
			for what, err := range map[string]error{
				"Put":     s.Put(t.Context(), name, strings.NewReader(string(data))),
				"PutFile": s.PutFile(t.Context(), name, f),
			} {
				if err == nil {
					t.Fatalf("%s: got no error, want the server's refusal", what)
				}
				if got := errors.Is(err, store.ErrFull); got != tt.wantFull {
					t.Errorf("%s: got error %q; errors.Is(err, store.ErrFull) = %v, want %v", what, err, got, tt.wantFull)
				}
				if !strings.Contains(err.Error(), tt.code) {
					t.Errorf("%s: got error %q, want it to name the code %s", what, err, tt.code)
				}
			}
			storetest.CheckFileStillReadable(t, f, data)
			if _, err := os.Stat(f.Name()); err != nil {
				t.Errorf("fill's file after PutFile to S3: %v, want it left at its path", err)
			}
		})
	}
}
