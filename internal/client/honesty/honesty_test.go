package honesty

import (
	"net/http/httptest"
	"testing"

	"golang.org/x/mod/module"

	"github.com/gomirror/gomirror/internal/client/mirrortest"
	"github.com/gomirror/gomirror/internal/client/probes"
	"github.com/gomirror/gomirror/internal/client/proxychain"
)

func TestVerify(t *testing.T) {
	u, err := mirrortest.NewUniverse(probes.SumDB, mirrortest.DefaultModules())
	if err != nil {
		t.Fatal(err)
	}
	fast := httptest.NewServer(u.Handler(mirrortest.Fast))
	defer fast.Close()
	liar := httptest.NewServer(u.Handler(mirrortest.Lying))
	defer liar.Close()
	stale := httptest.NewServer(u.Handler(mirrortest.Stale))
	defer stale.Close()
	m := probes.Known()
	wantZip, _, _ := u.Hashes(m.Path, m.Version)

	tests := []struct {
		name         string
		goproxy      string
		wantIndex    int
		wantMismatch bool
	}{
		{"honest", fast.URL + ",direct", 1, false},
		{"lying", liar.URL, 1, true},
		{"stale mirror has the old version", stale.URL + "," + fast.URL, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Verify(t.Context(), Options{
				Chain:   proxychain.Parse(tt.goproxy),
				GOSUMDB: u.VerifierKey,
				Module:  m,
			})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.Index != tt.wantIndex {
				t.Errorf("answered by entry %d, want %d", res.Index, tt.wantIndex)
			}
			if got := !res.OK(); got != tt.wantMismatch {
				t.Fatalf("mismatch = %v (%v), want %v", got, res.Mismatches, tt.wantMismatch)
			}
			if tt.wantMismatch {
				if mm := res.Mismatches[0]; mm.File != "zip" || mm.Want != wantZip || mm.Got == wantZip {
					t.Errorf("got mismatch %+v, want zip with want %s", mm, wantZip)
				}
			}
			if res.SumDBURL == "" {
				t.Errorf("got no checksum database URL")
			}
		})
	}

	t.Run("newest version behind a stale mirror", func(t *testing.T) {
		res, err := Verify(t.Context(), Options{
			Chain:   proxychain.Parse(stale.URL + "," + fast.URL),
			GOSUMDB: u.VerifierKey,
			Module:  module.Version{Path: probes.FreshModule, Version: "v0.2.0"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Index != 2 {
			t.Errorf("answered by entry %d, want 2", res.Index)
		}
	})

	t.Run("wrong key", func(t *testing.T) {
		_, err := Verify(t.Context(), Options{
			Chain:   proxychain.Parse(fast.URL),
			GOSUMDB: "sum.golang.org",
			Module:  m,
		})
		if err == nil {
			t.Fatal("got no error with the wrong checksum database key, want one")
		}
	})
}

func TestParseGOSUMDB(t *testing.T) {
	tests := []struct {
		in, wantURL string
		wantErr     bool
	}{
		{"", "", false},
		{"sum.golang.org https://goproxy.cn/sumdb/sum.golang.org/", "https://goproxy.cn/sumdb/sum.golang.org", false},
		{"sum.golang.google.cn", "https://sum.golang.google.cn", false},
		{"off", "", true},
		{"a b c", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, u, err := parseGOSUMDB(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if u != tt.wantURL {
				t.Errorf("got URL %q, want %q", u, tt.wantURL)
			}
		})
	}
}
