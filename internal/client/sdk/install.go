package sdk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Marker is the empty file golang.org/dl writes in a release's directory
// once it is completely unpacked; the goX.Y.Z wrapper commands refuse to
// run a release without it.
const Marker = ".unpacked-success"

// ErrNoArchives means the mirror serves no /golang/ release archives. It
// matches fs.ErrNotExist.
var ErrNoArchives = fmt.Errorf("the mirror serves no /golang/ release archives: %w", fs.ErrNotExist)

// ErrExists means the release's directory already exists and Force was
// not set. Install's errors match it through an [*ExistsError].
var ErrExists = errors.New("already exists")

// ExistsError is the error of an install refused because its directory
// exists. It matches [ErrExists].
type ExistsError struct {
	// Version is the release and Dir its directory.
	Version, Dir string
	// Complete reports whether Dir holds a complete install (its Marker).
	Complete bool
}

// Error says what exists and that --force replaces it.
func (e *ExistsError) Error() string {
	if e.Complete {
		return fmt.Sprintf("%s is already installed in %s (--force replaces it)", e.Version, e.Dir)
	}
	return fmt.Sprintf("%s already exists but holds no complete install of %s (--force replaces it)", e.Dir, e.Version)
}

// Is reports whether target is ErrExists.
func (e *ExistsError) Is(target error) bool { return target == ErrExists }

// unavailableError is a source that does not have the release. It matches
// fs.ErrNotExist, and its message is the reason alone.
type unavailableError struct {
	reason string
	err    error
}

func (e *unavailableError) Error() string        { return e.reason }
func (e *unavailableError) Unwrap() error        { return e.err }
func (e *unavailableError) Is(target error) bool { return target == fs.ErrNotExist }

// Installer installs Go releases from one mirror. Mirror is required; the
// zero value of every other field has the meaning its comment gives. An
// Installer is safe for concurrent use when its Progress writer is.
type Installer struct {
	// Mirror is the mirror's base URL, such as "https://goproxy.example";
	// its /golang/ release archives, GOPROXY protocol and /sumdb/ are
	// found under it.
	Mirror string
	// HTTP makes every request; nil means http.DefaultClient.
	HTTP *http.Client
	// GOSUMDB names the checksum database that vouches for the
	// golang.org/toolchain module, as the go command's GOSUMDB does: a
	// known name or a verifier key, optionally followed by a URL. "" means
	// sum.golang.org; "off" makes the toolchain module unusable, as it does
	// for the go command.
	GOSUMDB string
	// StateDir keeps the checksum database's latest verified tree head,
	// in StateDir/<name>/latest, so that every later lookup is checked to
	// be consistent with it. Required for the toolchain module source.
	StateDir string
	// CacheDir caches the checksum database's tiles; "" means none are
	// kept between installs.
	CacheDir string
	// Progress receives download progress; nil means none.
	Progress io.Writer
	// Terminal makes the progress one bar redrawn in place, for a
	// terminal; otherwise it is a few plain lines.
	Terminal bool
	// GOOS and GOARCH name the platform to install for; "" means the
	// running one.
	GOOS, GOARCH string
}

// Source is where an install came from.
type Source int

// The sources of an install.
const (
	// Archive is a release archive under the mirror's /golang/.
	Archive Source = iota + 1
	// ToolchainModule is the golang.org/toolchain module through the
	// mirror's GOPROXY protocol.
	ToolchainModule
)

// String names the source for people: "release archive" or
// "golang.org/toolchain module".
func (s Source) String() string {
	switch s {
	case Archive:
		return "release archive"
	case ToolchainModule:
		return "golang.org/toolchain module"
	}
	return "unknown source"
}

// Result says what Install did.
type Result struct {
	// Version is the release installed.
	Version string
	// Dir is the directory it was installed in.
	Dir string
	// Source is where it came from.
	Source Source
	// URL is the file that was downloaded.
	URL string
	// Checked says what the download was checked against.
	Checked string
	// Fallback says why the release archive was not used, when Source is
	// ToolchainModule.
	Fallback string
	// Replaced reports whether an existing install was replaced.
	Replaced bool
}

