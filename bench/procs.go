package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is a child process the harness started and must stop.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// startProc starts argv with env, its output going to logFile.
func (b *bench) startProc(name, logFile string, env []string, argv ...string) (*proc, error) {
	out, err := os.Create(logFile)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		out.Close()
		close(p.done)
	}()
	b.mu.Lock()
	b.procs = append(b.procs, p)
	b.mu.Unlock()
	return p, nil
}

// pid returns the process's id.
func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop ends the process group with SIGTERM, and SIGKILL after 5 seconds.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	syscall.Kill(-p.pid(), syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-p.pid(), syscall.SIGKILL)
		<-p.done
	}
}

// stopAll stops every process the harness started.
func (b *bench) stopAll() {
	b.mu.Lock()
	procs := b.procs
	b.procs = nil
	b.mu.Unlock()
	for _, p := range procs {
		p.stop()
	}
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// waitHTTP polls url until it answers 200, the process exits or 30
// seconds pass.
func waitHTTP(ctx context.Context, p *proc, url string) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if err := getOK(ctx, client, url); err == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: %v", p.name, p.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s: %s did not answer within 30s", p.name, url)
}

// mirror is a running gomirror.
type mirror struct {
	*proc
	URL     string
	startup time.Duration // from exec to the first 200 from /healthz
}

// startMirror runs gomirror serve on data with upstream, its log in the
// work directory.
func (b *bench) startMirror(ctx context.Context, data, upstream string, extra ...string) (*mirror, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	args := []string{b.gomirror, "serve", "--listen", addr, "--data", data, "--upstream", upstream, "--sumdb", b.gosumdb}
	args = append(args, extra...)
	env := []string{"HOME=" + os.Getenv("HOME"), "PATH=" + os.Getenv("PATH")}
	b.nlog++
	t0 := time.Now()
	p, err := b.startProc("gomirror", filepath.Join(b.work, fmt.Sprintf("gomirror-%d.log", b.nlog)), env, args...)
	if err != nil {
		return nil, err
	}
	m := &mirror{proc: p, URL: "http://" + addr}
	if err := waitHTTP(ctx, p, m.URL+"/healthz"); err != nil {
		p.stop()
		return nil, err
	}
	m.startup = time.Since(t0)
	return m, nil
}

// memory is what /proc/PID/status says about a process's memory, in bytes.
type memory struct{ RSS, HWM int64 }

// readMemory reads VmRSS and VmHWM of pid.
func readMemory(pid int) (memory, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return memory{}, err
	}
	defer f.Close()
	var m memory
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			m.RSS = n << 10
		case "VmHWM":
			m.HWM = n << 10
		}
	}
	return m, sc.Err()
}

// sampler records the largest VmRSS of a process while it runs.
type sampler struct {
	mu   sync.Mutex
	max  int64
	stop chan struct{}
	done chan struct{}
}

func sampleRSS(pid int) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if m, err := readMemory(pid); err == nil {
				s.mu.Lock()
				s.max = max(s.max, m.RSS)
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// end stops sampling and returns the largest RSS seen.
func (s *sampler) end() int64 {
	close(s.stop)
	<-s.done
	return s.max
}

// startNginx runs Debian's nginx as this user on a free loopback port,
// serving root with the settings of Debian's default configuration.
func (b *bench) startNginx(ctx context.Context, root string) (*proc, string, error) {
	bin, err := exec.LookPath("nginx")
	if err != nil {
		return nil, "", errNoNginx
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, "", err
	}
	dir, err := os.MkdirTemp(b.work, "nginx-")
	if err != nil {
		return nil, "", err
	}
	user := ""
	if os.Geteuid() == 0 {
		// The workers would otherwise switch to nobody, who may not read
		// the data directory.
		user = "user root;"
	}
	conf := fmt.Sprintf(`%s
worker_processes auto;
daemon off;
pid %[2]s/nginx.pid;
error_log %[2]s/error.log;
events { worker_connections 4096; }
http {
	sendfile on;
	tcp_nopush on;
	types_hash_max_size 2048;
	keepalive_timeout 65;
	keepalive_requests 100000;
	default_type application/octet-stream;
	access_log %[2]s/access.log;
	client_body_temp_path %[2]s/body;
	proxy_temp_path %[2]s/proxy;
	fastcgi_temp_path %[2]s/fastcgi;
	uwsgi_temp_path %[2]s/uwsgi;
	scgi_temp_path %[2]s/scgi;
	server {
		listen %[3]s;
		root %[4]s;
		location / { try_files $uri =404; }
	}
}
`, user, dir, addr, root)
	confFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		return nil, "", err
	}
	p, err := b.startProc("nginx", filepath.Join(dir, "stderr.log"), os.Environ(), bin, "-c", confFile, "-p", dir, "-e", filepath.Join(dir, "error.log"))
	if err != nil {
		return nil, "", err
	}
	url := "http://" + addr
	if err := waitStatus(ctx, p, url+"/"); err != nil {
		p.stop()
		return nil, "", err
	}
	return p, url, nil
}

