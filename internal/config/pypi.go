package config

import (
	"fmt"
	"strings"
	"time"
)

// PyPIConfig configures the PyPI mirror under /pypi/.
type PyPIConfig struct {
	Enabled     bool          // serve the PyPI mirror under /pypi/
	Indexes     string        // upstream simple indexes, comma-separated, in order
	TTL         time.Duration // how long a project page is fresh
	MaxFileSize int64         // largest file accepted from upstream
}

func defaultPyPI() PyPIConfig {
	return PyPIConfig{Enabled: true, Indexes: "https://pypi.org/simple/", TTL: 10 * time.Minute, MaxFileSize: 8 << 30}
}

func (c *Config) pypiSettings() []setting {
	p := &c.PyPI
	return []setting{
		{name: "pypi", usage: "serve the PyPI mirror under /pypi/", flag: &p.Enabled},
		{name: "pypi-indexes", usage: "upstream simple indexes, comma-separated; a project comes from the first that has it", str: &p.Indexes},
		{name: "pypi-ttl", usage: "how long a PyPI project page is fresh", dur: &p.TTL},
		{name: "pypi-max-file-size", usage: "largest file accepted from a PyPI upstream", size: &p.MaxFileSize},
	}
}

// IndexList returns the upstream indexes in order.
func (p *PyPIConfig) IndexList() []string {
	var out []string
	for ix := range strings.SplitSeq(p.Indexes, ",") {
		if ix = strings.TrimSpace(ix); ix != "" {
			out = append(out, ix)
		}
	}
	return out
}

func (p *PyPIConfig) validate() error {
	list := p.IndexList()
	if len(list) == 0 {
		return fmt.Errorf("pypi-indexes: empty")
	}
	for _, ix := range list {
		if err := checkHTTPURL(ix); err != nil {
			return fmt.Errorf("pypi-indexes: %w", err)
		}
	}
	if p.TTL <= 0 {
		return fmt.Errorf("pypi-ttl: must be positive, got %v", p.TTL)
	}
	if p.MaxFileSize <= 0 {
		return fmt.Errorf("pypi-max-file-size: must be positive")
	}
	return nil
}
