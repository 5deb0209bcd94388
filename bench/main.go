// Command bench measures gomirror against the targets in
// docs/performance.md: a cold fill and warm hits compared with the
// upstream and with nginx, concurrency, memory, scale and startup.
//
// Run it from the repository's root:
//
//	go run ./bench            # the full benchmark (several minutes)
//	go run ./bench -smoke     # a hermetic check of the harness, no timings
//	go run ./bench -record    # record bench/trace/trace.txt again
//
// The full benchmark replays bench/trace/trace.txt, the requests of a real
// `go mod download all` of the module in bench/trace. It fetches the
// bodies once from the real module proxy into ~/.cache/gomirror-bench and
// serves them afterwards from an upstream simulator with a settable
// latency and bandwidth; the checksum database is reached through the
// simulator's /sumdb/ path, which passes through to the real proxy once
// and answers from its cache afterwards.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// bench is one run of the harness.
type bench struct {
	repo      string // repository root
	cache     string // ~/.cache/gomirror-bench
	bodies    string // cached bodies, laid out like GOPROXY
	work      string // temporary directory of this run
	gomirror  string // the binary under test
	gosumdb   string // gomirror's --sumdb
	realProxy string // the real module proxy, for recording and bodies
	netClient *http.Client
	sumdb     http.Handler
	out       io.Writer
	smoke     bool

	mu    sync.Mutex
	procs []*proc
	nlog  int
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if errors.Is(err, errSkip) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

// errSkip ends a smoke run that cannot run here, outside CI.
var errSkip = errors.New("skipped")

// options are the command-line settings.
type options struct {
	smoke, record, keep bool
	peers               bool
	clients, runs       int
	warmRuns            int
	conns               int
	loadDur             time.Duration
	near, far           link
	out                 string
	only                string
	binary              string
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o options
	fs.BoolVar(&o.smoke, "smoke", false, "hermetic check: generated modules, fake checksum database, tiny sizes, no timing assertions")
	fs.BoolVar(&o.record, "record", false, "record bench/trace/trace.txt from a real go mod download all, then exit")
	fs.BoolVar(&o.keep, "keep", false, "keep the temporary work directory (logs, data)")
	fs.IntVar(&o.clients, "clients", 8, "parallel clients replaying the trace")
	fs.IntVar(&o.runs, "runs", 3, "timed runs of each cold replay and wrk run; the median counts")
	fs.IntVar(&o.warmRuns, "warm-runs", 7, "timed warm replays of each server, alternating with nginx; the best counts")
	fs.BoolVar(&o.peers, "peers", false, "also measure goproxy/goproxy and Athens, built from the Go module proxy, in front of the same upstream")
	fs.IntVar(&o.conns, "conns", 256, "connections of the concurrency and memory tests")
	fs.DurationVar(&o.loadDur, "load-duration", 8*time.Second, "duration of one wrk run")
	fs.DurationVar(&o.near.RTT, "rtt", 2*time.Millisecond, "round-trip time of the simulated upstream (measured to proxy.golang.org from this machine)")
	fs.DurationVar(&o.near.Handshake, "handshake", 35*time.Millisecond, "extra time of a new upstream connection (TCP and TLS handshake)")
	bw := fs.Float64("bandwidth", 64, "MB/s of one simulated upstream connection; 0 is unlimited")
	fs.DurationVar(&o.far.RTT, "far-rtt", 200*time.Millisecond, "round-trip time of the cross-border upstream")
	farBW := fs.Float64("far-bandwidth", 2, "MB/s of one cross-border upstream connection")
	fs.StringVar(&o.out, "o", "", "also write the results table to this file")
	fs.StringVar(&o.binary, "gomirror", "", "measure this gomirror binary instead of building ./cmd/gomirror")
	fs.StringVar(&o.only, "only", "", "comma-separated sections to run: cold,gocmd,warm,load,memory,scale,far,eco (default all)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o.near.Bandwidth = int64(*bw * 1e6)
	o.far.Bandwidth = int64(*farBW * 1e6)
	o.far.Handshake = 2 * o.far.RTT

	repo, err := repoRoot()
	if err != nil {
		return err
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return err
	}
	b := &bench{
		repo:      repo,
		cache:     filepath.Join(home, ".cache", "gomirror-bench"),
		realProxy: firstProxy(),
		netClient: &http.Client{Timeout: 5 * time.Minute},
		out:       os.Stdout,
		smoke:     o.smoke,
		gomirror:  o.binary,
	}
	b.bodies = filepath.Join(b.cache, "bodies")
	b.work, err = os.MkdirTemp("", "gomirror-bench-")
	if err != nil {
		return err
	}
	os.Chmod(b.work, 0o755) // nginx's workers read the data under it
	defer func() {
		b.stopAll()
		if o.keep {
			b.logf("kept %s", b.work)
		} else {
			os.RemoveAll(b.work)
		}
	}()
	if o.record {
		return b.recordTrace(ctx)
	}
	if o.smoke {
		return b.runSmoke(ctx, o)
	}
	return b.runFull(ctx, o)
}

// repoRoot returns the directory of gomirror's go.mod.
func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("run bench from inside the gomirror repository")
	}
	return filepath.Dir(gomod), nil
}

