// Package doctor checks a machine's Go module download setup: the go
// command's environment (GOPROXY, GOSUMDB, GOPRIVATE and friends), the
// reachability and abilities of every proxy in the GOPROXY chain, and the
// Docker, containerd, podman, pip and npm mirror settings when they exist. Every failed check comes
// with a concrete fix.
package doctor

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"go/version"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/note"

	"github.com/gomirror/gomirror/internal/client/dockerconf"
	"github.com/gomirror/gomirror/internal/client/goenv"
	"github.com/gomirror/gomirror/internal/client/hoststoml"
	"github.com/gomirror/gomirror/internal/client/npmrc"
	"github.com/gomirror/gomirror/internal/client/pipconf"
	"github.com/gomirror/gomirror/internal/client/probes"
	"github.com/gomirror/gomirror/internal/client/proxychain"
	"github.com/gomirror/gomirror/internal/client/registriesconf"
)

// Status is the outcome of one check.
type Status string

// The outcomes of a check. Only Fail makes the doctor exit non-zero.
const (
	OK   Status = "ok"
	Info Status = "info"
	Warn Status = "warn"
	Fail Status = "fail"
)

// Check is one item of the checklist.
type Check struct {
	// Section groups checks: "go", "proxy https://goproxy.cn", "docker", ...
	Section string `json:"section"`
	// Name says what was checked: "GOSUMDB", "DNS", "TLS".
	Name   string `json:"name"`
	Status Status `json:"status"`
	// Detail is what was found.
	Detail string `json:"detail"`
	// Fix is a concrete remedy, set for Warn and Fail.
	Fix string `json:"fix,omitempty"`
}

// Report is the doctor's checklist.
type Report struct {
	Checks []Check `json:"checks"`
	// OK is false when any check failed.
	OK bool `json:"ok"`
}

// Options says what to check and how. Go is required; the rest have
// defaults.
type Options struct {
	// Go runs the user's go command.
	Go *goenv.Runner
	// HTTP fetches from proxies; nil means a client that honours the proxy
	// environment variables.
	HTTP *http.Client
	// ResolvConf is the resolver configuration to name the DNS servers
	// from; "" means /etc/resolv.conf.
	ResolvConf string
	// DockerConfig, PipConfig and NpmConfig are checked when they exist.
	DockerConfig, PipConfig, NpmConfig string
	// ContainerdHostsDir is containerd's certs.d directory, whose
	// <registry>/hosts.toml files are checked; PodmanConfig is podman's
	// registries.conf. Each is checked when it exists; "" skips it.
	ContainerdHostsDir, PodmanConfig string
	// Module is the module every proxy should serve; zero means
	// probes.Known().
	Module module.Version
	// Timeout bounds each network check; zero means 5s.
	Timeout time.Duration
	// Offline skips the network checks.
	Offline bool
}

type doctor struct {
	opts   Options
	checks []Check
}

func (d *doctor) add(section, name string, st Status, detail, fix string) {
	d.checks = append(d.checks, Check{Section: section, Name: name, Status: st, Detail: detail, Fix: fix})
}

// Run runs every check. It returns an error only when the go command
// itself cannot be run; everything else is a check in the report.
func Run(ctx context.Context, opts Options) (*Report, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Module == (module.Version{}) {
		opts.Module = probes.Known()
	}
	if opts.ResolvConf == "" {
		opts.ResolvConf = "/etc/resolv.conf"
	}
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment}}
	}
	env, err := opts.Go.Get(ctx)
	if err != nil {
		return nil, err
	}
	d := &doctor{opts: opts}
	d.checkGo(env)
	entries := d.checkProxyChain(env)
	sumdbName := d.checkSumDB(env, entries)
	d.checkPrivate(env, entries)
	d.checkMisc(env)
	for _, e := range entries {
		if e.Kind == proxychain.Proxy && e.Err == nil && !opts.Offline {
			d.checkProxy(ctx, e, sumdbName, env["GOSUMDB"])
		}
	}
	d.checkDocker()
	d.checkContainerd()
	d.checkPodman()
	d.checkPip()
	d.checkNpm()
	r := &Report{Checks: d.checks, OK: true}
	for _, c := range d.checks {
		if c.Status == Fail {
			r.OK = false
		}
	}
	return r, nil
}

