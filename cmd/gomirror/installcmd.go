package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gomirror/gomirror/internal/client/mirrors"
	"github.com/gomirror/gomirror/internal/client/proxychain"
	"github.com/gomirror/gomirror/internal/client/sdk"
	"github.com/gomirror/gomirror/internal/client/switcher"
)

func (a *app) installCmd() *cobra.Command {
	var mirror, dir string
	var force, list bool
	cmd := &cobra.Command{
		Use:   "install VERSION",
		Short: "Install a Go release from a mirror where golang.org/dl puts it (~/sdk/VERSION)",
		Long: `Install downloads Go release VERSION (such as go1.22.0) for this machine
from a mirror and installs it in DIR/VERSION (DIR is ~/sdk unless --dir),
with golang.org/dl's .unpacked-success marker, so the goVERSION wrapper
command finds it installed and DIR/VERSION/bin/go runs it.

The mirror is --mirror (a preset name or a URL), or else the first http(s)
entry of GOPROXY as the go command reports it, which is what
"gomirror use go" set. Two sources are tried, in order:

  1. the mirror's /golang/ release archives: the archive for this platform
     named in /golang/?mode=json&include=all, checked against
     /golang/FILE.sha256 and the index's sha256 and size before unpacking;
  2. when the mirror serves no /golang/ (or its index fails) or not that
     file: the
     golang.org/toolchain module, through the mirror's GOPROXY protocol,
     checked against the checksum database (GOSUMDB, sum.golang.org by
     default, reached through the mirror's /sumdb/) as the go command
     checks a toolchain it downloads.

A download that fails its check is refused; the other source is not tried.
The checksum database's latest verified tree head is kept in gomirror's
configuration directory (~/.config/gomirror/sumdb), its tiles in the user's
cache directory. An existing install is replaced only with --force, and
only once the new one is complete. A failed or interrupted install leaves
nothing behind.

--list prints the releases in the mirror's /golang/ index, newest first,
marking the stable ones and those installed in DIR.`,
		Example: `  gomirror install go1.22.0
  gomirror install go1.22.0 --mirror https://mirror.corp.example --dir /opt/go-sdk
  gomirror install --list`,
		Args: func(cmd *cobra.Command, args []string) error {
			if list {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(1)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			root := dir
			if root == "" {
				home := a.getenv("HOME")
				if runtime.GOOS == "windows" {
					home = a.getenv("USERPROFILE")
				}
				if home == "" {
					return errors.New("install: HOME is not set; name the directory to install in with --dir")
				}
				root = filepath.Join(home, "sdk")
			}
			in, err := a.installer(ctx, mirror)
			if err != nil {
				return err
			}
			if list {
				return a.listReleases(ctx, in, root)
			}
			v := args[0]
			if !strings.HasPrefix(v, "go") {
				v = "go" + v
			}
			fmt.Fprintf(a.stderr, "installing %s for %s/%s from %s\n", v, runtime.GOOS, runtime.GOARCH, in.Mirror)
			res, err := in.Install(ctx, sdk.Options{Version: v, Root: root, Force: force})
			if err != nil {
				if ctx.Err() != nil {
					fmt.Fprintf(a.stderr, "gomirror: install %s interrupted; nothing was left behind\n", v)
					return exitError{130}
				}
				return err
			}
			verb := "installed"
			if res.Replaced {
				verb = "replaced"
			}
			fmt.Fprintf(a.stdout, "%s %s in %s\n", verb, res.Version, res.Dir)
			fmt.Fprintf(a.stdout, "source: %s %s\n", res.Source, res.URL)
			if res.Fallback != "" {
				fmt.Fprintf(a.stdout, "  (no release archive: %s)\n", res.Fallback)
			}
			fmt.Fprintf(a.stdout, "checked: %s\n", res.Checked)
			fmt.Fprintf(a.stdout, "run it as %s or with golang.org/dl's %s command\n", filepath.Join(res.Dir, "bin", "go"), res.Version)
			return nil
		},
	}
	cmd.Flags().StringVar(&mirror, "mirror", "", "mirror to install from, a preset name or a URL (default: the first http(s) entry of GOPROXY)")
	cmd.Flags().StringVar(&dir, "dir", "", "directory to install releases in; VERSION goes in DIR/VERSION (default ~/sdk, as golang.org/dl)")
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing install")
	cmd.Flags().BoolVar(&list, "list", false, "list the releases the mirror has")
	return cmd
}

// installer returns an installer for mirror (a flag value) or, when it is
// empty, for the first http(s) proxy of the go command's GOPROXY.
func (a *app) installer(ctx context.Context, mirror string) (*sdk.Installer, error) {
	goproxy, gosumdb := a.getenv("GOPROXY"), a.getenv("GOSUMDB")
	if g, err := a.goRunner(); err == nil {
		// The go command also reads its env file, where gomirror use go
		// writes. It runs as the local toolchain, outside any module, so
		// that it never downloads a toolchain itself.
		g.Env = append(append([]string(nil), g.Env...), "GOTOOLCHAIN=local")
		g.Dir = os.TempDir()
		env, err := g.Get(ctx, "GOPROXY", "GOSUMDB")
		if err != nil {
			fmt.Fprintf(a.stderr, "gomirror: using $GOPROXY and $GOSUMDB: %v\n", err)
		} else {
			goproxy, gosumdb = env["GOPROXY"], env["GOSUMDB"]
		}
	}
	if mirror != "" {
		u, err := mirrors.Resolve(mirrors.Go, mirror)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
			return nil, fmt.Errorf("install: --mirror %s: want an http or https URL", mirror)
		}
		mirror = u
	} else {
		for _, e := range proxychain.Parse(goproxy) {
			if e.Kind == proxychain.Proxy && e.Err == nil && (strings.HasPrefix(e.URL, "http://") || strings.HasPrefix(e.URL, "https://")) {
				mirror = e.URL
				break
			}
		}
		if mirror == "" {
			return nil, fmt.Errorf("install: GOPROXY=%q names no http(s) mirror; name one with --mirror", goproxy)
		}
	}
	config, err := switcher.ConfigDir(a.getenv)
	if err != nil {
		return nil, err
	}
	in := &sdk.Installer{
		Mirror:   mirror,
		HTTP:     a.downloadClient(),
		GOSUMDB:  gosumdb,
		StateDir: filepath.Join(config, "sumdb"),
		CacheDir: a.cacheDir("sumdb"),
		Progress: a.stderr,
		Terminal: a.stderrIsTerminal(),
	}
	return in, nil
}

