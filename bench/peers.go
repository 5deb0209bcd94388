package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// peer is another Go module proxy that `go run ./bench -peers` measures
// beside gomirror, built from the Go module proxy at an exact version.
type peer struct {
	name    string // as the report names it
	module  string // its module, required at version
	version string
	pkg     string // the package of its command
	// args and env start it on addr with data as its only storage, in
	// front of upstream, verifying against the checksum database.
	args func(bin, addr, data, upstream string) []string
	env  func(addr, data, upstream string) []string
	// health is the path that answers 200 once it is ready.
	health string
}

// peers are the proxies of the comparison. Both verify what they fetch
// against sum.golang.org, as gomirror does, reaching it through the
// upstream's /sumdb/ path as the go command would.
var peers = []peer{
	{
		name: "goproxy", module: "github.com/goproxy/goproxy", version: "v0.26.1", pkg: "github.com/goproxy/goproxy/cmd/goproxy",
		args: func(bin, addr, data, _ string) []string {
			return []string{bin, "server", "--address", addr, "--cacher", "dir",
				"--cacher-dir", filepath.Join(data, "caches"), "--temp-dir", filepath.Join(data, "tmp")}
		},
		// Its fetcher reads GOPROXY and GOSUMDB from the environment
		// (GoFetcher.Env unset), and verifies every .mod and .zip it
		// fetches from a proxy with a golang.org/x/mod/sumdb client.
		env: func(_, _, upstream string) []string {
			return []string{"GOPROXY=" + upstream, "GOSUMDB=sum.golang.org", "GONOSUMDB=", "GOPRIVATE=", "GOFLAGS="}
		},
		health: "/",
	},
	{
		name: "Athens", module: "github.com/gomods/athens", version: "v0.18.0", pkg: "github.com/gomods/athens/cmd/proxy",
		args: func(bin, _, _, _ string) []string { return []string{bin} },
		// Athens runs `go mod download` with ATHENS_GO_BINARY_ENV_VARS:
		// the go command verifies against GOSUMDB through the proxy.
		env: func(addr, data, upstream string) []string {
			return []string{
				"ATHENS_PORT=" + addr,
				"ATHENS_STORAGE_TYPE=disk",
				"ATHENS_DISK_STORAGE_ROOT=" + filepath.Join(data, "storage"),
				"ATHENS_GOGET_DIR=" + filepath.Join(data, "tmp"),
				"ATHENS_GO_BINARY_ENV_VARS=GOPROXY=" + upstream + ";GOSUMDB=sum.golang.org;GONOSUMDB=;GOPRIVATE=;GOFLAGS=",
				"ATHENS_LOG_LEVEL=info",
				"ATHENS_NETWORK_MODE=strict",
				"ATHENS_DOWNLOAD_MODE=sync",
				"GO_ENV=production",
			}
		},
		health: "/healthz",
	},
}

// buildPeers builds every peer's command once into the cache directory,
// in a temporary module that requires their exact versions (their
// @v/list may be refused), and returns the binaries by name.
func (b *bench) buildPeers(ctx context.Context) (map[string]string, error) {
	dir := filepath.Join(b.cache, "peers")
	bins := map[string]string{}
	var missing []peer
	for _, p := range peers {
		bin := filepath.Join(dir, p.name+"-"+p.version)
		bins[p.name] = bin
		if _, err := os.Stat(bin); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return bins, nil
	}
	mod, err := os.MkdirTemp(b.work, "peers-")
	if err != nil {
		return nil, err
	}
	var gomod, tools strings.Builder
	gomod.WriteString("module benchpeers\n\ngo 1.26\n\nrequire (\n")
	tools.WriteString("//go:build tools\n\npackage tools\n\nimport (\n")
	for _, p := range missing {
		fmt.Fprintf(&gomod, "\t%s %s\n", p.module, p.version)
		fmt.Fprintf(&tools, "\t_ %q\n", p.pkg)
	}
	gomod.WriteString(")\n")
	tools.WriteString(")\n")
	if err := os.WriteFile(filepath.Join(mod, "go.mod"), []byte(gomod.String()), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(mod, "tools.go"), []byte(tools.String()), 0o644); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	goCmd := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = mod
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	b.logf("building the peers %v from the Go module proxy", missing)
	if err := goCmd("mod", "tidy"); err != nil {
		return nil, err
	}
	for _, p := range missing {
		if err := goCmd("build", "-o", bins[p.name], p.pkg); err != nil {
			return nil, err
		}
	}
	return bins, nil
}

func (p peer) String() string { return p.name + " " + p.version }