func (d *doctor) checkGo(env map[string]string) {
	v := env["GOVERSION"]
	switch {
	case v == "":
		d.add("go", "go version", Warn, "the go command does not report GOVERSION", "install a current Go release from https://go.dev/dl/")
	case version.IsValid(v) && version.Compare(v, "go1.13") < 0:
		d.add("go", "go version", Fail, v+" predates GOPROXY lists and GOSUMDB (go1.13)", "install a current Go release from https://go.dev/dl/")
	case version.IsValid(v) && version.Compare(v, "go1.15") < 0:
		d.add("go", "go version", Warn, v+" does not understand '|' in GOPROXY (go1.15)", "install a current Go release from https://go.dev/dl/")
	default:
		d.add("go", "go version", OK, v, "")
	}
	switch m := env["GO111MODULE"]; m {
	case "off":
		d.add("go", "module mode", Fail, "GO111MODULE=off: GOPATH mode ignores GOPROXY and GOSUMDB", "go env -u GO111MODULE")
	default:
		if m == "" {
			m = "default (on)"
		}
		d.add("go", "module mode", OK, "GO111MODULE="+m, "")
	}
}

// firstProxy returns the first well-formed proxy URL of the chain, or "".
func firstProxy(entries []proxychain.Entry) string {
	for _, e := range entries {
		if e.Kind == proxychain.Proxy && e.Err == nil {
			return e.URL
		}
	}
	return ""
}

func (d *doctor) checkProxyChain(env map[string]string) []proxychain.Entry {
	raw := env["GOPROXY"]
	entries := proxychain.Parse(raw)
	goodChain := []string{}
	for _, e := range entries {
		if e.Kind == proxychain.Proxy && e.Err == nil {
			goodChain = append(goodChain, e.URL)
		}
	}
	if len(goodChain) == 0 {
		goodChain = append(goodChain, "https://proxy.golang.org")
	}
	goodChain = append(goodChain, "direct")
	fix := "go env -w GOPROXY=" + strings.Join(goodChain, ",")
	bad := false
	for i, e := range entries {
		switch {
		case e.Err != nil:
			bad = true
			d.add("go", "GOPROXY", Fail, e.Err.Error()+"; the go command refuses the whole chain", fix)
		case e.Kind == proxychain.Off && i == 0:
			bad = true
			d.add("go", "GOPROXY", Fail, "GOPROXY starts with off: module downloads are disabled", "go env -w GOPROXY=https://proxy.golang.org,direct (or a mirror: gomirror use go goproxy.cn)")
		case e.Kind == proxychain.Off:
			bad = true
			d.add("go", "GOPROXY", Fail, "off in GOPROXY: modules the earlier entries lack cannot be downloaded at all", fix)
		case e.Kind == proxychain.Proxy:
			u, _ := url.Parse(e.URL)
			if u.Scheme == "http" && !proxychain.IsLocalHost(u.Host) {
				d.add("go", "GOPROXY", Warn, e.URL+" is plain http on a host that is not local: its traffic can be read and altered on the way (the checksum database still guards module content)",
					"use https: go env -w GOPROXY="+strings.Replace(raw, "http://", "https://", 1))
			}
		}
	}
	if !bad {
		d.add("go", "GOPROXY", OK, orDefault(raw, "https://proxy.golang.org,direct (default)"), "")
	}
	if firstProxy(entries) == "" && !bad {
		d.add("go", "GOPROXY", Warn, "no proxy in GOPROXY: every module comes straight from its version control system", "gomirror use go goproxy.cn (or another mirror: gomirror use --list)")
	}
	return entries
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (d *doctor) checkSumDB(env map[string]string, entries []proxychain.Entry) string {
	raw := env["GOSUMDB"]
	name := probes.SumDB
	fix := "go env -w GOSUMDB=sum.golang.org"
	if p := firstProxy(entries); p != "" {
		fix = "go env -w GOSUMDB='sum.golang.org " + p + "/sumdb/sum.golang.org' (or, when the mirror has no /sumdb/, go env -w GOSUMDB=sum.golang.org)"
	}
	f := strings.Fields(raw)
	switch {
	case len(f) == 0:
		d.add("go", "GOSUMDB", OK, "sum.golang.org (default)", "")
	case f[0] == "off":
		d.add("go", "GOSUMDB", Fail, "GOSUMDB=off: downloaded modules are not checked against the checksum database, so a mirror could serve altered code unnoticed", fix)
		return ""
	case len(f) > 2:
		d.add("go", "GOSUMDB", Fail, fmt.Sprintf("malformed GOSUMDB %q: want NAME[+KEY] [URL]", raw), fix)
		return ""
	default:
		name, _, _ = strings.Cut(f[0], "+")
		if strings.Contains(f[0], "+") {
			if _, err := note.NewVerifier(f[0]); err != nil {
				d.add("go", "GOSUMDB", Fail, fmt.Sprintf("malformed checksum database key in GOSUMDB: %v", err), fix)
				return ""
			}
		} else if name != "sum.golang.org" && name != "sum.golang.google.cn" {
			d.add("go", "GOSUMDB", Fail, "unknown checksum database "+name+" without a public key", fix)
			return ""
		}
		if name == "sum.golang.google.cn" {
			name = "sum.golang.org"
		}
		if len(f) == 2 {
			if u, err := url.Parse(f[1]); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				d.add("go", "GOSUMDB", Fail, fmt.Sprintf("malformed checksum database URL %q in GOSUMDB", f[1]), fix)
				return ""
			}
		}
		d.add("go", "GOSUMDB", OK, raw, "")
	}
	return name
}