// firstProxy returns the first proxy of `go env GOPROXY`.
func firstProxy() string {
	out, err := exec.Command("go", "env", "GOPROXY").Output()
	if err == nil {
		for p := range strings.FieldsFuncSeq(strings.TrimSpace(string(out)), func(r rune) bool { return r == ',' || r == '|' }) {
			if strings.HasPrefix(p, "http") {
				return strings.TrimSuffix(p, "/")
			}
		}
	}
	return "https://proxy.golang.org"
}

// build compiles gomirror into the work directory.
func (b *bench) build(ctx context.Context) error {
	if b.gomirror != "" {
		return nil
	}
	b.gomirror = filepath.Join(b.work, "gomirror")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", b.gomirror, "./cmd/gomirror")
	cmd.Dir = b.repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building gomirror: %v\n%s", err, out)
	}
	return nil
}

// traceDir is the module whose download the trace records.
func (b *bench) traceDir() string { return filepath.Join(b.repo, "bench", "trace") }

// tracePath is the committed trace.
func (b *bench) tracePath() string { return filepath.Join(b.traceDir(), "trace.txt") }

// recordTrace records the trace of bench/trace's module and writes it.
func (b *bench) recordTrace(ctx context.Context) error {
	b.sumdb = &sumdbCache{dir: filepath.Join(b.cache, "sumdb"), upstream: b.realProxy, client: b.netClient}
	t, err := record(ctx, b, b.traceDir())
	if err != nil {
		return err
	}
	goVersion, _ := exec.Command("go", "env", "GOVERSION").Output()
	comment := fmt.Sprintf(`The requests of "go mod download all" in bench/trace, recorded by "go run ./bench -record"
with %s through a recording proxy in front of %s, with an empty module cache.
One request a line, in the order they arrived: status size sha256 path.
%d requests, %d bytes.`, strings.TrimSpace(string(goVersion)), b.realProxy, len(t), t.totalBytes())
	if err := writeTrace(b.tracePath(), t, comment); err != nil {
		return err
	}
	b.logf("wrote %s: %d requests, %.1f MB", b.tracePath(), len(t), float64(t.totalBytes())/1e6)
	return nil
}

// ensureTool installs a Debian package when its command is missing and
// this is root, as the full benchmark needs it.
func (b *bench) ensureTool(ctx context.Context, command, pkg string) error {
	if _, err := exec.LookPath(command); err == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%s is missing: install Debian's %s package (apt-get install %s)", command, pkg, pkg)
	}
	b.logf("installing %s with apt-get", pkg)
	// Keep the package's service from starting on port 80: the harness
	// runs its own instance.
	const policy = "/usr/sbin/policy-rc.d"
	if _, err := os.Stat(policy); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(policy, []byte("#!/bin/sh\nexit 101\n"), 0o755); err == nil {
			defer os.Remove(policy)
		}
	}
	for _, args := range [][]string{{"update"}, {"install", "-y", "--no-install-recommends", pkg}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}
