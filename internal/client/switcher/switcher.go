// Package switcher points the go command, Docker, pip and npm at a mirror
// (`gomirror use`) and puts back exactly what was there before
// (`gomirror restore`).
//
// Before it first changes a file, the switcher saves the file's bytes (or
// notes that it did not exist) in a state file under the user's
// configuration directory. Later changes keep that first copy, so restore
// returns the file to its state before the whole run of changes, byte for
// byte, and removes files and directories that gomirror created. For the go
// command the file is the go environment file that `go env GOENV` names;
// changes to it are made with the real `go env -w`.
package switcher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/gomirror/gomirror/internal/client/dockerconf"
	"github.com/gomirror/gomirror/internal/client/goenv"
	"github.com/gomirror/gomirror/internal/client/mirrors"
	"github.com/gomirror/gomirror/internal/client/npmrc"
	"github.com/gomirror/gomirror/internal/client/pipconf"
)

// Switcher changes and restores tool configuration. Getenv, Go and Out are
// required; HTTP nil means http.DefaultClient. Not safe for concurrent use:
// two switchers sharing a state file must not run at once.
type Switcher struct {
	// Getenv reads the user's environment (HOME, XDG_CONFIG_HOME, ...).
	Getenv func(string) string
	// Go runs the user's go command.
	Go *goenv.Runner
	// HTTP checks whether a Go mirror serves the checksum database.
	HTTP *http.Client
	// Out receives what the switcher did, one line per change.
	Out io.Writer
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// UseOptions says what `gomirror use` should do.
type UseOptions struct {
	// Target is the tool to switch.
	Target mirrors.Target
	// Mirror is the resolved mirror URL (see mirrors.Resolve).
	Mirror string
	// File overrides the configuration file (docker, pip, npm); "" means
	// the tool's default.
	File string
	// Private, when not nil, is the new GOPRIVATE (go only).
	Private *string
	// DryRun prints the change without making it.
	DryRun bool
	// Token, when set, is written where the target's clients read their
	// credentials (see CredentialsFile), with User ("" means DefaultUser).
	Token, User string
}

// ConfigDir returns gomirror's configuration directory:
// $XDG_CONFIG_HOME/gomirror, or ~/.config/gomirror (on Windows
// %APPDATA%\gomirror).
func ConfigDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "gomirror"), nil
	}
	if runtime.GOOS == "windows" {
		if d := getenv("APPDATA"); d != "" {
			return filepath.Join(d, "gomirror"), nil
		}
	}
	home, err := homeDir(getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".config", "gomirror"), nil
}

func homeDir(getenv func(string) string) (string, error) {
	home := getenv("HOME")
	if runtime.GOOS == "windows" && home == "" {
		home = getenv("USERPROFILE")
	}
	if home == "" {
		return "", errors.New("HOME is not set: cannot find the user's configuration files")
	}
	return home, nil
}

func (s *Switcher) stateFile() (string, error) {
	dir, err := ConfigDir(s.Getenv)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "state.json"), nil
}

func (s *Switcher) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// DefaultFile returns the configuration file gomirror edits for target when
// --file is not given. For go it is empty: the go command names its own
// file.
func DefaultFile(target mirrors.Target, getenv func(string) string) (string, error) {
	switch target {
	case mirrors.Docker:
		if runtime.GOOS == "windows" {
			return filepath.Join(getenv("ProgramData"), "docker", "config", "daemon.json"), nil
		}
		return "/etc/docker/daemon.json", nil
	case mirrors.Pip:
		if f := getenv("PIP_CONFIG_FILE"); f != "" && f != os.DevNull {
			return f, nil
		}
		if runtime.GOOS == "windows" {
			return filepath.Join(getenv("APPDATA"), "pip", "pip.ini"), nil
		}
		home, err := homeDir(getenv)
		if err != nil {
			return "", err
		}
		base := getenv("XDG_CONFIG_HOME")
		if !filepath.IsAbs(base) {
			base = filepath.Join(home, ".config")
		}
		f := filepath.Join(base, "pip", "pip.conf")
		legacy := filepath.Join(home, ".pip", "pip.conf")
		if _, err := os.Stat(f); errors.Is(err, fs.ErrNotExist) {
			if _, err := os.Stat(legacy); err == nil {
				return legacy, nil
			}
		}
		return f, nil
	case mirrors.Npm:
		for _, k := range []string{"NPM_CONFIG_USERCONFIG", "npm_config_userconfig"} {
			if f := getenv(k); f != "" {
				return f, nil
			}
		}
		home, err := homeDir(getenv)
		if err != nil {
			return "", err
		}
		return filepath.Join(home, ".npmrc"), nil
	}
	return "", nil
}

// resolvePath makes file absolute and follows symbolic links, so gomirror
// edits the file a link points at instead of replacing the link.
func resolvePath(file string) (string, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real, nil
	}
	return abs, nil
}

