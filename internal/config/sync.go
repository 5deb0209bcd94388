package config

import (
	"bytes"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/gomirror/gomirror/internal/jobs"
)

// loadSync decodes the sync section of a configuration file, refusing
// unknown keys.
func loadSync(node *yaml.Node, out *jobs.Config) error {
	raw, err := yaml.Marshal(node)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var c jobs.Config
	if err := dec.Decode(&c); err != nil {
		return err
	}
	*out = c
	return nil
}

func (c *Config) validateSync() error {
	if err := c.Sync.Validate(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	return nil
}
