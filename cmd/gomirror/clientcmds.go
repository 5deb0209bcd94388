package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/module"

	"github.com/gomirror/gomirror/internal/client/benchmark"
	"github.com/gomirror/gomirror/internal/client/doctor"
	"github.com/gomirror/gomirror/internal/client/goenv"
	"github.com/gomirror/gomirror/internal/client/honesty"
	"github.com/gomirror/gomirror/internal/client/mirrors"
	"github.com/gomirror/gomirror/internal/client/probes"
	"github.com/gomirror/gomirror/internal/client/proxychain"
	"github.com/gomirror/gomirror/internal/client/switcher"
)

// clientCommands returns the client toolkit: use, restore, env, doctor,
// bench, verify.
func (a *app) clientCommands() []*cobra.Command {
	return []*cobra.Command{a.useCmd(), a.restoreCmd(), a.envCmd(), a.doctorCmd(), a.benchCmd(), a.verifyCmd(), a.tokenCmd()}
}

// goRunner returns a runner for the go command found in the app's PATH.
func (a *app) goRunner() (*goenv.Runner, error) {
	bin, err := goenv.LookPath(a.env)
	if err != nil {
		return nil, err
	}
	return &goenv.Runner{Go: bin, Env: a.env}, nil
}

// httpClient returns a client that honours HTTPS_PROXY, HTTP_PROXY and
// NO_PROXY.
func (a *app) httpClient() *http.Client {
	return &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}, Timeout: 5 * time.Minute}
}

func (a *app) switcher() (*switcher.Switcher, error) {
	g, err := a.goRunner()
	if err != nil {
		return nil, err
	}
	return &switcher.Switcher{Getenv: a.getenv, Go: g, HTTP: a.httpClient(), Out: a.stdout}, nil
}

func parseModuleFlag(s string) (module.Version, error) {
	path, vers, ok := strings.Cut(s, "@")
	if !ok {
		return module.Version{}, fmt.Errorf("--module %q: want path@version", s)
	}
	if err := module.Check(path, vers); err != nil {
		return module.Version{}, fmt.Errorf("--module: %w", err)
	}
	return module.Version{Path: path, Version: vers}, nil
}