// Use switches opts.Target to opts.Mirror. Running it again with the same
// options changes nothing.
func (s *Switcher) Use(ctx context.Context, opts UseOptions) error {
	if opts.Token != "" {
		out := s.Out
		s.Out = newRedactor(out, opts.Token)
		defer func() { s.Out = out }()
	}
	if err := s.useCredentials(opts); err != nil {
		return err
	}
	if opts.Target == mirrors.Go {
		return s.useGo(ctx, opts)
	}
	if opts.Private != nil {
		return errors.New("--private applies to the go target only")
	}
	file := opts.File
	if file == "" {
		var err error
		if file, err = DefaultFile(opts.Target, s.Getenv); err != nil {
			return err
		}
	}
	file, err := resolvePath(file)
	if err != nil {
		return err
	}
	old, err := os.ReadFile(file)
	existed := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("use %s: %w", opts.Target, err)
	}
	var updated []byte
	var notes []string
	switch opts.Target {
	case mirrors.Docker:
		c, err := dockerconf.Parse(old)
		if err != nil {
			return fmt.Errorf("use docker: %s: %w", file, err)
		}
		changed, err := c.UseMirror(opts.Mirror)
		if err != nil {
			return fmt.Errorf("use docker: %s: %w", file, err)
		}
		if changed {
			updated = c.Bytes()
		}
		notes = append(notes, "restart the Docker daemon to apply: sudo systemctl restart docker (Docker Desktop: Restart from its menu)")
	case mirrors.Pip:
		f := pipconf.Parse(old)
		changed := f.Set("global", "index-url", withCredentials(opts.Mirror, opts))
		if u, err := url.Parse(opts.Mirror); err == nil && u.Scheme == "http" {
			changed = f.AddToList("global", "trusted-host", u.Host) || changed
		}
		if changed {
			updated = f.Bytes()
		}
		for _, sec := range f.Sections("index-url") {
			if sec != "global" {
				notes = append(notes, fmt.Sprintf("warning: [%s] in %s sets its own index-url, which overrides [global] for pip %s", sec, file, sec))
			}
		}
		if v := s.Getenv("PIP_INDEX_URL"); v != "" {
			notes = append(notes, "warning: PIP_INDEX_URL="+v+" is set in the environment and overrides the file")
		}
	case mirrors.Npm:
		f := npmrc.Parse(old)
		changed := f.Set("registry", opts.Mirror)
		if opts.Token != "" {
			key, err := npmAuthKey(opts.Mirror)
			if err != nil {
				return err
			}
			changed = f.Set(key, opts.Token) || changed
		}
		if changed {
			updated = f.Bytes()
		}
		for _, k := range []string{"NPM_CONFIG_REGISTRY", "npm_config_registry"} {
			if v := s.Getenv(k); v != "" {
				notes = append(notes, "warning: "+k+"="+v+" is set in the environment and overrides the file")
			}
		}
	default:
		return fmt.Errorf("unknown target %q", opts.Target)
	}
	if updated == nil {
		fmt.Fprintf(s.Out, "%s: %s already uses %s; nothing to change\n", opts.Target, file, opts.Mirror)
		return nil
	}
	if opts.DryRun {
		fmt.Fprintf(s.Out, "%s: would change %s (dry run, nothing written):\n", opts.Target, file)
		writeDiff(s.Out, old, updated)
		return nil
	}
	if err := s.saveOriginal(opts.Target, file, old, existed); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("use %s: %w", opts.Target, err)
	}
	mode := fs.FileMode(0o644)
	if opts.Token != "" {
		mode = 0o600 // It holds a token.
	}
	if fi, err := os.Stat(file); err == nil {
		mode = fi.Mode().Perm()
	}
	if err := writeAtomic(file, updated, mode); err != nil {
		return fmt.Errorf("use %s: %w", opts.Target, err)
	}
	if err := s.recordWritten(opts.Target, file, updated, opts.Mirror); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "%s: %s now uses %s\n", opts.Target, file, opts.Mirror)
	writeDiff(s.Out, old, updated)
	for _, n := range notes {
		fmt.Fprintln(s.Out, n)
	}
	return nil
}

// saveOriginal records file's content before the first change of a run.
// A later change keeps the first record.
func (s *Switcher) saveOriginal(target mirrors.Target, file string, content []byte, existed bool) error {
	sf, err := s.stateFile()
	if err != nil {
		return err
	}
	st, err := loadState(sf)
	if err != nil {
		return err
	}
	if _, ok := st.find(string(target), file); ok {
		return nil
	}
	saved := Saved{
		Target:      string(target),
		Path:        file,
		Existed:     existed,
		CreatedDirs: missingDirs(filepath.Dir(file)),
		Time:        s.now().UTC(),
	}
	if existed {
		saved.Content = content
		if fi, err := os.Stat(file); err == nil {
			saved.Mode = fi.Mode().Perm()
		}
	}
	st.Saved = append(st.Saved, saved)
	return st.save(sf)
}