// waitStatus polls url until anything answers.
func waitStatus(ctx context.Context, p *proc, url string) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited: %v", p.name, p.err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not answer", p.name)
}

// errNoNginx reports that nginx is not installed.
var errNoNginx = errors.New("nginx is not installed (Debian package nginx)")

// errNoWrk reports that wrk is not installed.
var errNoWrk = errors.New("wrk is not installed (Debian package wrk)")

// loadResult is what wrk measured.
type loadResult struct {
	RPS      float64
	P50, P99 time.Duration
	Non2xx   int64
	Errors   string
}

var (
	reRPS     = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	reLatency = regexp.MustCompile(`(?m)^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$`)
	reNon2xx  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	reSockErr = regexp.MustCompile(`Socket errors: [^\n]*`)
)

// runWrk runs wrk with conns connections for dur against base, asking for
// paths in turn, and parses its report.
func (b *bench) runWrk(ctx context.Context, base string, paths []string, conns int, dur time.Duration) (loadResult, error) {
	bin, err := exec.LookPath("wrk")
	if err != nil {
		return loadResult{}, errNoWrk
	}
	var lua strings.Builder
	lua.WriteString("local paths = {\n")
	for _, p := range paths {
		fmt.Fprintf(&lua, "  %q,\n", p)
	}
	lua.WriteString("}\nlocal i = 0\nrequest = function()\n  i = i + 1\n  return wrk.format(\"GET\", paths[(i % #paths) + 1])\nend\n")
	script := filepath.Join(b.work, "paths.lua")
	if err := os.WriteFile(script, []byte(lua.String()), 0o644); err != nil {
		return loadResult{}, err
	}
	cmd := exec.CommandContext(ctx, bin, "-t2", fmt.Sprintf("-c%d", conns), fmt.Sprintf("-d%ds", int(dur.Seconds())),
		"--timeout", "30s", "--latency", "-s", script, base)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return loadResult{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	var r loadResult
	m := reRPS.FindSubmatch(out)
	if m == nil {
		return loadResult{}, fmt.Errorf("wrk: no Requests/sec in\n%s", out)
	}
	r.RPS, _ = strconv.ParseFloat(string(m[1]), 64)
	for _, m := range reLatency.FindAllSubmatch(out, -1) {
		v, _ := strconv.ParseFloat(string(m[2]), 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(m[3])]
		d := time.Duration(v * float64(unit))
		if string(m[1]) == "50" {
			r.P50 = d
		} else {
			r.P99 = d
		}
	}
	if m := reNon2xx.FindSubmatch(out); m != nil {
		r.Non2xx, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	if m := reSockErr.Find(out); m != nil {
		r.Errors = string(m)
	}
	return r, nil
}

// cpuTime returns the user and system CPU time pid has used.
func cpuTime(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name, in parentheses, may hold spaces: skip past it.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // USER_HZ on Linux
	return time.Duration(utime+stime) * time.Second / ticks, nil
}