// startPeer runs p on a free loopback port with data as its storage, in
// front of upstream.
func (b *bench) startPeer(ctx context.Context, p peer, bin, data, upstream string) (*mirror, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	for _, d := range []string{"tmp", "storage", "caches"} {
		if err := os.MkdirAll(filepath.Join(data, d), 0o755); err != nil {
			return nil, err
		}
	}
	gobin, _ := exec.LookPath("go")
	env := []string{"HOME=" + os.Getenv("HOME"), "PATH=" + os.Getenv("PATH"), "GO_BINARY_PATH=" + gobin,
		"GOMODCACHE=" + filepath.Join(data, "tmp", "modcache"), "GOCACHE=" + filepath.Join(data, "tmp", "gocache")}
	env = append(env, p.env(addr, data, upstream)...)
	b.nlog++
	t0 := time.Now()
	pr, err := b.startProc(p.name, filepath.Join(b.work, fmt.Sprintf("%s-%d.log", p.name, b.nlog)), env, p.args(bin, addr, data, upstream)...)
	if err != nil {
		return nil, err
	}
	m := &mirror{proc: pr, URL: "http://" + addr}
	if err := waitStatus(ctx, pr, m.URL+p.health); err != nil {
		pr.stop()
		return nil, err
	}
	m.startup = time.Since(t0)
	return m, nil
}

// peerResult is what the comparison measured of one proxy.
type peerResult struct {
	cold, straight   time.Duration
	warm, warmNginx  time.Duration
	rps, rpsNginx    float64
	p99, p99Nginx    time.Duration
	rssIdle, rssPeak int64
	rssRested        int64    // RSS after restAfterWarm without a request
	wrong            []string // replays that got wrong answers
}

// measurePeers measures each peer as gomirror is measured: a cold fill
// against a straight replay, warm replays alternating with nginx on
// gomirror's filled store, wrk runs alternating with nginx, and memory.
// A peer that fails is reported as such; the others still run.
func (b *bench) measurePeers(ctx context.Context, s *suite, warmData string) error {
	bins, err := b.buildPeers(ctx)
	if err != nil {
		return err
	}
	extra := &sumdbCache{dir: filepath.Join(b.cache, "extra"), upstream: b.realProxy, client: b.netClient}
	s.sim.extra.Store(extra)
	defer func() {
		s.sim.extra.Store(nil)
		b.logf("peers: %d requests for files outside the trace passed through to %s", extra.misses.Load(), b.realProxy)
	}()
	ng, ngURL, err := b.startNginx(ctx, warmData)
	if err != nil {
		return err
	}
	defer ng.stop()
	for _, p := range peers {
		res, err := b.measurePeer(ctx, s, p, bins[p.name], ngURL)
		if err != nil {
			b.logf("%s: %v", p, err)
			s.add(row{"peers", p.String() + ": failed", firstLineOf(err.Error()), "", "", "", ""})
			continue
		}
		b.logf("%s: cold %v (straight %v), warm %v (nginx %v), %.0f req/s p99 %v (nginx %.0f, %v), RSS idle %s peak %s",
			p, res.cold, res.straight, res.warm, res.warmNginx, res.rps, res.p99, res.rpsNginx, res.p99Nginx, mb(res.rssIdle), mb(res.rssPeak))
		s.add(row{"peers", p.String() + ": cold fill, verified", secs(res.cold), secs(res.straight) + " straight from upstream",
			fmt.Sprintf("%.2f×", res.cold.Seconds()/res.straight.Seconds()), "gomirror's lower", ""})
		if s.coldRatio > 0 {
			ahead := (res.cold.Seconds() / res.straight.Seconds()) / s.coldRatio
			s.add(row{"peers", p.String() + ": its cold ratio over gomirror's", fmt.Sprintf("%.2f×", ahead), fmt.Sprintf("gomirror %.2f×", s.coldRatio), "", "≥ 2× (gomirror ahead)", verdict(ahead, 2, true)})
		}
		s.add(row{"peers", p.String() + fmt.Sprintf(": warm replay, best of %d", max(s.warmRuns, 1)), secs(res.warm), secs(res.warmNginx) + " nginx (best)",
			fmt.Sprintf("%.2f×", res.warm.Seconds()/res.warmNginx.Seconds()), "gomirror's lower", ""})
		s.add(row{"peers", p.String() + ": requests/s, " + fmt.Sprint(s.conns) + " connections (median)", fmt.Sprintf("%.0f", res.rps), fmt.Sprintf("%.0f nginx", res.rpsNginx),
			fmt.Sprintf("%.2f×", res.rps/res.rpsNginx), "gomirror's higher", ""})
		s.add(row{"peers", p.String() + ": p99 latency (median)", res.p99.String(), res.p99Nginx.String() + " nginx",
			fmt.Sprintf("%.2f×", res.p99.Seconds()/res.p99Nginx.Seconds()), "gomirror's lower", ""})
		for _, w := range res.wrong {
			s.add(row{"peers", p.String() + ": WRONG ANSWERS", w, "", "", "", ""})
		}
		g := s.rss
		base, v := "", ""
		if g.idle > 0 && g.rested > 0 && g.peak > 0 {
			base = "gomirror " + mb(g.idle) + " / " + mb(g.rested) + " / " + mb(g.peak)
			v = "NOT met"
			if g.idle <= res.rssIdle && g.rested <= res.rssRested && g.peak <= res.rssPeak {
				v = "met"
			}
		}
		s.add(row{"peers", p.String() + ": RSS idle after warm replays / " + restAfterWarm.String() + " later / peak (VmHWM) over its run", mb(res.rssIdle) + " / " + mb(res.rssRested) + " / " + mb(res.rssPeak), base, "", "gomirror's no higher", v})
	}
	return nil
}