func (s *Switcher) recordWritten(target mirrors.Target, file string, content []byte, mirror string) error {
	sf, err := s.stateFile()
	if err != nil {
		return err
	}
	st, err := loadState(sf)
	if err != nil {
		return err
	}
	i, ok := st.find(string(target), file)
	if !ok {
		return nil
	}
	st.Saved[i].Written = hashOf(content)
	st.Saved[i].Mirror = mirror
	return st.save(sf)
}

// Restore puts back every file saved for target (only file, when it is not
// empty) as it was before the first `use`, and forgets it.
func (s *Switcher) Restore(ctx context.Context, target mirrors.Target, file string, dryRun bool) error {
	sf, err := s.stateFile()
	if err != nil {
		return err
	}
	st, err := loadState(sf)
	if err != nil {
		return err
	}
	explicit := file != ""
	if file == "" && target == mirrors.Go {
		if file, err = s.Go.File(ctx); err != nil {
			return fmt.Errorf("restore go: %w", err)
		}
	}
	if file != "" {
		if file, err = resolvePath(file); err != nil {
			return err
		}
	}
	var keep, restored []Saved
	for _, e := range st.Saved {
		if e.Target != string(target) || (file != "" && e.Path != file && (explicit || !e.Credentials)) {
			keep = append(keep, e)
			continue
		}
		restored = append(restored, e)
		if err := s.restoreOne(e, dryRun); err != nil {
			return err
		}
	}
	if len(restored) == 0 {
		what := string(target)
		if file != "" {
			what += " (" + file + ")"
		}
		fmt.Fprintf(s.Out, "%s: nothing to restore; gomirror has not changed it\n", what)
		return nil
	}
	if dryRun {
		return nil
	}
	st.Saved = keep
	if err := st.save(sf); err != nil {
		return err
	}
	if len(keep) == 0 {
		// gomirror's own directory goes too when nothing else is in it.
		os.Remove(filepath.Dir(sf))
	}
	// Directories gomirror created, deepest first, now that the state file
	// (which may have lived in one of them) is gone. Only empty ones go.
	for _, e := range restored {
		if e.Existed {
			continue
		}
		for i := len(e.CreatedDirs) - 1; i >= 0; i-- {
			if err := os.Remove(e.CreatedDirs[i]); err != nil {
				break
			}
		}
	}
	return nil
}

func (s *Switcher) restoreOne(e Saved, dryRun bool) error {
	cur, err := os.ReadFile(e.Path)
	exists := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("restore %s: %w", e.Target, err)
	}
	if exists && e.Written != "" && hashOf(cur) != e.Written {
		fmt.Fprintf(s.Out, "warning: %s changed since gomirror wrote it; restoring the original drops those changes\n", e.Path)
	}
	if dryRun {
		if e.Existed {
			fmt.Fprintf(s.Out, "%s: would restore %s (%d bytes) (dry run, nothing written)\n", e.Target, e.Path, len(e.Content))
		} else {
			fmt.Fprintf(s.Out, "%s: would remove %s, which gomirror created (dry run, nothing written)\n", e.Target, e.Path)
		}
		return nil
	}
	if !e.Existed {
		if err := os.Remove(e.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("restore %s: %w", e.Target, err)
		}
		fmt.Fprintf(s.Out, "%s: removed %s, which gomirror created\n", e.Target, e.Path)
		return nil
	}
	if exists && bytes.Equal(cur, e.Content) {
		fmt.Fprintf(s.Out, "%s: %s is already as it was\n", e.Target, e.Path)
		return nil
	}
	mode := e.Mode
	if mode == 0 {
		mode = 0o644
	}
	if err := os.MkdirAll(filepath.Dir(e.Path), 0o755); err != nil {
		return fmt.Errorf("restore %s: %w", e.Target, err)
	}
	if err := writeAtomic(e.Path, e.Content, mode); err != nil {
		return fmt.Errorf("restore %s: %w", e.Target, err)
	}
	fmt.Fprintf(s.Out, "%s: restored %s\n", e.Target, e.Path)
	return nil
}

// writeDiff prints the lines that differ between old and new, "-" for
// removed and "+" for added, in the order of a longest common subsequence.
func writeDiff(w io.Writer, old, new []byte) {
	a := splitLines(old)
	b := splitLines(new)
	// lcs[i][j] is the LCS length of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			i++
			j++
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			fmt.Fprintf(w, "  - %s\n", a[i])
			i++
		default:
			fmt.Fprintf(w, "  + %s\n", b[j])
			j++
		}
	}
}

func splitLines(data []byte) []string {
	s := strings.TrimSuffix(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
