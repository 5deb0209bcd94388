// Package goenv reads and writes the go command's environment by running the
// real go command (`go env -json`, `go env -w`, `go env -u`), so gomirror
// changes exactly what the user's go command will see.
package goenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Runner runs one go command with one environment. The zero value is not
// usable: Go must name the go binary. A Runner is safe for concurrent use.
type Runner struct {
	// Go is the path of the go binary.
	Go string
	// Env is the complete environment of the go command (KEY=value).
	Env []string
	// Dir is the working directory; "" means the current one.
	Dir string
}

// LookPath finds the go binary in the PATH of env, as a shell would. It
// returns an error matching fs.ErrNotExist when there is none.
func LookPath(env []string) (string, error) {
	var path string
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok && k == "PATH" {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		for _, name := range []string{"go", "go.exe"} {
			p := filepath.Join(dir, name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("find the go command in PATH: %w", fs.ErrNotExist)
}

func (r *Runner) run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, r.Go, args...)
	cmd.Env = r.Env
	cmd.Dir = r.Dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			return nil, fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
		}
		return nil, fmt.Errorf("go %s: %s: %w", strings.Join(args, " "), msg, err)
	}
	return stdout.Bytes(), nil
}

// Get returns the values of keys as `go env -json` reports them; with no
// keys it returns the whole environment.
func (r *Runner) Get(ctx context.Context, keys ...string) (map[string]string, error) {
	out, err := r.run(ctx, append([]string{"env", "-json"}, keys...)...)
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("go env -json: %w", err)
	}
	return m, nil
}

// Set writes vars to the go environment file with `go env -w`, in one call
// (so either all of them are written or none). A nil or empty map does
// nothing.
func (r *Runner) Set(ctx context.Context, vars map[string]string) error {
	if len(vars) == 0 {
		return nil
	}
	args := []string{"env", "-w"}
	for _, k := range sortedKeys(vars) {
		args = append(args, k+"="+vars[k])
	}
	_, err := r.run(ctx, args...)
	return err
}

// Unset removes keys from the go environment file with `go env -u`.
func (r *Runner) Unset(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := r.run(ctx, append([]string{"env", "-u"}, keys...)...)
	return err
}

// ReadOnly reports whether key cannot be written with `go env -w`, or must
// not be: GOROOT names the toolchain itself, and writing another machine's
// GOROOT breaks the go command.
func ReadOnly(key string) bool {
	switch key {
	case "GOEXE", "GOGCCFLAGS", "GOHOSTARCH", "GOHOSTOS", "GOMOD", "GOWORK",
		"GOTOOLDIR", "GOVERSION", "GOTELEMETRY", "GOTELEMETRYDIR",
		"GOENV", "GODEBUG", "GOROOT":
		return true
	}
	return false
}

// Change is one variable that Restore sets or unsets.
type Change struct {
	Key, Old, New string
}

// Restore makes the go environment match saved (a `go env -json` map):
// every settable variable whose current value differs is written with
// `go env -w`, or removed with `go env -u` when the saved value is empty.
// It returns the changes made, or with dryRun the changes it would make.
func (r *Runner) Restore(ctx context.Context, saved map[string]string, dryRun bool) ([]Change, error) {
	cur, err := r.Get(ctx)
	if err != nil {
		return nil, err
	}
	var changes []Change
	set := map[string]string{}
	var unset []string
	for _, k := range sortedKeys(saved) {
		if ReadOnly(k) || cur[k] == saved[k] {
			continue
		}
		if _, known := cur[k]; !known {
			continue
		}
		changes = append(changes, Change{Key: k, Old: cur[k], New: saved[k]})
		if saved[k] == "" {
			unset = append(unset, k)
		} else {
			set[k] = saved[k]
		}
	}
	if dryRun {
		return changes, nil
	}
	if err := r.Unset(ctx, unset...); err != nil {
		return nil, err
	}
	if err := r.Set(ctx, set); err != nil {
		return nil, err
	}
	return changes, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// ErrEnvFileOff is returned when GOENV=off, so `go env -w` cannot work.
var ErrEnvFileOff = errors.New("GOENV=off: the go command has no environment file to write")

// File returns the path of the go environment file (`go env GOENV`).
func (r *Runner) File(ctx context.Context) (string, error) {
	m, err := r.Get(ctx, "GOENV")
	if err != nil {
		return "", err
	}
	f := m["GOENV"]
	if f == "" || f == "off" {
		return "", ErrEnvFileOff
	}
	return f, nil
}
