package config

import (
	"bytes"
	"fmt"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/gomirror/gomirror/internal/policy"
)

// VulnConfig configures the Go vulnerability database under /vuln/.
type VulnConfig struct {
	Enabled  bool          // serve the vulnerability database under /vuln/
	Source   string        // pull (from Upstream) or module (built from golang.org/x/vulndb)
	Upstream string        // the database that pull-through mirrors
	Rebuild  time.Duration // how often a database built from the module looks for a newer version
}

func defaultVuln() VulnConfig {
	return VulnConfig{Enabled: true, Source: "pull", Upstream: "https://vuln.go.dev", Rebuild: time.Hour}
}

func (c *Config) vulnSettings() []setting {
	v := &c.Vuln
	return []setting{
		{name: "vuln", usage: "serve the Go vulnerability database under /vuln/", flag: &v.Enabled},
		{name: "vuln-source", usage: "where the vulnerability database comes from: pull (from --vuln-upstream) or module (built from golang.org/x/vulndb through this mirror)", str: &v.Source},
		{name: "vuln-upstream", usage: "the vulnerability database that --vuln-source pull mirrors", str: &v.Upstream},
		{name: "vuln-rebuild", usage: "how often a database built from the module looks for a newer version of it", dur: &v.Rebuild},
	}
}

func (v *VulnConfig) validate() error {
	if v.Source != "pull" && v.Source != "module" {
		return fmt.Errorf("vuln-source: %q is not pull or module", v.Source)
	}
	if err := checkHTTPURL(v.Upstream); err != nil {
		return fmt.Errorf("vuln-upstream: %w", err)
	}
	if v.Rebuild <= 0 {
		return fmt.Errorf("vuln-rebuild: must be positive, got %v", v.Rebuild)
	}
	return nil
}

// loadPolicy decodes the policy section of a configuration file, refusing
// unknown keys.
func loadPolicy(node *yaml.Node, p *policy.Config) error {
	raw, err := yaml.Marshal(node)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var out policy.Config
	if err := dec.Decode(&out); err != nil {
		return err
	}
	*p = out
	return nil
}

func (c *Config) validatePolicy() error {
	if err := c.Policy.Validate(nil); err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	if c.Policy.DenyVulnerable && !c.Vuln.Enabled {
		return fmt.Errorf("policy: deny-vulnerable needs the vulnerability database (--vuln)")
	}
	return nil
}