// publicModules are well-known public module paths: a private pattern that
// matches one of them is too broad.
var publicModules = []string{
	"github.com/google/uuid", "golang.org/x/text", "gopkg.in/yaml.v3",
	"google.golang.org/grpc", "go.uber.org/zap", "k8s.io/api",
	"cloud.google.com/go", "gitlab.com/gitlab-org/api/client-go", "go.etcd.io/bbolt",
	"bitbucket.org/creachadair/shell", "gitee.com/go-admin-team/go-admin-core",
}

func (d *doctor) checkPrivate(env map[string]string, entries []proxychain.Entry) {
	hasPrivate := false
	for _, key := range []string{"GOPRIVATE", "GONOPROXY", "GONOSUMDB"} {
		raw := env[key]
		if raw == "" {
			continue
		}
		hasPrivate = true
		if key != "GOPRIVATE" && raw == env["GOPRIVATE"] {
			// Derived from GOPRIVATE, already checked.
			continue
		}
		var broad []string
		for p := range strings.SplitSeq(raw, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			for _, m := range publicModules {
				if module.MatchPrefixPatterns(p, m) {
					broad = append(broad, fmt.Sprintf("%q matches %s", p, m))
					break
				}
			}
		}
		if len(broad) > 0 {
			effect := "public modules skip the mirror and the checksum database"
			switch key {
			case "GONOPROXY":
				effect = "public modules skip the mirror"
			case "GONOSUMDB":
				effect = "public modules are not checked against the checksum database"
			}
			d.add("go", key, Fail, fmt.Sprintf("%s is too broad (%s): %s", key, strings.Join(broad, "; "), effect),
				"list only your own hosts or organisations, e.g. go env -w "+key+"=git.example.com,github.com/your-org")
			continue
		}
		d.add("go", key, OK, raw, "")
	}
	if !hasPrivate {
		return
	}
	for _, e := range entries {
		if e.Kind == proxychain.Direct {
			return
		}
	}
	if p := firstProxy(entries); p != "" {
		d.add("go", "GOPROXY", Warn, "private patterns are set but GOPROXY has no direct: modules the proxies lack fail instead of being fetched from their origin",
			"go env -w GOPROXY="+p+",direct")
	}
}

func (d *doctor) checkMisc(env map[string]string) {
	flags := env["GOFLAGS"]
	insecure := false
	for _, f := range strings.Fields(flags) {
		if f == "-insecure" || strings.HasPrefix(f, "-insecure=") {
			insecure = true
		}
	}
	switch {
	case insecure:
		d.add("go", "GOFLAGS", Fail, "GOFLAGS has -insecure, which newer go commands reject", "remove it; list hosts that really need it in GOINSECURE: go env -w GOFLAGS=")
	case flags == "":
		d.add("go", "GOFLAGS", OK, "(empty)", "")
	default:
		d.add("go", "GOFLAGS", OK, flags, "")
	}
	if v := env["GOINSECURE"]; v != "" {
		d.add("go", "GOINSECURE", Warn, "GOINSECURE="+v+": those modules are fetched without TLS and skip checksum verification", "go env -u GOINSECURE, unless a host truly has no TLS")
	}
	mc := env["GOMODCACHE"]
	if fi, err := os.Stat(mc); err == nil && !fi.IsDir() {
		d.add("go", "GOMODCACHE", Fail, mc+" exists and is not a directory", "move it away or go env -w GOMODCACHE=$HOME/go/pkg/mod")
	} else {
		d.add("go", "GOMODCACHE", OK, mc, "")
	}
	tc := env["GOTOOLCHAIN"]
	if tc == "" || tc == "local" {
		d.add("go", "GOTOOLCHAIN", OK, orDefault(tc, "(default)"), "")
	} else {
		d.add("go", "GOTOOLCHAIN", Info, tc+": newer toolchains download as the module golang.org/toolchain through GOPROXY, so the mirror must serve it", "")
	}
}