func (b *bench) measurePeer(ctx context.Context, s *suite, p peer, bin, ngURL string) (peerResult, error) {
	var res peerResult
	s.sim.setLink(s.near)
	straight, err := replay(ctx, s.simURL, s.trace, s.clients)
	if err != nil {
		return res, fmt.Errorf("straight from the upstream: %w", err)
	}
	res.straight = straight
	m, err := b.startPeer(ctx, p, bin, s.dataDir(b), s.simURL)
	if err != nil {
		return res, err
	}
	defer m.stop()
	cctx, cancel := context.WithTimeout(ctx, 20*time.Minute)
	res.cold, err = replayLenient(cctx, m.URL, s.trace, s.clients)
	cancel()
	if err != nil && ctx.Err() == nil && cctx.Err() == nil && errors.Is(err, errWrongAnswers) {
		// A wrong answer is the peer's to own: report it and measure on.
		res.wrong = append(res.wrong, "cold: "+oneLine(err.Error()))
	} else if err != nil {
		return res, fmt.Errorf("cold fill: %w", err)
	}
	s.sim.setLink(link{})
	defer s.sim.setLink(s.near)
	// Warm: alternate with nginx; the first pass of each warms caches.
	var warm, warmNginx []time.Duration
	for i := range max(s.warmRuns, 1) + 1 {
		dn, err := replay(ctx, ngURL, s.trace, s.clients)
		if err != nil {
			return res, fmt.Errorf("warm nginx: %w", err)
		}
		dp, err := replayLenient(ctx, m.URL, s.trace, s.clients)
		if err != nil && errors.Is(err, errWrongAnswers) && ctx.Err() == nil {
			res.wrong = append(res.wrong, fmt.Sprintf("warm pass %d: %s", i+1, oneLine(err.Error())))
		} else if err != nil {
			return res, fmt.Errorf("warm: %w", err)
		}
		if i > 0 {
			warm, warmNginx = append(warm, dp), append(warmNginx, dn)
		}
	}
	res.warm, res.warmNginx = slices.Min(warm), slices.Min(warmNginx)
	if mem, err := readMemory(m.pid()); err == nil {
		res.rssIdle = mem.RSS
	}
	if b.rest(ctx) == nil {
		if mem, err := readMemory(m.pid()); err == nil {
			res.rssRested = mem.RSS
		}
	}
	paths := hotPaths(s.trace, 256)
	var rps, rpsN, p99, p99N []float64
	for range max(s.runs, 1) {
		rn, err := b.runWrk(ctx, ngURL, paths, s.conns, s.loadDur)
		if err != nil {
			return res, err
		}
		rp, err := b.runWrk(ctx, m.URL, paths, s.conns, s.loadDur)
		if err != nil {
			return res, err
		}
		if rp.Non2xx > 0 {
			return res, fmt.Errorf("wrk: %d non-2xx answers", rp.Non2xx)
		}
		rps, rpsN = append(rps, rp.RPS), append(rpsN, rn.RPS)
		p99, p99N = append(p99, float64(rp.P99)), append(p99N, float64(rn.P99))
	}
	res.rps, res.rpsNginx = medianF(rps), medianF(rpsN)
	res.p99, res.p99Nginx = time.Duration(medianF(p99)), time.Duration(medianF(p99N))
	if mem, err := readMemory(m.pid()); err == nil {
		res.rssPeak = mem.HWM
	}
	return res, nil
}

func firstLineOf(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

// oneLine joins the lines of s.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}