func (a *app) useCmd() *cobra.Command {
	var file, private, registry, tokenFile, user, mirrorOf string
	var scopes []string
	var dryRun, list bool
	cmd := &cobra.Command{
		Use:   "use TARGET MIRROR",
		Short: "Point go, docker, containerd, podman, pip, uv, npm, pnpm, yarn, maven or cargo at a mirror (a preset name or a URL)",
		Long: `Use points TARGET at MIRROR, a preset name
(see --list) or a URL. It saves what was there first, so "gomirror restore
TARGET" can put it back byte for byte. Running it twice changes nothing the
second time.

  go          go env -w GOPROXY=MIRROR,direct, and GOSUMDB through the mirror's
              /sumdb/ when it serves one (checksum verification stays on).
  docker      adds MIRROR first in registry-mirrors of /etc/docker/daemon.json.
  containerd  writes certs.d/<registry>/hosts.toml with MIRROR first, for pull
              and resolve (--registry, default docker.io).
  podman      adds a [[registry.mirror]] for --registry to registries.conf.
  pip         sets index-url (and trusted-host for plain http) in pip.conf.
  uv          sets the default [[index]] in uv.toml.
  npm         sets registry in ~/.npmrc (and @scope:registry with --scope).
  pnpm        the same in pnpm's rc file.
  yarn        npmRegistryServer in ~/.yarnrc.yml, and registry in ~/.yarnrc.
  maven       a <mirror> gomirror of central (or * with --mirror-of) at
              MIRROR/maven2/, first in ~/.m2/settings.xml (created if missing).
  cargo       replaces crates.io with MIRROR's sparse index (MIRROR/cargo/index/
              for a gomirror station) in ~/.cargo/config.toml.

With --token-file, the token in that file (TOKEN or USER:TOKEN) goes where
each client reads its credentials for the mirror: ~/.netrc for go
(machine HOST[:PORT] login USER password TOKEN; $NETRC if set), the index
URL in pip.conf, //HOST/PATH/:_authToken in .npmrc, and the auths of
containers' auth.json for docker ($REGISTRY_AUTH_FILE, else
~/.config/containers/auth.json: podman, skopeo, buildah), and a <server>
gomirror in settings.xml for maven. Restore removes them with the rest.`,
		Example: `  gomirror use go goproxy.cn
  gomirror use go https://mirror.corp.example --private 'git.corp.example'
  gomirror use pip tuna --dry-run
  gomirror use docker https://docker.m.daocloud.io --file ./daemon.json
  gomirror use containerd http://mirror.corp.example:8080 --registry ghcr.io
  gomirror use npm http://mirror.corp.example:8080/npm/ --scope @corp
  gomirror use maven https://mirror.corp.example --mirror-of '*'
  gomirror use cargo http://mirror.corp.example:8080
  gomirror use go https://mirror.corp.example --token-file ~/.config/gomirror/token
  gomirror use --list`,
		Args: func(cmd *cobra.Command, args []string) error {
			if list {
				return cobra.NoArgs(cmd, args)
			}
			return cobra.ExactArgs(2)(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if list {
				return a.printPresets()
			}
			target, err := mirrors.ParseTarget(args[0])
			if err != nil {
				return err
			}
			u, err := mirrors.Resolve(target, args[1])
			if err != nil {
				return err
			}
			s, err := a.switcher()
			if err != nil {
				return err
			}
			opts := switcher.UseOptions{Target: target, Mirror: u, File: file, DryRun: dryRun, Registry: registry, Scopes: scopes, User: user}
			if mirrorOf != "" && target != mirrors.Maven {
				return errors.New("--mirror-of applies to maven only")
			}
			opts.MirrorOf = mirrorOf
			if tokenFile != "" {
				fileUser, token, err := switcher.ReadToken(tokenFile)
				if err != nil {
					return err
				}
				opts.Token = token
				if opts.User == "" {
					opts.User = fileUser
				}
			}
			if cmd.Flags().Changed("private") {
				opts.Private = &private
			}
			if file != "" && target == mirrors.Go {
				return errors.New("--file does not apply to go: the go command names its own file (go env GOENV)")
			}
			return s.Use(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "configuration file to edit (every target but go)")
	cmd.Flags().StringVar(&registry, "registry", "", "registry to mirror (containerd, podman; default docker.io)")
	cmd.Flags().StringArrayVar(&scopes, "scope", nil, "npm scope whose packages come from the mirror too (npm, pnpm, yarn; repeatable)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print the change and make none")
	cmd.Flags().StringVar(&private, "private", "", "set GOPRIVATE to these comma-separated patterns (go only)")
	cmd.Flags().BoolVar(&list, "list", false, "list the built-in mirror presets")
	cmd.Flags().StringVar(&mirrorOf, "mirror-of", "", "repositories the Maven mirror stands in for: central (default) or * (maven only)")
	cmd.Flags().StringVar(&tokenFile, "token-file", "", "file holding the mirror's token (TOKEN or USER:TOKEN), written where the client reads credentials")
	cmd.Flags().StringVar(&user, "user", "", "user name to go with the token (default: the token file's, else "+switcher.DefaultUser+")")
	return cmd
}

func (a *app) printPresets() error {
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PRESET\tTARGET\tURL")
	for _, p := range mirrors.Presets() {
		name := p.Name
		if len(p.Aliases) > 0 {
			name += " (" + strings.Join(p.Aliases, ", ") + ")"
		}
		for _, t := range mirrors.Targets {
			if u, ok := p.URLs[t]; ok {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", name, t, u)
				name = ""
			}
		}
	}
	return tw.Flush()
}

func (a *app) restoreCmd() *cobra.Command {
	var file string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "restore TARGET",
		Short: "Put back what a target used before gomirror use",
		Long: `Restore puts TARGET's configuration back exactly as it was before the
first "gomirror use" of the current run of changes: the same bytes, and
files that use created are removed. Without --file it restores every file
gomirror changed for TARGET.`,
		Example: `  gomirror restore go
  gomirror restore docker --file ./daemon.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target, err := mirrors.ParseTarget(args[0])
			if err != nil {
				return err
			}
			s, err := a.switcher()
			if err != nil {
				return err
			}
			return s.Restore(cmd.Context(), target, file, dryRun)
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "restore only this configuration file")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what would be restored and change nothing")
	return cmd
}

func (a *app) envCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Back up and restore the whole go environment",
	}
	backup := &cobra.Command{
		Use:     "backup FILE",
		Short:   "Save the output of go env -json to FILE",
		Example: "  gomirror env backup go-env.json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := a.goRunner()
			if err != nil {
				return err
			}
			env, err := g.Get(cmd.Context())
			if err != nil {
				return err
			}
			data, err := json.MarshalIndent(env, "", "\t")
			if err != nil {
				return err
			}
			if err := os.WriteFile(args[0], append(data, '\n'), 0o644); err != nil {
				return fmt.Errorf("env backup: %w", err)
			}
			fmt.Fprintf(a.stdout, "saved %d go env variables to %s\n", len(env), args[0])
			return nil
		},
	}
	var dryRun bool
	restore := &cobra.Command{
		Use:   "restore FILE",
		Short: "Write back the settable go env variables from FILE that differ",
		Long: `Restore reads a file made by "gomirror env backup" (or go env -json) and
writes back, with go env -w, every variable that go env -w can set and
whose value differs; variables that were empty are removed with go env -u.`,
		Example: "  gomirror env restore go-env.json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return fmt.Errorf("env restore: %w", err)
			}
			saved := map[string]string{}
			if err := json.Unmarshal(data, &saved); err != nil {
				return fmt.Errorf("env restore: %s is not go env -json output: %w", args[0], err)
			}
			g, err := a.goRunner()
			if err != nil {
				return err
			}
			changes, err := g.Restore(cmd.Context(), saved, dryRun)
			if err != nil {
				return fmt.Errorf("env restore: %w", err)
			}
			verb := "set"
			if dryRun {
				verb = "would set"
			}
			for _, c := range changes {
				fmt.Fprintf(a.stdout, "%s %s=%q (was %q)\n", verb, c.Key, c.New, c.Old)
			}
			if len(changes) == 0 {
				fmt.Fprintln(a.stdout, "go env already matches "+args[0])
			}
			return nil
		},
	}
	restore.Flags().BoolVar(&dryRun, "dry-run", false, "print the changes and make none")
	cmd.AddCommand(backup, restore)
	return cmd
}

func (a *app) doctorCmd() *cobra.Command {
	var jsonOut, offline bool
	var dockerFile, pipFile, npmFile, mod string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Check this machine's Go module download setup and suggest fixes",
		Long: `Doctor checks the go version and module mode; GOPROXY, GOSUMDB, GOPRIVATE,
GONOSUMDB, GONOPROXY, GOFLAGS, GOMODCACHE and GOTOOLCHAIN; and, for each proxy
in GOPROXY, DNS, TCP and TLS reachability, whether it serves a known module
and the checksum database. It also reads daemon.json, pip.conf and .npmrc
when they exist. Every failed item has a fix under it; the exit status is 1
when anything failed.`,
		Example: "  gomirror doctor\n  gomirror doctor --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := a.goRunner()
			if err != nil {
				return err
			}
			opts := doctor.Options{Go: g, HTTP: a.httpClient(), Timeout: timeout, Offline: offline, DockerConfig: dockerFile, PipConfig: pipFile, NpmConfig: npmFile,
				ContainerdHostsDir: switcher.ContainerdHostsDir(a.getenv)}
			opts.PodmanConfig, _ = switcher.DefaultFile(switcher.Podman, a.getenv)
			for _, f := range []struct {
				dst    *string
				target mirrors.Target
			}{{&opts.DockerConfig, mirrors.Docker}, {&opts.PipConfig, mirrors.Pip}, {&opts.NpmConfig, mirrors.Npm}} {
				if *f.dst == "" {
					*f.dst, _ = switcher.DefaultFile(f.target, a.getenv)
				}
			}
			if mod != "" {
				if opts.Module, err = parseModuleFlag(mod); err != nil {
					return err
				}
			}
			report, err := doctor.Run(cmd.Context(), opts)
			if err != nil {
				return err
			}
			if jsonOut {
				err = report.WriteJSON(a.stdout)
			} else {
				report.WriteText(a.stdout)
			}
			if err != nil {
				return err
			}
			if !report.OK {
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the checklist as JSON")
	cmd.Flags().StringVar(&dockerFile, "docker-config", "", "daemon.json to check (default /etc/docker/daemon.json)")
	cmd.Flags().StringVar(&pipFile, "pip-config", "", "pip configuration to check (default the user's pip.conf)")
	cmd.Flags().StringVar(&npmFile, "npm-config", "", ".npmrc to check (default ~/.npmrc)")
	cmd.Flags().StringVar(&mod, "module", "", "module@version every proxy should serve (default "+probes.Known().String()+")")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "time limit of each network check")
	cmd.Flags().BoolVar(&offline, "offline", false, "check the configuration only, without network checks")
	return cmd
}

// stderrIsTerminal reports whether the app's stderr is a terminal.
func (a *app) stderrIsTerminal() bool {
	f, ok := a.stderr.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func mirrorName(arg, resolved string) string {
	if p, ok := mirrors.Lookup(arg); ok {
		return p.Name
	}
	return resolved
}

func (a *app) benchCmd() *cobra.Command {
	var jsonOut, apply, noOfficial bool
	var timeout time.Duration
	var mods []string
	var fresh string
	cmd := &cobra.Command{
		Use:   "bench [MIRROR...]",
		Short: "Measure Go module mirrors in parallel and rank them",
		Long: `Bench fetches, from every mirror in parallel, what the go command really
fetches: the .info, .mod and .zip of a few small popular modules and the
checksum database's /latest through the mirror's /sumdb/. It reports DNS,
connect, time to first byte, throughput, success rate and freshness (whether
the mirror lists the newest version of a frequently released module that
other mirrors list), best first. MIRRORs are preset names or URLs; with none,
every Go preset is measured. The official proxy is always included unless
--no-official. --apply then runs "gomirror use go" with the winner.`,
		Example: `  gomirror bench
  gomirror bench goproxy.cn aliyun https://mirror.corp.example --timeout 30s
  gomirror bench --json --apply`,
		RunE: func(cmd *cobra.Command, args []string) error {
			var list []benchmark.Mirror
			seen := map[string]bool{}
			addMirror := func(arg string) error {
				u, err := mirrors.Resolve(mirrors.Go, arg)
				if err != nil {
					return err
				}
				if u == "" || seen[u] {
					return nil
				}
				seen[u] = true
				list = append(list, benchmark.Mirror{Name: mirrorName(arg, u), URL: u})
				return nil
			}
			if len(args) == 0 {
				args = mirrors.Names(mirrors.Go)
			}
			for _, arg := range args {
				if noOfficial {
					if p, ok := mirrors.Lookup(arg); ok && p.Name == "official" {
						continue
					}
				}
				if err := addMirror(arg); err != nil {
					return err
				}
			}
			if !noOfficial {
				if err := addMirror("official"); err != nil {
					return err
				}
			}
			if len(list) == 0 {
				return errors.New("bench: no mirror to measure")
			}
			opts := benchmark.Options{Mirrors: list, Timeout: timeout, FreshModule: fresh}
			for _, m := range mods {
				v, err := parseModuleFlag(m)
				if err != nil {
					return err
				}
				opts.Modules = append(opts.Modules, v)
			}
			if a.stderrIsTerminal() && !jsonOut {
				opts.Progress = a.stderr
			}
			results := benchmark.Run(cmd.Context(), opts)
			var err error
			if jsonOut {
				err = benchmark.WriteJSON(a.stdout, results)
			} else {
				err = benchmark.WriteTable(a.stdout, results)
			}
			if err != nil || !apply {
				return err
			}
			best := results[0]
			if best.SuccessRate < 1 || best.Fresh == "no" {
				fmt.Fprintf(a.stderr, "bench: no mirror answered every request and is up to date; not applying\n")
				return exitError{1}
			}
			fmt.Fprintf(a.stderr, "bench: applying the winner, %s\n", best.Name)
			s, err := a.switcher()
			if err != nil {
				return err
			}
			return s.Use(cmd.Context(), switcher.UseOptions{Target: mirrors.Go, Mirror: best.URL})
		},
	}
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the results as JSON, best first")
	cmd.Flags().DurationVar(&timeout, "timeout", 15*time.Second, "time limit of the whole run")
	cmd.Flags().BoolVar(&apply, "apply", false, "then run gomirror use go with the winner")
	cmd.Flags().BoolVar(&noOfficial, "no-official", false, "leave out the official proxy (https://proxy.golang.org)")
	cmd.Flags().StringArrayVar(&mods, "module", nil, "module@version to fetch instead of the default set (repeatable)")
	cmd.Flags().StringVar(&fresh, "fresh-module", "", "module whose version list decides freshness (default "+probes.FreshModule+")")
	return cmd
}

func (a *app) verifyCmd() *cobra.Command {
	var mod string
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "verify [MIRROR]",
		Short: "Prove that the configured mirror (or MIRROR) is in effect and honest",
		Long: `Verify fetches the .mod and .zip of a known module through the GOPROXY
chain (or through MIRROR alone), hashes them as the go command does, and
compares the hashes with the checksum database named by GOSUMDB, reached
through its configured URL or the mirror's /sumdb/. It says which entry of
the chain answered. The exit status is 1 on a mismatch, which names
module@version and both hashes.`,
		Example: "  gomirror verify\n  gomirror verify goproxy.cn --module github.com/google/uuid@v1.6.0",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := a.goRunner()
			if err != nil {
				return err
			}
			env, err := g.Get(cmd.Context(), "GOPROXY", "GOSUMDB")
			if err != nil {
				return err
			}
			chain := proxychain.Parse(env["GOPROXY"])
			if len(args) == 1 {
				u, err := mirrors.Resolve(mirrors.Go, args[0])
				if err != nil {
					return err
				}
				chain = proxychain.Parse(u)
			}
			opts := honesty.Options{HTTP: a.httpClient(), Chain: chain, GOSUMDB: env["GOSUMDB"], Module: probes.Known()}
			if mod != "" {
				if opts.Module, err = parseModuleFlag(mod); err != nil {
					return err
				}
			}
			res, verr := honesty.Verify(cmd.Context(), opts)
			if jsonOut && res != nil {
				out := struct {
					*honesty.Result
					OK    bool   `json:"ok"`
					Error string `json:"error,omitempty"`
				}{Result: res, OK: verr == nil && res.OK()}
				if verr != nil {
					out.Error = verr.Error()
				}
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				if err := enc.Encode(out); err != nil {
					return err
				}
				if !out.OK {
					return exitError{1}
				}
				return nil
			}
			if res != nil {
				a.printVerify(res, len(chain))
			}
			if verr != nil {
				return verr
			}
			if !res.OK() {
				for _, m := range res.Mismatches {
					fmt.Fprintf(a.stderr, "MISMATCH %s %s: %s served %s, the checksum database has %s\n", res.Module, m.File, res.Answered, m.Got, m.Want)
				}
				return exitError{1}
			}
			fmt.Fprintf(a.stdout, "ok: %s is in effect and serves what the checksum database vouches for\n", res.Answered)
			return nil
		},
	}
	cmd.Flags().StringVar(&mod, "module", "", "module@version to fetch (default "+probes.Known().String()+")")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "print the result as JSON")
	return cmd
}

func (a *app) printVerify(res *honesty.Result, chainLen int) {
	fmt.Fprintf(a.stdout, "module %s\n", res.Module)
	for _, at := range res.Attempts {
		fmt.Fprintf(a.stdout, "  %s: %s\n", at.Entry, at.Result)
	}
	if res.Answered == "" {
		return
	}
	fmt.Fprintf(a.stdout, "answered by GOPROXY entry %d of %d: %s\n", res.Index, chainLen, res.Answered)
	if res.SumDBURL != "" {
		fmt.Fprintf(a.stdout, "checksum database %s via %s\n", res.SumDB, res.SumDBURL)
	}
	fmt.Fprintf(a.stdout, "  go.mod %s\n  zip    %s\n", res.ModHash, res.ZipHash)
}