// Resolvers returns the nameservers listed in a resolv.conf file.
func Resolvers(data []byte) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(data)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "nameserver" {
			out = append(out, f[1])
		}
	}
	return out
}

func (d *doctor) checkProxy(ctx context.Context, e proxychain.Entry, sumdbName, gosumdb string) {
	section := "proxy " + e.URL
	u, _ := url.Parse(e.URL)
	if u.Scheme == "file" {
		if fi, err := os.Stat(u.Path); err != nil || !fi.IsDir() {
			d.add(section, "directory", Fail, u.Path+" is not a readable directory", "create it or remove "+e.URL+" from GOPROXY")
		} else {
			d.add(section, "directory", OK, u.Path, "")
		}
		return
	}
	host := u.Hostname()
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	timeout := d.opts.Timeout
	// DNS.
	if net.ParseIP(host) != nil {
		d.add(section, "DNS", OK, host+" is an IP address; nothing to resolve", "")
	} else {
		resolvers := "no nameserver listed"
		if data, err := os.ReadFile(d.opts.ResolvConf); err == nil {
			if r := Resolvers(data); len(r) > 0 {
				resolvers = strings.Join(r, ", ")
			}
		}
		cctx, cancel := context.WithTimeout(ctx, timeout)
		start := time.Now()
		addrs, err := net.DefaultResolver.LookupHost(cctx, host)
		cancel()
		if err != nil {
			d.add(section, "DNS", Fail, fmt.Sprintf("cannot resolve %s (resolvers from %s: %s): %v", host, d.opts.ResolvConf, resolvers, err),
				"check the nameservers in "+d.opts.ResolvConf+", or choose a mirror that resolves: gomirror bench")
			return
		}
		d.add(section, "DNS", OK, fmt.Sprintf("%s -> %s in %s (resolvers from %s: %s)", host, strings.Join(addrs, " "), ms(time.Since(start)), d.opts.ResolvConf, resolvers), "")
	}
	// TCP.
	addr := net.JoinHostPort(host, port)
	cctx, cancel := context.WithTimeout(ctx, timeout)
	start := time.Now()
	var dialer net.Dialer
	conn, err := dialer.DialContext(cctx, "tcp", addr)
	cancel()
	if err != nil {
		d.add(section, "TCP", Fail, fmt.Sprintf("cannot connect to %s: %v", addr, err), "check firewalls and proxies between this machine and "+host+", or choose another mirror: gomirror bench")
		return
	}
	d.add(section, "TCP", OK, fmt.Sprintf("connected to %s in %s", addr, ms(time.Since(start))), "")
	if u.Scheme == "https" {
		conn.SetDeadline(time.Now().Add(timeout))
		start = time.Now()
		tc := tls.Client(conn, &tls.Config{ServerName: host})
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			d.add(section, "TLS", Fail, fmt.Sprintf("TLS handshake with %s failed: %v", host, err), "check the system's CA certificates (or SSL_CERT_FILE) and the clock; an intercepting proxy needs its CA trusted")
			return
		}
		d.add(section, "TLS", OK, fmt.Sprintf("handshake in %s (%s)", ms(time.Since(start)), tls.VersionName(tc.ConnectionState().Version)), "")
	}
	conn.Close()
	// A known module.
	mod := d.opts.Module
	ep, _ := module.EscapePath(mod.Path)
	ev, _ := module.EscapeVersion(mod.Version)
	code, err := d.get(ctx, e.URL+"/"+ep+"/@v/"+ev+".info")
	switch {
	case err != nil:
		d.add(section, "module", Fail, fmt.Sprintf("fetching %s failed: %v", mod, err), "check the mirror URL, or choose another mirror: gomirror bench")
	case code != http.StatusOK:
		d.add(section, "module", Fail, fmt.Sprintf("%s answered %d for %s", e.URL, code, mod), "check the mirror URL, or choose another mirror: gomirror bench")
	default:
		d.add(section, "module", OK, "serves "+mod.String(), "")
	}
	if sumdbName == "" {
		return
	}
	code, err = d.get(ctx, e.URL+"/sumdb/"+sumdbName+"/supported")
	switch {
	case err == nil && code == http.StatusOK:
		d.add(section, "sumdb", OK, "serves the checksum database "+sumdbName+" at /sumdb/", "")
	case len(strings.Fields(gosumdb)) == 2:
		d.add(section, "sumdb", Info, "does not serve /sumdb/"+sumdbName+"; GOSUMDB names its own URL", "")
	default:
		d.add(section, "sumdb", Warn, "does not serve /sumdb/"+sumdbName+": the go command reaches "+sumdbName+" directly, which may be blocked",
			"point GOSUMDB at a mirror that serves it, e.g. go env -w GOSUMDB='sum.golang.org https://goproxy.cn/sumdb/sum.golang.org'")
	}
}

