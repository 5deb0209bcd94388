package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/access"
	"github.com/gomirror/gomirror/internal/cargo"
	"github.com/gomirror/gomirror/internal/config"
)

// TestCargoThroughServer serves a crate through the whole server from a
// fake sparse index, with its status page row, help page and mirrorz.json
// entry.
func TestCargoThroughServer(t *testing.T) {
	crate := []byte(strings.Repeat("a crate through the server\n", 100))
	sum := sha256.Sum256(crate)
	up := http.NewServeMux()
	up.HandleFunc("/se/rv/served", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"name":"served","vers":"0.1.0","deps":[],"cksum":"%s","features":{},"yanked":false}`+"\n", hex.EncodeToString(sum[:]))
	})
	up.HandleFunc("/dl/served/0.1.0/download", func(w http.ResponseWriter, r *http.Request) { w.Write(crate) })
	upSrv := httptest.NewServer(up)
	defer upSrv.Close()
	_, ts := newTestServer(t, func(c *config.Config) {
		c.Cargo.Index = upSrv.URL + "/"
		c.Cargo.Download = upSrv.URL + "/dl/"
	})
	tests := []struct {
		path string
		code int
		want string
	}{
		{"/cargo/index/config.json", 200, `"dl":"` + ts.URL + `/cargo/api/v1/crates"`},
		{"/cargo/index/se/rv/served", 200, `"vers":"0.1.0"`},
		{"/cargo/api/v1/crates/served/0.1.0/download", 200, string(crate)},
		{"/cargo/api/v1/crates/served/9.0.0/download", 404, `{"errors":[{"detail":`},
		{"/cargo/index/1/served", 400, "the index file of served is at index/se/rv/served"},
		{"/help/cargo", 200, ts.URL + "/cargo/index/"},
		{"/", 200, "crates.io"},
		{"/mirrorz.json", 200, `"cname": "crates.io-index"`},
	}
	for _, tt := range tests {
		resp, body := do(t, "GET", ts.URL+tt.path)
		if resp.StatusCode != tt.code || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s: got %d %.200q, want %d with %q", tt.path, resp.StatusCode, body, tt.code, tt.want)
		}
	}
	_, metrics := do(t, "GET", ts.URL+"/metrics")
	if !strings.Contains(metrics, `ecosystem="cargo"`) {
		t.Errorf("/metrics has no series of the cargo ecosystem")
	}
}

func TestCargoClassifier(t *testing.T) {
	h := http.NotFoundHandler()
	rt := &router{routes: []route{{prefix: "/cargo/", ecosystem: "cargo", handler: h, subject: cargo.Subject}}, goproxy: h, ops: h}
	classify := classifier(rt, "")
	for _, tt := range []struct {
		path string
		want access.Subject
	}{
		{"/cargo/index/se/rd/Serde", access.Subject{Ecosystem: "cargo", Name: "serde"}},
		{"/cargo/api/v1/crates/Serde/1.0.0/download", access.Subject{Ecosystem: "cargo", Name: "serde"}},
		{"/cargo/index/config.json", access.Subject{Ecosystem: "cargo"}},
		{"/cargo/index/se/re/serde", access.Subject{Ecosystem: "cargo", Invalid: true}},
		{"/cargo%2Findex/se/rd/serde", access.Subject{Ecosystem: "cargo", Invalid: true}},
	} {
		r, err := http.NewRequest("GET", "http://mirror"+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := classify(r); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.path, got, tt.want)
		}
	}
}

func TestCargoImmutableNames(t *testing.T) {
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"cargo/crates/serde/serde-1.0.0.crate", true},
		{"cargo/index/serde", false},
		{"cargo/config.json", false},
	} {
		if got := immutableName(tt.name); got != tt.want {
			t.Errorf("immutableName(%q): got %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestCargoAccessRules denies a crate by name, in every spelling of its
// paths, while other crates pass.
func TestCargoAccessRules(t *testing.T) {
	up := httptest.NewServer(http.NotFoundHandler())
	defer up.Close()
	rules := filepath.Join(t.TempDir(), "rules.yaml")
	os.WriteFile(rules, []byte(`
rules:
  - ecosystem: cargo
    paths: ["secret*"]
    allow: false
  - allow: true
`), 0o600)
	_, ts := newTestServer(t, func(c *config.Config) {
		c.Access.Rules = rules
		c.Cargo.Index = up.URL + "/"
	})
	for _, tt := range []struct {
		path string
		code int
	}{
		{"/cargo/index/se/cr/secret", http.StatusForbidden},
		{"/cargo/index/SE/CR/Secret-Sauce", http.StatusForbidden},
		{"/cargo/api/v1/crates/SECRET/1.0.0/download", http.StatusForbidden},
		{"/cargo/index/ot/he/other", http.StatusNotFound},
		{"/cargo/index/config.json", http.StatusOK},
	} {
		resp, body := do(t, "GET", ts.URL+tt.path)
		if resp.StatusCode != tt.code {
			t.Errorf("GET %s: got %d (%.100s), want %d", tt.path, resp.StatusCode, body, tt.code)
		}
		// A denial of an api path comes in cargo's JSON, which cargo
		// shows its user.
		if tt.code == http.StatusForbidden && strings.Contains(tt.path, "/api/") && !strings.HasPrefix(body, `{"errors":[{"detail":`) {
			t.Errorf("GET %s: got the denial %.100q, want cargo's JSON errors", tt.path, body)
		}
	}
}
