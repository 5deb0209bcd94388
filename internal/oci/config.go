package oci

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
)

// Defaults of [Config].
const (
	DefaultManifestTTL     = 5 * time.Minute
	DefaultMaxBlobSize     = 64 << 30
	DefaultMaxManifestSize = 4 << 20
	DefaultMaxTagsListSize = 8 << 20
	DefaultMaxPageSize     = 10000
	// DockerHubURL is the upstream URL of Docker Hub's registry API.
	DockerHubURL = "https://registry-1.docker.io"
)

// Registry is one upstream registry that the mirror may reach.
type Registry struct {
	// Host is the registry's name as image references say it:
	// "docker.io", "ghcr.io", "registry.example.com:5000".
	Host string
	// URL is where its registry API answers: "https://ghcr.io". Empty
	// means https://<Host>, and for docker.io, DockerHubURL.
	URL string
	// Username and Password, when Username is set, are sent to the
	// registry's token service (or to the registry, for a Basic
	// challenge). They come from the environment or a file, never from
	// flags; see [ParseDockerConfig].
	Username, Password string
}

// Config configures a [Handler]. Cache and Registries are required.
type Config struct {
	// Cache is the pull-through core that stores and serves what the
	// mirror fetches.
	Cache *pull.Cache
	// Registries lists the upstream registries that may be reached;
	// requests for any other are refused.
	Registries []Registry
	// DefaultRegistry is the registry of names that do not start with a
	// registry host. Empty means docker.io, which must then be listed.
	DefaultRegistry string
	// ManifestTTL is how long a tag resolves to the digest it last
	// resolved to (and a tags list or referrers list is served) before
	// upstream is asked again. Zero means DefaultManifestTTL.
	ManifestTTL time.Duration
	// MaxBlobSize bounds one blob. Zero means DefaultMaxBlobSize (64 GiB).
	MaxBlobSize int64
	// MaxManifestSize bounds one manifest, index or referrers list. Zero
	// means DefaultMaxManifestSize (4 MiB).
	MaxManifestSize int64
	// MaxTagsListSize bounds a repository's whole tags list. Zero means
	// DefaultMaxTagsListSize (8 MiB).
	MaxTagsListSize int64
	// MaxPageSize is the largest n a tags list request may ask for. Zero
	// means DefaultMaxPageSize.
	MaxPageSize int
	// HTTPUpstream gives the settings of upstream requests: client,
	// bounds, retries and the allow-list of other hosts that redirects
	// may name. The mirror fetches from each registry's host (and the
	// CDNs that well-known registries redirect blobs to) with that
	// registry's credentials. Nil means a zero pull.HTTPUpstream with HTTP.
	HTTPUpstream *pull.HTTPUpstream
	// HTTP makes upstream requests when HTTPUpstream is nil. Nil means a
	// client with the environment's proxy settings.
	HTTP *http.Client
	// Logger receives upstream and auth events. Nil discards them.
	Logger *slog.Logger
	// Now returns the current time, for token expiry. Nil means time.Now.
	Now func() time.Time
}

// Validate reports the first bad field of c, by name.
func (c *Config) Validate() error {
	if c.Cache == nil {
		return errors.New("oci: Cache is required")
	}
	if len(c.Registries) == 0 {
		return errors.New("oci: Registries: no registry configured")
	}
	seen := map[string]bool{}
	for i, r := range c.Registries {
		if err := checkHost(r.Host); err != nil || r.Host == "" {
			return fmt.Errorf("oci: Registries[%d].Host: invalid registry host %q", i, r.Host)
		}
		h := NormalizeRegistry(r.Host)
		if seen[h] {
			return fmt.Errorf("oci: Registries[%d].Host: %s listed twice", i, h)
		}
		seen[h] = true
		if r.URL != "" {
			u, err := url.Parse(r.URL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
				return fmt.Errorf("oci: Registries[%d].URL: %q is not an http or https URL without credentials or query", i, r.URL)
			}
		}
		if r.Password != "" && r.Username == "" {
			return fmt.Errorf("oci: Registries[%d]: a password without a username", i)
		}
	}
	def := c.DefaultRegistry
	if def == "" {
		def = DockerHub
	}
	if !seen[NormalizeRegistry(def)] {
		return fmt.Errorf("oci: DefaultRegistry: %s is not among the configured registries", def)
	}
	switch {
	case c.ManifestTTL < 0:
		return errors.New("oci: ManifestTTL: negative")
	case c.MaxBlobSize < 0:
		return errors.New("oci: MaxBlobSize: negative")
	case c.MaxManifestSize < 0:
		return errors.New("oci: MaxManifestSize: negative")
	case c.MaxTagsListSize < 0:
		return errors.New("oci: MaxTagsListSize: negative")
	case c.MaxPageSize < 0:
		return errors.New("oci: MaxPageSize: negative")
	}
	return nil
}

// upstreamURL returns the base URL of r's registry API.
func (r Registry) upstreamURL() string {
	switch {
	case r.URL != "":
		return strings.TrimRight(r.URL, "/")
	case NormalizeRegistry(r.Host) == DockerHub:
		return DockerHubURL
	default:
		return "https://" + r.Host
	}
}

// Credentials are a username and password for one registry.
type Credentials struct {
	Username, Password string
}

// ParseDockerConfig reads the credentials of a Docker client
// configuration file (~/.docker/config.json, or a file in its format that
// holds only "auths"), by normalised registry host. Entries without an
// "auth" or "username"/"password" are skipped; helpers (credsStore) are
// not run.
func ParseDockerConfig(data []byte) (map[string]Credentials, error) {
	var f struct {
		Auths map[string]struct {
			Auth     string `json:"auth"`
			Username string `json:"username"`
			Password string `json:"password"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("parse docker config: %w", err)
	}
	out := map[string]Credentials{}
	for key, a := range f.Auths {
		host := key
		if u, err := url.Parse(key); err == nil && u.Host != "" {
			host = u.Host // "https://index.docker.io/v1/"
		}
		host = NormalizeRegistry(host)
		c := Credentials{Username: a.Username, Password: a.Password}
		if a.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(a.Auth)
			if err != nil {
				return nil, fmt.Errorf("parse docker config: auths[%q].auth: not base64", key)
			}
			user, pass, ok := strings.Cut(string(raw), ":")
			if !ok {
				return nil, fmt.Errorf("parse docker config: auths[%q].auth: not user:password", key)
			}
			c = Credentials{Username: user, Password: pass}
		}
		if c.Username != "" {
			out[host] = c
		}
	}
	return out, nil
}

// ApplyCredentials sets the credentials of each configured registry that
// has none from creds (as [ParseDockerConfig] returns them), by normalised
// host. Registries that creds does not name stay anonymous.
func (c *Config) ApplyCredentials(creds map[string]Credentials) {
	for i := range c.Registries {
		r := &c.Registries[i]
		if r.Username != "" {
			continue
		}
		if cr, ok := creds[NormalizeRegistry(r.Host)]; ok {
			r.Username, r.Password = cr.Username, cr.Password
		}
	}
}
