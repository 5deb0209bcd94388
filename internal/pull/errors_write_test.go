package pull

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWriteError(t *testing.T) {
	tests := []struct {
		name, method string
		code         int
		wantBody     string
		wantRetry    string
	}{
		{"get", http.MethodGet, http.StatusBadGateway, `{"error":"x"}`, ""},
		{"head", http.MethodHead, http.StatusNotFound, "", ""},
		{"store full", http.MethodGet, http.StatusInsufficientStorage, `{"error":"x"}`, "60"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			w.Header().Set("ETag", `"abc"`)
			w.Header().Set("Last-Modified", "Mon, 02 Jan 2006 15:04:05 GMT")
			MarkStale(w)
			WriteError(w, httptest.NewRequest(tt.method, "/", nil), tt.code, "application/json", []byte(`{"error":"x"}`))
			h := w.Result().Header
			if w.Code != tt.code || w.Body.String() != tt.wantBody {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Body.String(), tt.code, tt.wantBody)
			}
			for k, want := range map[string]string{
				"Content-Type": "application/json", "Content-Length": "13", "Cache-Control": "no-store",
				"X-Content-Type-Options": "nosniff", "Retry-After": tt.wantRetry, "Etag": "", "Last-Modified": "", StaleHeader: "",
			} {
				if got := h.Get(k); got != want {
					t.Errorf("%s: got %q, want %q", k, got, want)
				}
			}
		})
	}
}
