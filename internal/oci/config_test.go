package oci

import (
	"strings"
	"testing"

	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/store/memstore"
)

func TestParseDockerConfig(t *testing.T) {
	data := []byte(`{"auths": {
		"https://index.docker.io/v1/": {"auth": "aHViOnNlY3JldA=="},
		"ghcr.io": {"username": "gh", "password": "tok"},
		"quay.io": {"identitytoken": "x"}
	}, "credsStore": "desktop"}`)
	got, err := ParseDockerConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["docker.io"] != (Credentials{"hub", "secret"}) || got["ghcr.io"] != (Credentials{"gh", "tok"}) {
		t.Errorf("got %+v", got)
	}
	for _, bad := range []string{`{`, `{"auths": {"x.io": {"auth": "%%%"}}}`, `{"auths": {"x.io": {"auth": "bm9jb2xvbg=="}}}`} {
		if _, err := ParseDockerConfig([]byte(bad)); err == nil {
			t.Errorf("%s: got no error", bad)
		}
	}
	cfg := Config{Registries: []Registry{{Host: "index.docker.io"}, {Host: "ghcr.io", Username: "own", Password: "p"}, {Host: "quay.io"}}}
	cfg.ApplyCredentials(got)
	if r := cfg.Registries; r[0].Username != "hub" || r[1].Username != "own" || r[2].Username != "" {
		t.Errorf("after ApplyCredentials: %+v", r)
	}
}

func TestConfigValidate(t *testing.T) {
	cache, err := pull.New(pull.Config{Store: memstore.New(), TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ok := func() Config {
		return Config{Cache: cache, Registries: []Registry{{Host: "docker.io"}, {Host: "ghcr.io", URL: "https://ghcr.io"}}}
	}
	if c := ok(); c.Validate() != nil {
		t.Fatalf("a good config: %v", c.Validate())
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no cache", func(c *Config) { c.Cache = nil }, "Cache"},
		{"no registries", func(c *Config) { c.Registries = nil }, "Registries"},
		{"bad host", func(c *Config) { c.Registries[1].Host = "https://ghcr.io" }, "Registries[1].Host"},
		{"duplicate", func(c *Config) { c.Registries[1].Host = "index.docker.io" }, "listed twice"},
		{"bad URL", func(c *Config) { c.Registries[1].URL = "ftp://ghcr.io" }, "Registries[1].URL"},
		{"credentials in URL", func(c *Config) { c.Registries[1].URL = "https://u:p@ghcr.io" }, "Registries[1].URL"},
		{"password alone", func(c *Config) { c.Registries[0].Password = "p" }, "password without a username"},
		{"default not listed", func(c *Config) { c.DefaultRegistry = "quay.io" }, "DefaultRegistry"},
		{"docker.io not listed", func(c *Config) { c.Registries = c.Registries[1:] }, "DefaultRegistry"},
		{"negative TTL", func(c *Config) { c.ManifestTTL = -1 }, "ManifestTTL"},
		{"negative blob size", func(c *Config) { c.MaxBlobSize = -1 }, "MaxBlobSize"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok()
			tt.change(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error naming %s", err, tt.want)
			}
			if _, nerr := New(c); nerr == nil {
				t.Errorf("New accepted it")
			}
		})
	}
}
