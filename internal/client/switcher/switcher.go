// Package switcher points the go command, Docker, containerd, podman, pip,
// uv, npm, pnpm, yarn, Maven and cargo at a mirror (`gomirror use`) and puts back exactly
// what was there before
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
	"slices"
	"strings"
	"time"

	"github.com/gomirror/gomirror/internal/client/dockerconf"
	"github.com/gomirror/gomirror/internal/client/goenv"
	"github.com/gomirror/gomirror/internal/client/hoststoml"
	"github.com/gomirror/gomirror/internal/client/mirrors"
	"github.com/gomirror/gomirror/internal/client/npmrc"
	"github.com/gomirror/gomirror/internal/client/pipconf"
	"github.com/gomirror/gomirror/internal/client/registriesconf"
	"github.com/gomirror/gomirror/internal/client/yarnrc"
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

// The container clients' targets: containerd's hosts.toml for one
// registry, and podman's registries.conf.
const (
	Containerd = mirrors.Containerd
	Podman     = mirrors.Podman
)

// DefaultRegistry is the registry that containerd and podman mirrors are
// set for when UseOptions.Registry is empty.
const DefaultRegistry = "docker.io"

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
	// Registry is the registry to mirror (containerd, podman); "" means
	// docker.io.
	Registry string
	// Scopes are npm scopes ("@corp") whose packages should come from the
	// mirror too, through their own "@corp:registry" setting (npm, pnpm,
	// yarn only).
	Scopes []string
	// MirrorOf is what the Maven mirror stands in for: "central" (when
	// empty) or "*" (maven only).
	MirrorOf string
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
	case mirrors.Uv:
		return uvDefaultFile(getenv)
	case mirrors.Cargo:
		return cargoDefaultFile(getenv)
	case Containerd:
		return ContainerdHostsFile(DefaultRegistry, getenv), nil
	case Podman:
		if f := getenv("CONTAINERS_REGISTRIES_CONF"); f != "" {
			return f, nil
		}
		if os.Geteuid() == 0 {
			return "/etc/containers/registries.conf", nil
		}
		home, err := homeDir(getenv)
		if err != nil {
			return "", err
		}
		base := getenv("XDG_CONFIG_HOME")
		if !filepath.IsAbs(base) {
			base = filepath.Join(home, ".config")
		}
		return filepath.Join(base, "containers", "registries.conf"), nil
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
	case mirrors.Pnpm:
		if d := getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
			return filepath.Join(d, "pnpm", "rc"), nil
		}
		home, err := homeDir(getenv)
		if err != nil {
			return "", err
		}
		switch runtime.GOOS {
		case "windows":
			if d := getenv("LOCALAPPDATA"); d != "" {
				return filepath.Join(d, "pnpm", "config", "rc"), nil
			}
			return filepath.Join(home, "AppData", "Local", "pnpm", "config", "rc"), nil
		case "darwin":
			return filepath.Join(home, "Library", "Preferences", "pnpm", "rc"), nil
		}
		return filepath.Join(home, ".config", "pnpm", "rc"), nil
	case mirrors.Yarn:
		home, err := homeDir(getenv)
		if err != nil {
			return "", err
		}
		return filepath.Join(home, ".yarnrc.yml"), nil
	case mirrors.Maven:
		return mavenDefaultFile(getenv)
	}
	return "", nil
}

// ContainerdHostsDir returns containerd's registry configuration
// directory: $GOMIRROR_CONTAINERD_CERTS_D, or /etc/containerd/certs.d
// (where containerd's CRI config_path usually points).
func ContainerdHostsDir(getenv func(string) string) string {
	if d := getenv("GOMIRROR_CONTAINERD_CERTS_D"); d != "" {
		return d
	}
	return "/etc/containerd/certs.d"
}

// ContainerdHostsFile returns the hosts.toml of registry under
// ContainerdHostsDir.
func ContainerdHostsFile(registry string, getenv func(string) string) string {
	return filepath.Join(ContainerdHostsDir(getenv), registry, "hosts.toml")
}

