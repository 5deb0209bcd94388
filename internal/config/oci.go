package config

import (
	"fmt"
	"strings"
	"time"
)

// OCIConfig configures the OCI registry mirror under /v2/.
type OCIConfig struct {
	Enabled         bool          // serve the OCI registry mirror under /v2/
	Registries      string        // HOST[=URL] list, comma-separated: the registries that may be reached
	DefaultRegistry string        // registry of names without one
	AuthFile        string        // a Docker config.json holding per-registry credentials
	ManifestTTL     time.Duration // how long a tag resolves to the digest it last resolved to
	MaxBlobSize     int64         // largest blob accepted from upstream
}

func defaultOCI() OCIConfig {
	return OCIConfig{Enabled: true, Registries: "docker.io", DefaultRegistry: "docker.io", ManifestTTL: 5 * time.Minute, MaxBlobSize: 64 << 30}
}

func (c *Config) ociSettings() []setting {
	o := &c.OCI
	return []setting{
		{name: "oci", usage: "serve the OCI registry mirror under /v2/", flag: &o.Enabled},
		{name: "oci-registries", usage: "registries that may be reached, comma-separated HOST[=URL] (URL defaults to https://HOST)", str: &o.Registries},
		{name: "oci-default-registry", usage: "registry of image names that do not start with one", str: &o.DefaultRegistry},
		{name: "oci-auth-file", usage: "Docker config.json holding credentials for the upstream registries (never put credentials in a flag)", str: &o.AuthFile},
		{name: "oci-manifest-ttl", usage: "how long a tag resolves to the digest it last resolved to", dur: &o.ManifestTTL},
		{name: "oci-max-blob-size", usage: "largest blob accepted from an upstream registry", size: &o.MaxBlobSize},
	}
}

// RegistryList returns the configured registries as host and URL pairs;
// the URL is empty when the host's default applies.
func (o *OCIConfig) RegistryList() [][2]string {
	var out [][2]string
	for item := range strings.SplitSeq(o.Registries, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		host, u, _ := strings.Cut(item, "=")
		out = append(out, [2]string{strings.TrimSpace(host), strings.TrimSpace(u)})
	}
	return out
}

func (o *OCIConfig) validate() error {
	list := o.RegistryList()
	if o.Enabled && len(list) == 0 {
		return fmt.Errorf("oci-registries: empty")
	}
	for _, r := range list {
		if r[0] == "" || strings.ContainsAny(r[0], "/@ ") {
			return fmt.Errorf("oci-registries: %q is not a registry host", r[0])
		}
		if r[1] != "" {
			if err := checkHTTPURL(r[1]); err != nil {
				return fmt.Errorf("oci-registries: %s: %w", r[0], err)
			}
		}
	}
	if o.ManifestTTL <= 0 {
		return fmt.Errorf("oci-manifest-ttl: must be positive, got %v", o.ManifestTTL)
	}
	if o.MaxBlobSize <= 0 {
		return fmt.Errorf("oci-max-blob-size: must be positive")
	}
	return nil
}
