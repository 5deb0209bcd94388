package switcher

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomirror/gomirror/internal/client/cargoconf"
)

// cargoDefaultFile is cargo's user configuration file: config.toml under
// $CARGO_HOME, else under ~/.cargo; the legacy name "config" when only it
// exists there, as cargo reads it then.
func cargoDefaultFile(getenv func(string) string) (string, error) {
	dir := getenv("CARGO_HOME")
	if !filepath.IsAbs(dir) {
		home, err := homeDir(getenv)
		if err != nil {
			return "", err
		}
		dir = filepath.Join(home, ".cargo")
	}
	f := filepath.Join(dir, "config.toml")
	if _, err := os.Stat(f); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, "config")); err == nil {
			return filepath.Join(dir, "config"), nil
		}
	}
	return f, nil
}

// CargoRegistry returns the sparse registry URL that cargo reads for
// mirror: a gomirror station's root (or its /cargo/ path) gets
// /cargo/index/, any other path is taken as the index itself; with a
// "sparse+" prefix either way.
func CargoRegistry(mirror string) (string, error) {
	u, err := url.Parse(strings.TrimPrefix(mirror, "sparse+"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("use cargo: %q is not an http(s) URL", mirror)
	}
	p := strings.TrimRight(u.Path, "/")
	switch {
	case p == "":
		p = "/cargo/index"
	case strings.HasSuffix(p, "/cargo"):
		p += "/index"
	}
	u.Path, u.RawPath = p+"/", ""
	return "sparse+" + u.String(), nil
}

// useCargo replaces crates.io with mirror's sparse index in the cargo
// config.toml old. It returns nil when nothing changes, and notes for the
// user.
func useCargo(old []byte, opts UseOptions, getenv func(string) string) (updated []byte, notes []string, err error) {
	if opts.Token != "" {
		return nil, nil, errors.New("use cargo: --token-file does not apply to cargo; the mirror serves crates.io's public crates without one")
	}
	reg, err := CargoRegistry(opts.Mirror)
	if err != nil {
		return nil, nil, err
	}
	f := cargoconf.Parse(old)
	changed, err := f.UseMirror(reg)
	if err != nil {
		return nil, nil, err
	}
	if changed {
		updated = f.Bytes()
	}
	for _, k := range []string{"CARGO_SOURCE_CRATES_IO_REPLACE_WITH", "CARGO_REGISTRIES_CRATES_IO_PROTOCOL"} {
		if v := getenv(k); v != "" {
			notes = append(notes, "warning: "+k+"="+v+" is set in the environment and overrides the file")
		}
	}
	notes = append(notes, "note: cargo 1.68 or later reads sparse registries; a project's own .cargo/config.toml takes precedence over this file")
	return updated, notes, nil
}
