package pull

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

func TestStoredForm(t *testing.T) {
	const u = "https://registry.example/left-pad"
	resp := &http.Response{
		Header: http.Header{"Etag": {`"v1"`}, "Last-Modified": {"Mon, 02 Jan 2006 15:04:05 GMT"}},
		Body:   BytesBody([]byte(`{"name":"left-pad"}`)),
	}
	b := StoredBody(resp, u)
	data, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.(interface{ Size() int64 }).Size(); got != int64(len(data)) {
		t.Errorf("Size: got %d, want %d", got, len(data))
	}
	v, body, err := SplitStored(data)
	if err != nil || string(body) != `{"name":"left-pad"}` || v.ETag != `"v1"` || v.URL != u {
		t.Errorf("SplitStored: got %+v, %q, %v; want the validators and the body back", v, body, err)
	}

	tests := []struct {
		name, stored, url string
		want              http.Header
	}{
		{"etag", `{"etag":"\"v1\"","last_modified":"x","url":"` + u + `"}` + "\n{}", u, http.Header{"If-None-Match": {`"v1"`}}},
		{"last modified", `{"last_modified":"Mon, 02 Jan 2006 15:04:05 GMT","url":"` + u + `"}` + "\n{}", u, http.Header{"If-Modified-Since": {"Mon, 02 Jan 2006 15:04:05 GMT"}}},
		{"other url", `{"etag":"\"v1\"","url":"https://elsewhere.example/"}` + "\n{}", u, http.Header{}},
		{"no header line", `{}`, u, http.Header{}},
		{"junk", "not json\n{}", u, http.Header{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := http.Header{}
			Revalidate(got, strings.NewReader(tt.stored), tt.url)
			if len(got) != len(tt.want) || got.Get("If-None-Match") != tt.want.Get("If-None-Match") || got.Get("If-Modified-Since") != tt.want.Get("If-Modified-Since") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	got := http.Header{}
	Revalidate(got, nil, u)
	if len(got) != 0 {
		t.Errorf("nil prev: got %v, want no header", got)
	}
	for _, bad := range []string{"", "{}", "[1]\n{}", strings.Repeat(" ", MaxValidatorsLine+1) + "\n{}"} {
		if _, _, err := SplitStored([]byte(bad)); err == nil {
			t.Errorf("SplitStored(%.20q): got no error, want one", bad)
		}
	}
}

func TestCheckStored(t *testing.T) {
	var got string
	check := CheckStored(func(_ context.Context, body []byte) error {
		got = string(body)
		if got == "bad" {
			return errors.New("bad body")
		}
		return nil
	})
	tests := []struct{ name, file, wantBody, wantErr string }{
		{"stored form", `{"url":"u"}` + "\n" + "body", "body", ""},
		{"check fails", `{"url":"u"}` + "\n" + "bad", "bad", "bad body"},
		{"no header line", "body", "", "no header line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = ""
			f, err := os.CreateTemp(t.TempDir(), "stored")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			f.WriteString(tt.file)
			f.Seek(0, io.SeekStart)
			err = check(t.Context(), f)
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Errorf("got error %v, want %q", err, tt.wantErr)
			}
			if got != tt.wantBody {
				t.Errorf("check saw %q, want %q", got, tt.wantBody)
			}
		})
	}
}
