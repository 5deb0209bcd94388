package server

import (
	"crypto/sha1"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/access"
	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/maven"
	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/store/disk"
)

func TestMavenRoutes(t *testing.T) {
	const jarPath = "/org/example/demo/1.0/demo-1.0.jar"
	jar := []byte("a jar served through the whole server")
	sum := sha1.Sum(jar)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case jarPath:
			w.Write(jar)
		case jarPath + ".sha1":
			w.Write([]byte(hex.EncodeToString(sum[:])))
		default:
			http.NotFound(w, r)
		}
	}))
	defer up.Close()
	_, ts := newTestServer(t, func(c *config.Config) { c.Maven.Repos = up.URL + "/" })
	for _, tt := range []struct {
		path    string
		code    int
		bodyHas string
	}{
		{"/maven2" + jarPath, 200, string(jar)},
		{"/maven2" + jarPath + ".sha1", 200, hex.EncodeToString(sum[:])},
		{"/maven2/org/example/demo/../demo/1.0/demo-1.0.jar", 400, "dot"},
		{"/metrics", 200, `ecosystem="maven"`},
		{"/mirrorz.json", 200, `"maven"`},
		{"/status.json", 200, `"maven"`},
		{"/help/maven", 200, ts.URL + "/maven2/"},
	} {
		resp, body := do(t, "GET", ts.URL+tt.path)
		if resp.StatusCode != tt.code || !strings.Contains(body, tt.bodyHas) {
			t.Errorf("GET %s: got %d %.200q, want %d with %q", tt.path, resp.StatusCode, body, tt.code, tt.bodyHas)
		}
	}
}

func TestMavenOff(t *testing.T) {
	_, ts := newTestServer(t, func(c *config.Config) { c.Maven.Enabled = false })
	if resp, _ := do(t, "GET", ts.URL+"/maven2/org/example/demo/1.0/demo-1.0.jar"); resp.StatusCode == 200 {
		t.Errorf("GET a Maven file with the Maven mirror off: got 200")
	}
}

func TestMavenClassifier(t *testing.T) {
	dir := t.TempDir()
	st, err := disk.New(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	cache, err := pull.New(pull.Config{Store: st, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	mh, err := maven.New(maven.Config{
		Cache:         cache,
		Repositories:  []maven.Repository{{URL: "https://nexus.corp.example/private/", Username: "ci", Password: "pw"}, {URL: maven.DefaultRepository}},
		PrivateGroups: []string{"com.corp"},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := http.NotFoundHandler()
	rt := &router{routes: []route{{prefix: maven.Prefix, ecosystem: maven.Ecosystem, handler: mh,
		subject: maven.Subject, private: mh.PrivateSubject}}, goproxy: h, ops: h}
	classify := classifier(rt, "")
	for _, tt := range []struct {
		path string
		want access.Subject
	}{
		{"/maven2/com/corp/billing/2.0/billing-2.0.jar", access.Subject{Ecosystem: "maven", Name: "com.corp/billing", Private: true}},
		{"/maven2/com/corp/billing/maven-metadata.xml", access.Subject{Ecosystem: "maven", Name: "com.corp/billing", Private: true}},
		{"/maven2/org/slf4j/slf4j-api/2.0.9/slf4j-api-2.0.9.pom.sha1", access.Subject{Ecosystem: "maven", Name: "org.slf4j/slf4j-api"}},
		{"/maven2/com/corp/%2e%2e/x/1/x-1.jar", access.Subject{Ecosystem: "maven", Invalid: true}},
	} {
		r := httptest.NewRequest(http.MethodGet, tt.path, nil)
		if got := classify(r); got != tt.want {
			t.Errorf("%s: got %+v, want %+v", tt.path, got, tt.want)
		}
	}
}

func TestMavenPrivateNeedsARule(t *testing.T) {
	allow := true
	rules := func(paths ...string) access.RulesSource {
		r := &access.Rules{Rules: []access.Rule{{Users: []string{"ci"}, Ecosystems: []string{"maven"}, Paths: paths, Allow: &allow}}}
		return func() *access.Rules { return r }
	}
	for _, tt := range []struct {
		name, listen, groups string
		rules                access.RulesSource
		wantErr              bool
	}{
		{"no private groups", ":8080", "", nil, false},
		{"no rules", ":8080", "com.corp", nil, true},
		{"loopback", "127.0.0.1:8080", "com.corp", nil, false},
		{"the group but not below it", ":8080", "com.corp", rules("com.corp"), true},
		{"the group and below it", ":8080", "com.corp", rules("com.corp", "com.corp.*"), false},
		{"every group", ":8080", "*", rules("com.corp"), true},
		{"every group named", ":8080", "*", rules("*"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default(func(string) string { return "" })
			cfg.Listen, cfg.Maven.PrivateGroups = tt.listen, tt.groups
			err := checkMavenPrivateCovered(cfg, tt.rules)
			if (err != nil) != tt.wantErr {
				t.Errorf("got %v, want an error: %v", err, tt.wantErr)
			}
			if err != nil && (!strings.Contains(err.Error(), "--access-rules") || !strings.Contains(err.Error(), "loopback")) {
				t.Errorf("the error does not name the fixes: %v", err)
			}
		})
	}
}
