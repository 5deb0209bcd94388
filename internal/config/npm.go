package config

import (
	"fmt"
	"time"
)

// NPMConfig configures the npm mirror under /npm/. Tokens for private
// upstreams come from the environment or a file, never from a flag:
// GOMIRROR_NPM_UPSTREAM_TOKEN(_FILE) for the upstream,
// GOMIRROR_NPM_TOKEN(_FILE)_<SCOPE> for a routed scope.
type NPMConfig struct {
	Enabled   bool          // serve the npm mirror under /npm/
	Upstream  string        // the registry of every package whose scope is not routed
	Scopes    string        // @scope=URL list, comma-separated: scopes routed to their own registries
	PublicURL string        // the mirror's root URL as clients reach it, for tarball URLs
	TTL       time.Duration // how long a packument stays fresh
}

func defaultNPM() NPMConfig {
	return NPMConfig{Enabled: true, Upstream: "https://registry.npmjs.org/", TTL: 5 * time.Minute}
}

func (c *Config) npmSettings() []setting {
	n := &c.NPM
	return []setting{
		{name: "npm", usage: "serve the npm mirror under /npm/", flag: &n.Enabled},
		{name: "npm-upstream", usage: "the npm registry of every package whose scope is not routed elsewhere", str: &n.Upstream},
		{name: "npm-scopes", usage: "scopes routed to their own registries, comma-separated @scope=URL (tokens from GOMIRROR_NPM_TOKEN_<SCOPE> or GOMIRROR_NPM_TOKEN_FILE_<SCOPE>)", str: &n.Scopes},
		{name: "public-url", usage: "the mirror's root URL as clients reach it, for URLs it writes into metadata (default: each request's scheme and Host)", str: &n.PublicURL},
		{name: "npm-ttl", usage: "how long an npm packument stays fresh", dur: &n.TTL},
	}
}

func (n *NPMConfig) validate() error {
	if err := checkHTTPURL(n.Upstream); err != nil {
		return fmt.Errorf("npm-upstream: %w", err)
	}
	if n.PublicURL != "" {
		if err := checkHTTPURL(n.PublicURL); err != nil {
			return fmt.Errorf("public-url: %w", err)
		}
	}
	if n.TTL <= 0 {
		return fmt.Errorf("npm-ttl: must be positive, got %v", n.TTL)
	}
	return nil
}
