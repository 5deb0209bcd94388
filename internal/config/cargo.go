package config

import (
	"fmt"
	"time"
)

// CargoConfig configures the crates.io mirror under /cargo/: the sparse
// index and the .crate downloads it names. The mirror's URL in the
// config.json it serves comes from the public-url setting.
type CargoConfig struct {
	Enabled  bool          // serve the cargo mirror under /cargo/
	Index    string        // the upstream sparse index's root
	Download string        // the upstream's download host, for when its config.json names none
	TTL      time.Duration // how long an index file stays fresh
	MaxCrate int64         // largest .crate accepted from upstream
}

func defaultCargo() CargoConfig {
	return CargoConfig{
		Enabled: true, Index: "https://index.crates.io/", Download: "https://static.crates.io/crates/",
		TTL: 5 * time.Minute, MaxCrate: 1 << 30,
	}
}

func (c *Config) cargoSettings() []setting {
	g := &c.Cargo
	return []setting{
		{name: "cargo", usage: "serve the cargo (crates.io) mirror under /cargo/", flag: &g.Enabled},
		{name: "cargo-index", usage: "the upstream sparse index of the cargo mirror", str: &g.Index},
		{name: "cargo-download", usage: "the cargo upstream's download root; the dl URL of the index's config.json must be on its host or the index's", str: &g.Download},
		{name: "cargo-ttl", usage: "how long a cargo index file stays fresh", dur: &g.TTL},
		{name: "cargo-max-crate-size", usage: "largest .crate accepted from the cargo upstream", size: &g.MaxCrate},
	}
}

func (g *CargoConfig) validate() error {
	if err := checkHTTPURL(g.Index); err != nil {
		return fmt.Errorf("cargo-index: %w", err)
	}
	if err := checkHTTPURL(g.Download); err != nil {
		return fmt.Errorf("cargo-download: %w", err)
	}
	if g.TTL <= 0 {
		return fmt.Errorf("cargo-ttl: must be positive, got %v", g.TTL)
	}
	if g.MaxCrate <= 0 {
		return fmt.Errorf("cargo-max-crate-size: must be positive, got %d", g.MaxCrate)
	}
	return nil
}