// DefaultFiles returns every configuration file gomirror edits for target
// when --file is not given: for yarn, both Yarn Berry's ~/.yarnrc.yml and
// Yarn Classic's ~/.yarnrc, since either yarn may be the one installed;
// for the others, DefaultFile's one file.
func DefaultFiles(target mirrors.Target, getenv func(string) string) ([]string, error) {
	f, err := DefaultFile(target, getenv)
	if err != nil || f == "" {
		return nil, err
	}
	if target == mirrors.Yarn {
		return []string{f, filepath.Join(filepath.Dir(f), ".yarnrc")}, nil
	}
	return []string{f}, nil
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
		if len(opts.Scopes) > 0 {
			return errors.New("--scope applies to npm, pnpm and yarn only")
		}
		return s.useGo(ctx, opts)
	}
	if opts.Private != nil {
		return errors.New("--private applies to the go target only")
	}
	switch opts.Target {
	case mirrors.Npm, mirrors.Pnpm, mirrors.Yarn:
		for _, sc := range opts.Scopes {
			if err := checkScope(sc); err != nil {
				return err
			}
		}
	default:
		if len(opts.Scopes) > 0 {
			return errors.New("--scope applies to npm, pnpm and yarn only")
		}
	}
	switch {
	case opts.Target != Containerd && opts.Target != Podman && opts.Registry != "":
		return errors.New("--registry applies to the containerd and podman targets only")
	case opts.Registry == "" && (opts.Target == Containerd || opts.Target == Podman):
		opts.Registry = DefaultRegistry
	}
	files := []string{opts.File}
	switch {
	case opts.File == "" && opts.Target == Containerd:
		if err := hoststoml.CheckRegistry(opts.Registry); err != nil {
			return fmt.Errorf("use containerd: %w", err)
		}
		files = []string{ContainerdHostsFile(opts.Registry, s.Getenv)}
	case opts.File == "":
		var err error
		if files, err = DefaultFiles(opts.Target, s.Getenv); err != nil {
			return err
		}
	}
	for _, file := range files {
		if err := s.useFile(opts, file); err != nil {
			return err
		}
	}
	return nil
}

// checkScope checks an npm scope given to --scope.
func checkScope(scope string) error {
	name := strings.TrimPrefix(scope, "@")
	if name == "" || name[0] == '.' || name[0] == '_' || strings.ContainsFunc(name, func(r rune) bool {
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("-_.!~*'()", r))
	}) {
		return fmt.Errorf("invalid npm scope %q: want @name", scope)
	}
	return nil
}

