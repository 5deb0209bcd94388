// Command npm measures a warm `npm install` through gomirror's npm mirror,
// against verdaccio and against the npm registry itself.
//
// Run it from the repository's root:
//
//	go run ./bench/npm                  # 5 timed runs per target, prints a table
//	go run ./bench/npm -runs 9 -o out.md
//
// It needs npm and the npm registry. gomirror's npm handler runs in this
// process, on loopback, over a disk store (-mirror URL measures a running
// gomirror instead). Verdaccio is installed once with npm into
// ~/.cache/gomirror-bench/verdaccio (a pinned version, -verdaccio) and
// started on loopback with the registry as its uplink. Both are warmed
// with one untimed install, and both keep metadata fresh for an hour, so
// no timed run asks the registry anything. Each timed install runs in a
// new project with a new, empty npm cache, so every request reaches the
// target; the targets take turns, run by run, and the median counts.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gomirror/gomirror/internal/npm"
	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/store/disk"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench/npm: %v\n", err)
		os.Exit(1)
	}
}

type options struct {
	runs      int
	pkg       string
	verdaccio string
	mirror    string
	out       string
	keep      bool
	cold      bool
}

// target is one registry under measurement.
type target struct {
	name, registry string
	start          func(dir string) (registry string, stop func(), err error)
	times          []time.Duration
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench/npm", flag.ContinueOnError)
	var o options
	fs.IntVar(&o.runs, "runs", 5, "timed installs per target; the median counts")
	fs.StringVar(&o.pkg, "pkg", "express@4.21.2", "what npm installs")
	fs.StringVar(&o.verdaccio, "verdaccio", "6.5.0", "verdaccio version to compare with (6.10 and later need Node.js 22)")
	fs.StringVar(&o.mirror, "mirror", "", "measure the npm mirror at this URL (http://host:port/npm/) instead of an in-process one")
	fs.StringVar(&o.out, "o", "", "also write the results table to this file")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory")
	fs.BoolVar(&o.cold, "cold", false, "time cold installs: gomirror and verdaccio start each run with empty storage, not warmed")
	if err := fs.Parse(args); err != nil {
		return err
	}
	npmBin, err := exec.LookPath("npm")
	if err != nil {
		return errors.New("npm is not installed (apt-get install nodejs npm)")
	}
	work, err := os.MkdirTemp("", "gomirror-bench-npm-")
	if err != nil {
		return err
	}
	defer func() {
		if o.keep {
			logf("kept %s", work)
		} else {
			os.RemoveAll(work)
		}
	}()
	home, err := os.UserHomeDir()
	if err != nil {
		return err
	}

	vdCache := filepath.Join(home, ".cache", "gomirror-bench", "verdaccio")
	// Each target's start gives its registry URL; in a cold run it is
	// called before every install, with new storage each time.
	targets := []*target{
		{name: "gomirror", start: func(dir string) (string, func(), error) {
			if o.mirror != "" {
				return o.mirror, func() {}, nil
			}
			return startMirror(ctx, dir)
		}},
		{name: "verdaccio " + o.verdaccio, start: func(dir string) (string, func(), error) {
			return startVerdaccio(ctx, npmBin, vdCache, o.verdaccio, dir)
		}},
		{name: "registry.npmjs.org", start: func(string) (string, func(), error) { return npm.DefaultUpstream, func() {}, nil }},
	}
	if o.cold && o.mirror != "" {
		return errors.New("-cold measures gomirror in this process: drop -mirror")
	}
	n := 0
	install := func(t *target) (time.Duration, error) {
		n++
		dir := filepath.Join(work, fmt.Sprintf("run%d", n))
		if o.cold {
			reg, stop, err := t.start(filepath.Join(dir, "storage"))
			if err != nil {
				return 0, err
			}
			defer stop()
			t.registry = reg
		}
		return installOnce(ctx, npmBin, dir, t.registry, o.pkg)
	}
	if !o.cold {
		for i, t := range targets {
			reg, stop, err := t.start(filepath.Join(work, fmt.Sprintf("storage%d", i)))
			if err != nil {
				return err
			}
			defer stop()
			t.registry = reg
			logf("warming %s (%s)", t.name, t.registry)
			if _, err := install(t); err != nil {
				return fmt.Errorf("warming %s: %w", t.name, err)
			}
		}
	}
	for i := range o.runs {
		for _, t := range targets {
			d, err := install(t)
			if err != nil {
				return fmt.Errorf("%s, run %d: %w", t.name, i+1, err)
			}
			logf("%s run %d: %v", t.name, i+1, d.Round(time.Millisecond))
			t.times = append(t.times, d)
		}
	}
	var table strings.Builder
	mode := "warm"
	if o.cold {
		mode = "cold"
	}
	fmt.Fprintf(&table, "%s `npm install %s` (%d runs, median; new project and empty npm cache each run)\n\n", mode, o.pkg, o.runs)
	fmt.Fprintf(&table, "| target | median | runs | vs gomirror |\n| --- | --- | --- | --- |\n")
	base := median(targets[0].times)
	for _, t := range targets {
		m := median(t.times)
		var rs []string
		for _, d := range t.times {
			rs = append(rs, fmt.Sprintf("%.2f", d.Seconds()))
		}
		fmt.Fprintf(&table, "| %s | %.2f s | %s | %.2fx |\n", t.name, m.Seconds(), strings.Join(rs, " "), m.Seconds()/base.Seconds())
	}
	fmt.Fprint(stdout, table.String())
	if o.out != "" {
		return os.WriteFile(o.out, []byte(table.String()), 0o644)
	}
	return nil
}

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "bench/npm: "+format+"\n", args...) }

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// installOnce runs one `npm install pkg` in a new project under dir, with
// an empty npm cache, and checks that every package came from registry.
func installOnce(ctx context.Context, npmBin, dir, registry, pkg string) (time.Duration, error) {
	proj := filepath.Join(dir, "project")
	if err := os.MkdirAll(proj, 0o755); err != nil {
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(proj, "package.json"), []byte(`{"name":"bench","version":"1.0.0","private":true}`+"\n"), 0o644); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npmBin, "install", pkg, "--registry", registry, "--cache", filepath.Join(dir, "cache"),
		"--no-audit", "--no-fund", "--no-update-notifier", "--loglevel", "error")
	cmd.Dir = proj
	cmd.Env = append(os.Environ(), "HOME="+dir, "npm_config_userconfig="+filepath.Join(dir, ".npmrc"))
	start := time.Now()
	out, err := cmd.CombinedOutput()
	d := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("npm install: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(proj, "package-lock.json"))
	if err != nil {
		return 0, err
	}
	var lock struct {
		Packages map[string]struct{ Resolved string } `json:"packages"`
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		return 0, err
	}
	for p, e := range lock.Packages {
		if p != "" && !strings.HasPrefix(e.Resolved, strings.TrimSuffix(registry, "/")) {
			return 0, fmt.Errorf("%s resolved from %s, not %s", p, e.Resolved, registry)
		}
	}
	os.RemoveAll(dir)
	return d, nil
}

