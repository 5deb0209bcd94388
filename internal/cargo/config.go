package cargo

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
)

// The crates.io sparse index and its download host.
const (
	DefaultIndex    = "https://index.crates.io/"
	DefaultDownload = "https://static.crates.io/crates/"
)

// Config configures a [Handler]. Cache is required; the zero value of
// every other field means its default.
type Config struct {
	// Cache is the pull-through core that stores and fills everything.
	Cache *pull.Cache
	// Index is the upstream sparse index's root, where its config.json
	// and index files are. Empty means [DefaultIndex].
	Index string
	// Download is the upstream's download root. Crates are fetched from
	// the dl template of the upstream's config.json, which must be on
	// this host or the index's; when the upstream has no config.json,
	// from Download + "{crate}/{version}/download". Empty means
	// [DefaultDownload].
	Download string
	// PublicURL is the mirror's root URL as clients reach it
	// ("https://mirror.example.com"); the config.json the mirror serves
	// names PublicURL + "/cargo/...". Empty means the scheme and Host of
	// each request (X-Forwarded-Proto is honored).
	PublicURL string
	// TTL is how long an index file stays fresh. Zero means 5 minutes.
	TTL time.Duration
	// RefreshAfter is the age from which a stored index file is refreshed
	// early when a version it lacks is downloaded. Zero means 30 seconds.
	RefreshAfter time.Duration
	// MaxIndexSize bounds an index file from upstream. Zero means 64 MiB.
	MaxIndexSize int64
	// MaxCrateSize bounds a .crate from upstream. Zero means 1 GiB.
	MaxCrateSize int64
	// Upstream sends the upstream requests. Nil means the zero
	// HTTPUpstream. Its client's redirects are limited to the index's and
	// the download's hosts.
	Upstream *pull.HTTPUpstream
	// Logger receives request failures. Nil discards them.
	Logger *slog.Logger
}

// Validate reports every invalid field of c, naming it.
func (c *Config) Validate() error {
	var errs []error
	if c.Cache == nil {
		errs = append(errs, errors.New("cargo: Cache is required"))
	}
	for _, f := range []struct{ name, v string }{{"index", c.Index}, {"download", c.Download}, {"public URL", c.PublicURL}} {
		if f.v == "" {
			continue
		}
		if err := pull.CheckRootURL(f.v); err != nil {
			errs = append(errs, fmt.Errorf("cargo: %s: %w", f.name, err))
		}
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"TTL", int64(c.TTL)}, {"RefreshAfter", int64(c.RefreshAfter)},
		{"MaxIndexSize", c.MaxIndexSize}, {"MaxCrateSize", c.MaxCrateSize},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("cargo: %s is negative", f.name))
		}
	}
	return errors.Join(errs...)
}

func (c *Config) withDefaults() Config {
	d := *c
	if d.Index == "" {
		d.Index = DefaultIndex
	}
	if d.Download == "" {
		d.Download = DefaultDownload
	}
	d.Index, d.Download = pull.RootURL(d.Index), pull.RootURL(d.Download)
	d.PublicURL = strings.TrimRight(d.PublicURL, "/")
	if d.TTL == 0 {
		d.TTL = 5 * time.Minute
	}
	if d.RefreshAfter == 0 {
		d.RefreshAfter = 30 * time.Second
	}
	if d.MaxIndexSize == 0 {
		d.MaxIndexSize = 64 << 20
	}
	if d.MaxCrateSize == 0 {
		d.MaxCrateSize = 1 << 30
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return d
}

// hostsOf returns the lower-cased hosts (with ports) of urls.
func hostsOf(urls ...string) []string {
	var hosts []string
	for _, raw := range urls {
		if u, err := url.Parse(raw); err == nil && u.Host != "" {
			hosts = append(hosts, strings.ToLower(u.Host))
		}
	}
	return hosts
}

// allowed reports whether u is an http(s) URL on one of hosts.
func allowed(hosts []string, u *url.URL) bool {
	if u.Scheme != "http" && u.Scheme != "https" {
		return false
	}
	h := strings.ToLower(u.Host)
	for _, a := range hosts {
		if h == a {
			return true
		}
	}
	return false
}
