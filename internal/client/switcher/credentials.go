package switcher

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomirror/gomirror/internal/client/authfile"
	"github.com/gomirror/gomirror/internal/client/mirrors"
	"github.com/gomirror/gomirror/internal/client/netrc"
)

// DefaultUser is the login written with a token when none is given: the
// mirror knows a token's user from the token alone.
const DefaultUser = "token"

// ReadToken reads a token file: its first line, either TOKEN or
// USER:TOKEN. It returns the user ("" when the file names none) and the
// token.
func ReadToken(file string) (user, token string, err error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return "", "", fmt.Errorf("token file: %w", err)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	line = strings.TrimSpace(line)
	if u, t, ok := strings.Cut(line, ":"); ok {
		user, line = u, t
	}
	if line == "" || strings.ContainsAny(line, " \t") || strings.ContainsAny(user, " \t") {
		return "", "", fmt.Errorf("token file %s: want one line, TOKEN or USER:TOKEN", file)
	}
	return user, line, nil
}

// user returns the login that goes with opts.Token.
func (opts UseOptions) user() string {
	if opts.User != "" {
		return opts.User
	}
	return DefaultUser
}

// withCredentials returns mirror with opts's user and token in its
// userinfo, as pip reads them from an index URL.
func withCredentials(mirror string, opts UseOptions) string {
	if opts.Token == "" {
		return mirror
	}
	u, err := url.Parse(mirror)
	if err != nil {
		return mirror
	}
	u.User = url.UserPassword(opts.user(), opts.Token)
	return u.String()
}

// npmAuthKey is the .npmrc key of a registry's token: "//host/path/:_authToken".
func npmAuthKey(mirror string) (string, error) {
	u, err := url.Parse(mirror)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("use npm: %q is not a registry URL", mirror)
	}
	p := u.Path
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	return "//" + u.Host + p + ":_authToken", nil
}

// CredentialsFile returns the file the credentials of target's clients go
// to, besides its configuration: .netrc for go ($NETRC, or ~/.netrc), and
// containers-auth.json for docker ($REGISTRY_AUTH_FILE, or
// $XDG_CONFIG_HOME/containers/auth.json, which podman, skopeo and buildah
// read). pip and npm keep them in their configuration file: "" for them.
func CredentialsFile(target mirrors.Target, getenv func(string) string) (string, error) {
	switch target {
	case mirrors.Go:
		if f := getenv("NETRC"); f != "" {
			return f, nil
		}
		home, err := homeDir(getenv)
		if err != nil {
			return "", err
		}
		return filepath.Join(home, ".netrc"), nil
	case mirrors.Docker:
		if f := getenv("REGISTRY_AUTH_FILE"); f != "" {
			return f, nil
		}
		base := getenv("XDG_CONFIG_HOME")
		if !filepath.IsAbs(base) {
			home, err := homeDir(getenv)
			if err != nil {
				return "", err
			}
			base = filepath.Join(home, ".config")
		}
		return filepath.Join(base, "containers", "auth.json"), nil
	}
	return "", nil
}

// useCredentials writes opts's token where target's clients read it, when
// that is a file of its own (see CredentialsFile). The file is saved before
// its first change and restored with the target, byte for byte.
func (s *Switcher) useCredentials(opts UseOptions) error {
	if opts.Token == "" {
		return nil
	}
	file, err := CredentialsFile(opts.Target, s.Getenv)
	if err != nil || file == "" {
		return err
	}
	if file, err = resolvePath(file); err != nil {
		return err
	}
	u, err := url.Parse(opts.Mirror)
	if err != nil || u.Host == "" {
		return fmt.Errorf("use %s: %q is not a URL", opts.Target, opts.Mirror)
	}
	if u.Scheme != "https" {
		fmt.Fprintf(s.Out, "warning: %s is not https: clients send credentials only over https (the go command never over http)\n", opts.Mirror)
	}
	old, err := os.ReadFile(file)
	existed := err == nil
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("use %s: %w", opts.Target, err)
	}
	var updated []byte
	var changed bool
	switch opts.Target {
	case mirrors.Go:
		// The go command looks a machine up by the host and port of the
		// URL it fetches.
		updated, changed, err = netrc.Set(old, u.Host, opts.user(), opts.Token)
	case mirrors.Docker:
		updated, changed, err = authfile.Set(old, u.Host, opts.user(), opts.Token)
	}
	if err != nil {
		return fmt.Errorf("use %s: %s: %w", opts.Target, file, err)
	}
	if !changed {
		fmt.Fprintf(s.Out, "%s: %s already holds the credentials for %s\n", opts.Target, file, u.Host)
		return nil
	}
	if opts.DryRun {
		fmt.Fprintf(s.Out, "%s: would write the credentials for %s to %s (dry run, nothing written)\n", opts.Target, u.Host, file)
		return nil
	}
	if err := s.saveOriginal(opts.Target, file, old, existed); err != nil {
		return err
	}
	if err := s.markCredentials(opts.Target, file); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return fmt.Errorf("use %s: %w", opts.Target, err)
	}
	mode := fs.FileMode(0o600)
	if fi, err := os.Stat(file); err == nil {
		mode = fi.Mode().Perm()
	}
	if err := writeAtomic(file, updated, mode); err != nil {
		return fmt.Errorf("use %s: %w", opts.Target, err)
	}
	if err := s.recordWritten(opts.Target, file, updated, opts.Mirror); err != nil {
		return err
	}
	fmt.Fprintf(s.Out, "%s: wrote the credentials for %s to %s\n", opts.Target, u.Host, file)
	return nil
}

// markCredentials notes that target's saved copy of file holds
// credentials, so that `restore TARGET` restores it with the target's
// configuration.
func (s *Switcher) markCredentials(target mirrors.Target, file string) error {
	sf, err := s.stateFile()
	if err != nil {
		return err
	}
	st, err := loadState(sf)
	if err != nil {
		return err
	}
	i, ok := st.find(string(target), file)
	if !ok || st.Saved[i].Credentials {
		return nil
	}
	st.Saved[i].Credentials = true
	return st.save(sf)
}

// redactor replaces a secret in what it writes, in the forms it may take
// in a configuration file.
type redactor struct {
	w       io.Writer
	secrets [][]byte
}

func newRedactor(w io.Writer, secret string) *redactor {
	r := &redactor{w: w}
	for _, s := range []string{secret, url.PathEscape(secret), url.QueryEscape(secret)} {
		r.secrets = append(r.secrets, []byte(s))
	}
	return r
}

func (r *redactor) Write(p []byte) (int, error) {
	q := p
	for _, s := range r.secrets {
		q = bytes.ReplaceAll(q, s, []byte("****"))
	}
	if _, err := r.w.Write(q); err != nil {
		return 0, err
	}
	return len(p), nil
}