// startMirror serves gomirror's npm handler on loopback over a disk store
// in dir, with the npm registry as its upstream.
func startMirror(ctx context.Context, dir string) (string, func(), error) {
	st, err := disk.New(dir, nil)
	if err != nil {
		return "", nil, err
	}
	cache, err := pull.New(pull.Config{Store: st, TempDir: filepath.Join(dir, disk.TempDir), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return "", nil, err
	}
	h, err := npm.New(npm.Config{Cache: cache, TTL: time.Hour, Client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32, ForceAttemptHTTP2: true}}})
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.Handle(npm.Prefix, h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + npm.Prefix, func() {
		srv.Close()
		st.Close()
	}, nil
}

// startVerdaccio installs verdaccio@version under cache when it is not
// there, and starts it on loopback with the registry as its uplink and its
// storage in dir.
func startVerdaccio(ctx context.Context, npmBin, cache, version, dir string) (string, func(), error) {
	bin := filepath.Join(cache, version, "node_modules", ".bin", "verdaccio")
	if _, err := os.Stat(bin); err != nil {
		logf("installing verdaccio@%s into %s", version, filepath.Dir(filepath.Dir(bin)))
		if err := os.MkdirAll(filepath.Join(cache, version), 0o755); err != nil {
			return "", nil, err
		}
		cmd := exec.CommandContext(ctx, npmBin, "install", "--prefix", filepath.Join(cache, version), "--no-audit", "--no-fund", "verdaccio@"+version)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", nil, fmt.Errorf("installing verdaccio: %v\n%s", err, out)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	if err := os.MkdirAll(filepath.Join(dir, "storage"), 0o755); err != nil {
		return "", nil, err
	}
	config := fmt.Sprintf(`storage: %s
listen: %s
uplinks:
  npmjs:
    url: %s
    maxage: 60m
    cache: true
packages:
  '@*/*':
    access: $all
    proxy: npmjs
  '**':
    access: $all
    proxy: npmjs
log: { type: stdout, format: pretty, level: warn }
`, filepath.Join(dir, "storage"), addr, npm.DefaultUpstream)
	cfgFile := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o644); err != nil {
		return "", nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "verdaccio.log"))
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "--config", cfgFile)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		cmd.Wait()
		logFile.Close()
	}
	u := "http://" + addr + "/"
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(u + "-/ping")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return u, stop, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			log, _ := os.ReadFile(logFile.Name())
			return "", nil, fmt.Errorf("verdaccio did not start on %s:\n%s", addr, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
