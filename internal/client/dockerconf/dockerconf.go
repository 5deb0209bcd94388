// Package dockerconf edits the Docker daemon's configuration file,
// daemon.json, keeping every key it does not touch, in its original order.
package dockerconf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// MirrorsKey is the daemon.json key that lists Docker Hub mirrors.
const MirrorsKey = "registry-mirrors"

// Config is a parsed daemon.json: a JSON object whose members keep their
// order and raw values.
type Config struct {
	keys   []string
	values map[string]json.RawMessage
	indent string
}

// Parse parses data, which must be a JSON object (or empty, meaning {}).
// Duplicate keys are an error, since Docker would pick one silently.
func Parse(data []byte) (*Config, error) {
	c := &Config{values: map[string]json.RawMessage{}, indent: detectIndent(data)}
	if len(bytes.TrimSpace(data)) == 0 {
		return c, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("parse daemon.json: %w", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, errors.New("parse daemon.json: not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("parse daemon.json: %w", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, errors.New("parse daemon.json: object key is not a string")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("parse daemon.json: value of %q: %w", key, err)
		}
		if _, dup := c.values[key]; dup {
			return nil, fmt.Errorf("parse daemon.json: duplicate key %q", key)
		}
		c.keys = append(c.keys, key)
		c.values[key] = raw
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("parse daemon.json: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("parse daemon.json: data after the JSON object")
	}
	return c, nil
}

// detectIndent returns the indentation of the first indented line of data,
// or two spaces.
func detectIndent(data []byte) string {
	for line := range strings.SplitSeq(string(data), "\n") {
		trimmed := strings.TrimLeft(line, " \t")
		if ind := line[:len(line)-len(trimmed)]; ind != "" && trimmed != "" {
			return ind
		}
	}
	return "  "
}

// Keys returns the top-level keys in file order.
func (c *Config) Keys() []string { return append([]string(nil), c.keys...) }

// Mirrors returns the registry mirrors, or an error when the key holds
// something other than a list of strings.
func (c *Config) Mirrors() ([]string, error) {
	raw, ok := c.values[MirrorsKey]
	if !ok {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("daemon.json: %s is not a list of strings", MirrorsKey)
	}
	return list, nil
}

func sameMirror(a, b string) bool {
	return strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
}

// UseMirror makes mirror the first registry mirror, dropping other copies
// of it, and keeps the rest of the list in order. It reports whether the
// configuration changed.
func (c *Config) UseMirror(mirror string) (bool, error) {
	list, err := c.Mirrors()
	if err != nil {
		return false, err
	}
	if len(list) > 0 && sameMirror(list[0], mirror) {
		dup := false
		for _, m := range list[1:] {
			dup = dup || sameMirror(m, mirror)
		}
		if !dup {
			return false, nil
		}
	}
	out := []string{mirror}
	for _, m := range list {
		if !sameMirror(m, mirror) {
			out = append(out, m)
		}
	}
	raw, err := json.Marshal(out)
	if err != nil {
		return false, err
	}
	if _, ok := c.values[MirrorsKey]; !ok {
		c.keys = append(c.keys, MirrorsKey)
	}
	c.values[MirrorsKey] = raw
	return true, nil
}

// Bytes returns the configuration as indented JSON with a final newline.
func (c *Config) Bytes() []byte {
	var b bytes.Buffer
	if len(c.keys) == 0 {
		return []byte("{}\n")
	}
	b.WriteString("{\n")
	for i, k := range c.keys {
		key, _ := json.Marshal(k)
		var val bytes.Buffer
		if err := json.Indent(&val, c.values[k], c.indent, c.indent); err != nil {
			val.Reset()
			val.Write(c.values[k])
		}
		b.WriteString(c.indent)
		b.Write(key)
		b.WriteString(": ")
		b.Write(val.Bytes())
		if i < len(c.keys)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("}\n")
	return b.Bytes()
}