// Options says what to install and where.
type Options struct {
	// Version is the release, such as "go1.22.0".
	Version string
	// Root is the directory releases are installed in (golang.org/dl's
	// ~/sdk); the release goes in Root/Version.
	Root string
	// Force replaces an existing install. The old one is removed only once
	// the new one is complete.
	Force bool
}

// Dir returns the directory release v is installed in under root.
func Dir(root, v string) string { return filepath.Join(root, v) }

// Installed reports whether release v is completely installed under root:
// its directory holds golang.org/dl's [Marker].
func Installed(root, v string) bool {
	_, err := os.Stat(filepath.Join(Dir(root, v), Marker))
	return err == nil
}

// Install installs opts.Version in opts.Root, from the mirror's release
// archive when it has one for this platform and from the
// golang.org/toolchain module otherwise. It returns an error matching
// [ErrExists] when the release's directory exists and opts.Force is
// false, and an error matching fs.ErrNotExist when neither source has the
// release. A download that fails its check is an error, never a reason to
// try the other source. On any error, or when ctx is done, nothing is left
// behind and an existing install is untouched; opts.Root is removed again if Install
// created it.
func (in *Installer) Install(ctx context.Context, opts Options) (_ *Result, err error) {
	v := opts.Version
	if err := CheckVersion(v); err != nil {
		return nil, err
	}
	if opts.Root == "" {
		return nil, errors.New("install: no directory to install in")
	}
	target := Dir(opts.Root, v)
	exists, err := pathExists(target)
	if err != nil {
		return nil, fmt.Errorf("install %s: %w", v, err)
	}
	if exists && !opts.Force {
		return nil, &ExistsError{Version: v, Dir: target, Complete: Installed(opts.Root, v)}
	}
	rootExisted, err := pathExists(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("install %s: %w", v, err)
	}
	if err := os.MkdirAll(opts.Root, 0o755); err != nil {
		return nil, fmt.Errorf("install %s: %w", v, err)
	}
	defer func() {
		if err != nil && !rootExisted {
			os.Remove(opts.Root) // only if still empty
		}
	}()
	// Everything is built under staging, in the same directory as the
	// target so that the final rename is atomic, and removed with it.
	staging, err := os.MkdirTemp(opts.Root, "."+v+".gomirror-")
	if err != nil {
		return nil, fmt.Errorf("install %s: %w", v, err)
	}
	defer os.RemoveAll(staging)
	unpacked := filepath.Join(staging, "go")

	res := &Result{Version: v, Dir: target, Replaced: exists}
	if err := in.fromArchive(ctx, v, staging, unpacked, res); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		res.Fallback = err.Error()
		if in.Progress != nil {
			fmt.Fprintf(in.Progress, "no release archive (%s); trying the %s module\n", res.Fallback, ToolchainModulePath)
		}
		if err := os.RemoveAll(unpacked); err != nil {
			return nil, fmt.Errorf("install %s: %w", v, err)
		}
		if err := in.fromToolchainModule(ctx, v, staging, unpacked, res); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("install %s for %s/%s: not available: %s; %w", v, in.goos(), in.goarch(), res.Fallback, err)
			}
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("install %s: %w", v, err)
	}
	if err := os.WriteFile(filepath.Join(unpacked, Marker), nil, 0o644); err != nil {
		return nil, fmt.Errorf("install %s: %w", v, err)
	}
	if exists {
		// Move the old install into staging, to go with it.
		if err := os.Rename(target, filepath.Join(staging, "old")); err != nil {
			return nil, fmt.Errorf("install %s: move the old install aside: %w", v, err)
		}
	}
	if err := os.Rename(unpacked, target); err != nil {
		if exists {
			os.Rename(filepath.Join(staging, "old"), target)
		}
		return nil, fmt.Errorf("install %s: %w", v, err)
	}
	return res, nil
}

func pathExists(p string) (bool, error) {
	_, err := os.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

func (in *Installer) client() *http.Client {
	if in.HTTP != nil {
		return in.HTTP
	}
	return http.DefaultClient
}

func (in *Installer) mirrorURL() string { return strings.TrimRight(in.Mirror, "/") }

func (in *Installer) goos() string {
	if in.GOOS != "" {
		return in.GOOS
	}
	return runtime.GOOS
}

func (in *Installer) goarch() string {
	if in.GOARCH != "" {
		return in.GOARCH
	}
	return runtime.GOARCH
}