// downloadClient returns a client for downloads of any length: it honours
// HTTPS_PROXY, HTTP_PROXY and NO_PROXY and gives up on a server that does
// not answer within a minute, but sets no limit on a whole download (an
// interrupt ends it).
func (a *app) downloadClient() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyFromEnvironment
	tr.ResponseHeaderTimeout = time.Minute
	return &http.Client{Transport: tr}
}

// cacheDir returns gomirror's directory name in the user's cache
// directory ($XDG_CACHE_HOME, ~/.cache, ~/Library/Caches or
// %LocalAppData%), or "" when there is none.
func (a *app) cacheDir(name string) string {
	var base string
	switch runtime.GOOS {
	case "windows":
		base = a.getenv("LocalAppData")
	case "darwin", "ios":
		if h := a.getenv("HOME"); h != "" {
			base = filepath.Join(h, "Library", "Caches")
		}
	default:
		base = a.getenv("XDG_CACHE_HOME")
		if !filepath.IsAbs(base) {
			base = ""
			if h := a.getenv("HOME"); h != "" {
				base = filepath.Join(h, ".cache")
			}
		}
	}
	if base == "" {
		return ""
	}
	return filepath.Join(base, "gomirror", name)
}

// listReleases prints the releases of the mirror's /golang/ index.
func (a *app) listReleases(ctx context.Context, in *sdk.Installer, root string) error {
	rels, err := in.Releases(ctx)
	if errors.Is(err, sdk.ErrNoArchives) {
		fmt.Fprintf(a.stderr, "gomirror: %s serves no /golang/ release archives, so it has no list of releases; gomirror install still installs Go 1.21 and later from its golang.org/toolchain module\n", in.Mirror)
		return exitError{1}
	}
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "VERSION\tSTABLE\tINSTALLED")
	for _, r := range rels {
		stable, installed := "", ""
		if r.Stable {
			stable = "stable"
		}
		if sdk.Installed(root, r.Version) {
			installed = "installed"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Version, stable, installed)
	}
	return tw.Flush()
}
