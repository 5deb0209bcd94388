package switcher

import (
	"path/filepath"
	"runtime"

	"github.com/gomirror/gomirror/internal/client/uvconf"
)

// uvDefaultFile is uv's user configuration file: $UV_CONFIG_FILE, else
// uv/uv.toml under $XDG_CONFIG_HOME or ~/.config (on Windows %APPDATA%).
func uvDefaultFile(getenv func(string) string) (string, error) {
	if f := getenv("UV_CONFIG_FILE"); f != "" {
		return f, nil
	}
	if runtime.GOOS == "windows" {
		return filepath.Join(getenv("APPDATA"), "uv", "uv.toml"), nil
	}
	if d := getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "uv", "uv.toml"), nil
	}
	home, err := homeDir(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".config", "uv", "uv.toml"), nil
}

// useUv makes mirror uv's default index in the uv.toml old. It returns nil
// when nothing changes, and notes for the user.
func useUv(old []byte, mirror string, getenv func(string) string) (updated []byte, notes []string, err error) {
	f := uvconf.Parse(old)
	changed, err := f.SetDefaultIndex(mirror)
	if err != nil {
		return nil, nil, err
	}
	if changed {
		updated = f.Bytes()
	}
	for _, k := range []string{"UV_DEFAULT_INDEX", "UV_INDEX_URL"} {
		if v := getenv(k); v != "" {
			notes = append(notes, "warning: "+k+"="+v+" is set in the environment and overrides the file")
		}
	}
	notes = append(notes, "note: a project's own pyproject.toml [tool.uv] or uv.toml index settings take precedence over this file")
	return updated, notes, nil
}