func (d *doctor) get(ctx context.Context, u string) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := d.opts.HTTP.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, nil
}

func ms(d time.Duration) string {
	return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000)
}

func readIfExists(file string) ([]byte, bool, error) {
	if file == "" {
		return nil, false, nil
	}
	data, err := os.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, false, nil
	}
	return data, err == nil, err
}

func (d *doctor) checkDocker() {
	file := d.opts.DockerConfig
	data, ok, err := readIfExists(file)
	if err != nil {
		d.add("docker", "daemon.json", Warn, "cannot read "+file+": "+err.Error(), "run gomirror doctor as a user who can read it")
		return
	}
	if !ok {
		return
	}
	c, err := dockerconf.Parse(data)
	if err != nil {
		d.add("docker", "daemon.json", Fail, file+": "+err.Error()+"; the Docker daemon will not start", "fix the JSON in "+file+" (or gomirror restore docker)")
		return
	}
	list, err := c.Mirrors()
	if err != nil {
		d.add("docker", "registry-mirrors", Fail, file+": "+err.Error(), `make it a list: "registry-mirrors": ["https://mirror.example"]`)
		return
	}
	if len(list) == 0 {
		d.add("docker", "registry-mirrors", Info, file+" lists no registry mirror", "")
		return
	}
	for _, m := range list {
		u, err := url.Parse(m)
		switch {
		case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
			d.add("docker", "registry-mirrors", Fail, fmt.Sprintf("%s: malformed mirror %q", file, m), "use a full URL such as https://docker.m.daocloud.io")
		case u.Scheme == "http" && !proxychain.IsLocalHost(u.Host):
			d.add("docker", "registry-mirrors", Warn, m+" is plain http: Docker only uses it if it is also in insecure-registries", "use an https mirror")
		default:
			d.add("docker", "registry-mirrors", OK, m, "")
		}
	}
}

func (d *doctor) checkContainerd() {
	dir := d.opts.ContainerdHostsDir
	if dir == "" {
		return
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		d.add("containerd", "hosts.toml", Warn, "cannot read "+dir+": "+err.Error(), "run gomirror doctor as a user who can read it")
		return
	}
	for _, e := range entries {
		file := dir + string(os.PathSeparator) + e.Name() + string(os.PathSeparator) + "hosts.toml"
		data, ok, err := readIfExists(file)
		switch {
		case !e.IsDir() || (!ok && err == nil):
			continue
		case err != nil:
			d.add("containerd", e.Name(), Warn, "cannot read "+file+": "+err.Error(), "run gomirror doctor as a user who can read it")
			continue
		}
		f, err := hoststoml.Parse(data)
		if err != nil {
			d.add("containerd", e.Name(), Fail, file+": "+err.Error(), "fix "+file+" (or gomirror restore containerd)")
			continue
		}
		hosts := f.Hosts()
		if len(hosts) == 0 {
			d.add("containerd", e.Name(), Info, file+" lists no mirror host", "")
			continue
		}
		for _, h := range hosts {
			u, err := url.Parse(h.URL)
			caps := h.Capabilities
			switch {
			case err != nil || (u.Scheme != "" && u.Scheme != "https" && u.Scheme != "http"):
				d.add("containerd", e.Name(), Fail, fmt.Sprintf("%s: malformed host %q", file, h.URL), `use a full URL: [host."https://mirror.example"]`)
			case caps != nil && (!slices.Contains(caps, "pull") || !slices.Contains(caps, "resolve")):
				d.add("containerd", e.Name(), Warn, fmt.Sprintf("%s: host %s has capabilities %v: without pull and resolve containerd does not pull tags through it", file, h.URL, caps),
					`capabilities = ["pull", "resolve"]`)
			default:
				d.add("containerd", e.Name(), OK, "mirror "+h.URL, "")
			}
		}
	}
}