// useFile switches one configuration file of opts.Target.
func (s *Switcher) useFile(opts UseOptions, file string) error {
	file, err := resolvePath(file)
	if err != nil {
		return err
	}
	old, err := os.ReadFile(file)
	existed := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("use %s: %w", opts.Target, err)
	}
	updated, notes, err := s.edit(opts, file, old)
	if err != nil {
		return err
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

// edit returns file's new content, nil when it already uses the mirror,
// and notes for the user.
func (s *Switcher) edit(opts UseOptions, file string, old []byte) (updated []byte, notes []string, err error) {
	switch opts.Target {
	case mirrors.Docker:
		c, err := dockerconf.Parse(old)
		if err != nil {
			return nil, nil, fmt.Errorf("use docker: %s: %w", file, err)
		}
		changed, err := c.UseMirror(opts.Mirror)
		if err != nil {
			return nil, nil, fmt.Errorf("use docker: %s: %w", file, err)
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
	case mirrors.Uv:
		if updated, notes, err = useUv(old, opts.Mirror, s.Getenv); err != nil {
			return nil, nil, fmt.Errorf("use uv: %s: %w", file, err)
		}
	case mirrors.Cargo:
		if updated, notes, err = useCargo(old, opts, s.Getenv); err != nil {
			return nil, nil, fmt.Errorf("use cargo: %s: %w", file, err)
		}
	case Containerd:
		f, err := hoststoml.Parse(old)
		if err != nil {
			return nil, nil, fmt.Errorf("use containerd: %s: %w", file, err)
		}
		changed, err := f.UseMirror(opts.Registry, opts.Mirror)
		if err != nil {
			return nil, nil, fmt.Errorf("use containerd: %s: %w", file, err)
		}
		if changed {
			updated = f.Bytes()
		}
		notes = append(notes, "containerd reads "+file+" when config_path in its CRI registry configuration names "+filepath.Dir(filepath.Dir(file))+` ([plugins."io.containerd.grpc.v1.cri".registry] config_path); ctr needs --hosts-dir `+filepath.Dir(filepath.Dir(file)))
	case Podman:
		f, err := registriesconf.Parse(old)
		if err != nil {
			return nil, nil, fmt.Errorf("use podman: %s: %w", file, err)
		}
		changed, err := f.UseMirror(opts.Registry, opts.Mirror)
		if err != nil {
			return nil, nil, fmt.Errorf("use podman: %s: %w", file, err)
		}
		if changed {
			updated = f.Bytes()
		}
		if v := s.Getenv("CONTAINERS_REGISTRIES_CONF"); v != "" && v != file {
			notes = append(notes, "warning: CONTAINERS_REGISTRIES_CONF="+v+" is set in the environment: podman reads that file instead")
		}
	case mirrors.Npm, mirrors.Pnpm:
		f := npmrc.Parse(old)
		changed := f.Set("registry", opts.Mirror)
		if opts.Token != "" {
			key, err := npmAuthKey(opts.Mirror)
			if err != nil {
				return nil, nil, err
			}
			changed = f.Set(key, opts.Token) || changed
		}
		for _, sc := range opts.Scopes {
			changed = f.Set(npmrc.ScopeKey(sc), opts.Mirror) || changed
		}
		if changed {
			updated = f.Bytes()
		}
		scoped := f.ScopedRegistries()
		for _, sc := range sortedKeys(scoped) {
			if scoped[sc] != opts.Mirror {
				notes = append(notes, fmt.Sprintf("note: %s packages still come from %s (%s:registry in %s); add --scope %s to take them from the mirror", sc, scoped[sc], sc, file, sc))
			}
		}
		for _, k := range []string{"NPM_CONFIG_REGISTRY", "npm_config_registry"} {
			if v := s.Getenv(k); v != "" {
				notes = append(notes, "warning: "+k+"="+v+" is set in the environment and overrides the file")
			}
		}
		if opts.Target == mirrors.Pnpm && opts.File == "" {
			if user, err := DefaultFile(mirrors.Npm, s.Getenv); err == nil {
				if data, err := os.ReadFile(user); err == nil {
					if v, ok := npmrc.Parse(data).Get("registry"); ok && v != opts.Mirror {
						notes = append(notes, fmt.Sprintf("warning: %s sets registry=%s, which pnpm reads too; gomirror use npm %s switches it", user, v, opts.Mirror))
					}
				}
			}
		}
	case mirrors.Yarn:
		return s.editYarn(opts, file, old)
	case mirrors.Maven:
		if updated, notes, err = useMaven(old, opts, opts.MirrorOf); err != nil {
			return nil, nil, fmt.Errorf("use maven: %s: %w", file, err)
		}
	default:
		return nil, nil, fmt.Errorf("unknown target %q", opts.Target)
	}
	return updated, notes, nil
}

// editYarn edits a Yarn Berry .yarnrc.yml (a file named *.yml or *.yaml)
// or a Yarn Classic .yarnrc.
func (s *Switcher) editYarn(opts UseOptions, file string, old []byte) (updated []byte, notes []string, err error) {
	changed := false
	if ext := filepath.Ext(file); ext == ".yml" || ext == ".yaml" {
		b, err := yarnrc.ParseBerry(old)
		if err != nil {
			return nil, nil, fmt.Errorf("use yarn: %s: %w", file, err)
		}
		if changed, err = b.Set(opts.Mirror, "npmRegistryServer"); err != nil {
			return nil, nil, fmt.Errorf("use yarn: %s: %w", file, err)
		}
		for _, sc := range opts.Scopes {
			c, err := b.Set(opts.Mirror, "npmScopes", strings.TrimPrefix(sc, "@"), "npmRegistryServer")
			if err != nil {
				return nil, nil, fmt.Errorf("use yarn: %s: %w", file, err)
			}
			changed = changed || c
		}
		if u, err := url.Parse(opts.Mirror); err == nil && u.Scheme == "http" {
			// Yarn Berry refuses plain http registries but those listed.
			c, err := b.AddToList("unsafeHttpWhitelist", u.Hostname())
			if err != nil {
				return nil, nil, fmt.Errorf("use yarn: %s: %w", file, err)
			}
			changed = changed || c
		}
		if changed {
			updated = b.Bytes()
		}
		if v := s.Getenv("YARN_NPM_REGISTRY_SERVER"); v != "" {
			notes = append(notes, "warning: YARN_NPM_REGISTRY_SERVER="+v+" is set in the environment and overrides the file")
		}
		return updated, notes, nil
	}
	c := yarnrc.ParseClassic(old)
	changed = c.Set("registry", opts.Mirror)
	for _, sc := range opts.Scopes {
		changed = c.Set(npmrc.ScopeKey(sc), opts.Mirror) || changed
	}
	if changed {
		updated = c.Bytes()
	}
	if v := s.Getenv("YARN_REGISTRY"); v != "" {
		notes = append(notes, "warning: YARN_REGISTRY="+v+" is set in the environment and overrides the file")
	}
	return updated, notes, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
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
	// Directories gomirror created, deepest first and the latest change's
	// first (an earlier change may have created their parent), now that
	// the state file (which may have lived in one of them) is gone. Only
	// empty ones go.
	for _, e := range slices.Backward(restored) {
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