func (d *doctor) checkPodman() {
	file := d.opts.PodmanConfig
	data, ok, err := readIfExists(file)
	if err != nil {
		d.add("podman", "registries.conf", Warn, "cannot read "+file+": "+err.Error(), "run gomirror doctor as a user who can read it")
		return
	}
	if !ok {
		return
	}
	f, err := registriesconf.Parse(data)
	if err != nil {
		d.add("podman", "registries.conf", Fail, file+": "+err.Error(), "see containers-registries.conf(5)")
		return
	}
	found := false
	for _, r := range f.Registries() {
		name := r.Prefix
		if name == "" {
			name = r.Location
		}
		for _, m := range r.Mirrors {
			found = true
			switch {
			case m.Location == "":
				d.add("podman", name, Fail, file+": a [[registry.mirror]] of "+name+" has no location", `location = "mirror.example/`+name+`"`)
			case strings.Contains(m.Location, "://"):
				d.add("podman", name, Fail, fmt.Sprintf("%s: mirror location %q has a scheme, which podman does not accept", file, m.Location),
					"drop the scheme; for plain http add insecure = true (or gomirror use podman URL)")
			default:
				detail := "mirror " + m.Location
				if m.Insecure {
					detail += " (plain http allowed)"
				}
				d.add("podman", name, OK, detail, "")
			}
		}
	}
	if !found {
		d.add("podman", "registries.conf", Info, file+" lists no registry mirror", "")
	}
}

func (d *doctor) checkPip() {
	file := d.opts.PipConfig
	data, ok, err := readIfExists(file)
	if err != nil {
		d.add("pip", "pip.conf", Warn, "cannot read "+file+": "+err.Error(), "check its permissions")
		return
	}
	if !ok {
		return
	}
	f := pipconf.Parse(data)
	idx, ok := f.Get("global", "index-url")
	if !ok {
		d.add("pip", "index-url", Info, file+" sets no index-url: pip uses https://pypi.org/simple", "")
		return
	}
	u, err := url.Parse(idx)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		d.add("pip", "index-url", Fail, fmt.Sprintf("%s: malformed index-url %q", file, idx), "gomirror use pip tuna (or another preset: gomirror use --list)")
		return
	}
	if u.Scheme == "http" {
		trusted, _ := f.Get("global", "trusted-host")
		found := false
		for _, h := range strings.Fields(trusted) {
			found = found || h == u.Host || h == u.Hostname()
		}
		if !found {
			d.add("pip", "index-url", Fail, idx+" is plain http and "+u.Host+" is not in trusted-host: pip refuses it", "gomirror use pip "+idx+" (adds trusted-host), or use an https index")
			return
		}
	}
	d.add("pip", "index-url", OK, idx, "")
}

func (d *doctor) checkNpm() {
	file := d.opts.NpmConfig
	data, ok, err := readIfExists(file)
	if err != nil || !ok {
		return
	}
	reg, ok := npmrc.Parse(data).Get("registry")
	if !ok {
		return
	}
	if u, err := url.Parse(reg); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		d.add("npm", "registry", Fail, fmt.Sprintf("%s: malformed registry %q", file, reg), "gomirror use npm aliyun (or another preset: gomirror use --list)")
		return
	}
	d.add("npm", "registry", OK, reg, "")
}

// WriteText prints the report as a checklist, with the fix under every
// warning and failure, and a summary line.
func (r *Report) WriteText(w io.Writer) {
	section := ""
	counts := map[Status]int{}
	for _, c := range r.Checks {
		counts[c.Status]++
		if c.Section != section {
			section = c.Section
			fmt.Fprintln(w, section)
		}
		mark := map[Status]string{OK: "[ ok ]", Info: "[info]", Warn: "[warn]", Fail: "[FAIL]"}[c.Status]
		fmt.Fprintf(w, "  %s %s: %s\n", mark, c.Name, c.Detail)
		if c.Fix != "" && (c.Status == Warn || c.Status == Fail) {
			fmt.Fprintf(w, "         fix: %s\n", c.Fix)
		}
	}
	fmt.Fprintf(w, "%d checks: %d ok, %d info, %d warnings, %d failed\n", len(r.Checks), counts[OK], counts[Info], counts[Warn], counts[Fail])
}

// WriteJSON prints the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
