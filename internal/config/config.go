// Package config holds gomirror serve's settings and loads them from, in
// rising precedence, built-in defaults, a YAML file, GOMIRROR_* environment
// variables and command-line flags.
package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"

	"github.com/gomirror/gomirror/internal/jobs"
	"github.com/gomirror/gomirror/internal/policy"
)

// Config is the whole configuration of gomirror serve.
type Config struct {
	Listen          string        // address to listen on, host:port
	Data            string        // data directory: the store's root when Storage is empty, and local state
	Storage         string        // store URL: file:///path or s3://bucket[/prefix]?endpoint=...; empty means Data
	Upstream        string        // GOPROXY syntax
	Private         string        // GOPRIVATE syntax: fetched direct, never looked up
	NoSumDB         string        // GONOSUMDB syntax: never looked up
	SumDB           string        // GOSUMDB syntax
	Redis           string        // redis://host:port/db; empty means no coordination
	LockTTL         time.Duration // expiry of a replica's fill lock, renewed while it fetches
	MemoryCache     int64         // bytes of small versioned files kept in memory; 0 turns it off
	MetadataTTL     time.Duration // freshness of lists, @latest and queries
	NegativeTTL     time.Duration // how long an upstream 404 is remembered
	FetchTimeout    time.Duration // bound on one upstream fill
	ReadTimeout     time.Duration // bound on reading a request's headers
	IdleTimeout     time.Duration // keep-alive connections close after this
	ShutdownTimeout time.Duration // how long requests in flight may finish on SIGTERM
	LogFormat       string        // text or json
	LogLevel        string        // debug, info, warn or error

	UpstreamHeaderTimeout time.Duration // bound on waiting for an upstream's response headers
	UpstreamIdleTimeout   time.Duration // bound on waiting for each read of an upstream's body
	UpstreamRetries       int           // retries of an upstream GET or HEAD after a connection error, 5xx or 429; 0 turns them off
	UpstreamAllowHosts    string        // comma-separated hosts (or *.domain) that upstream content and redirects may send the mirror to
	StaleGrace            time.Duration // how long expired metadata waits for its refresh before it is served stale
	WriteTimeout          time.Duration // bound on writing a response of the protocol endpoints
	MinFreeSpace          int64         // /readyz fails below this much free space on a disk store

	Golang GolangConfig
	Vuln   VulnConfig
	PyPI   PyPIConfig
	OCI    OCIConfig
	NPM    NPMConfig
	Maven  MavenConfig
	Cargo  CargoConfig
	Budget BudgetConfig
	// Policy decides which module versions may be served; set only in
	// the configuration file, under "policy".
	Policy policy.Config
	// Sync declares the sync jobs; set only in the configuration file,
	// under "sync".
	Sync   jobs.Config
	Access AccessConfig
}

// Default returns the built-in defaults. getenv reads the environment, for
// the user cache directory.
func Default(getenv func(string) string) Config {
	return Config{
		Listen:          ":8080",
		Data:            filepath.Join(userCacheDir(getenv), "gomirror"),
		Upstream:        "https://proxy.golang.org,direct",
		SumDB:           "sum.golang.org",
		MetadataTTL:     time.Minute,
		NegativeTTL:     30 * time.Second,
		FetchTimeout:    10 * time.Minute,
		ReadTimeout:     10 * time.Second,
		IdleTimeout:     2 * time.Minute,
		ShutdownTimeout: 30 * time.Second,
		LockTTL:         30 * time.Second,
		MemoryCache:     16 << 20,
		LogFormat:       "text",
		LogLevel:        "info",

		UpstreamHeaderTimeout: 30 * time.Second,
		UpstreamIdleTimeout:   30 * time.Second,
		UpstreamRetries:       2,
		StaleGrace:            3 * time.Second,
		WriteTimeout:          30 * time.Minute,

		Golang: defaultGolang(),
		Vuln:   defaultVuln(),
		PyPI:   defaultPyPI(),
		OCI:    defaultOCI(),
		NPM:    defaultNPM(),
		Maven:  defaultMaven(),
		Cargo:  defaultCargo(),
		Budget: defaultBudget(),
	}
}

// userCacheDir is os.UserCacheDir read from getenv rather than the process.
func userCacheDir(getenv func(string) string) string {
	if d := getenv("XDG_CACHE_HOME"); d != "" && filepath.IsAbs(d) {
		return d
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".cache")
	}
	return os.TempDir()
}

// setting is one configuration key, known by the same name in the file
// ("metadata-ttl"), the environment (GOMIRROR_METADATA_TTL) and the flags
// (--metadata-ttl).
type setting struct {
	name  string
	usage string
	str   *string
	dur   *time.Duration
	size  *int64
	flag  *bool
	num   *int
}

// settings lists every setting: the core's, then each area's group, which
// lives in a file of its own (golang.go, ...).
func (c *Config) settings() []setting {
	var all []setting
	for _, group := range [][]setting{
		c.coreSettings(),
		c.golangSettings(),
		c.vulnSettings(),
		c.pypiSettings(),
		c.ociSettings(),
		c.npmSettings(),
		c.mavenSettings(),
		c.cargoSettings(),
		c.accessSettings(),
		c.budgetSettings(),
	} {
		all = append(all, group...)
	}
	return all
}

// coreSettings are the settings of the server and the Go module proxy.
func (c *Config) coreSettings() []setting {
	return []setting{
		{name: "listen", usage: "address to listen on", str: &c.Listen},
		{name: "data", usage: "data directory (laid out like GOMODCACHE/cache/download)", str: &c.Data},
		{name: "storage", usage: "store URL: file:///path or s3://BUCKET[/PREFIX]?endpoint=URL&region=R (default: the data directory)", str: &c.Storage},
		{name: "upstream", usage: "upstream chain, in GOPROXY syntax", str: &c.Upstream},
		{name: "private", usage: "private module patterns, in GOPRIVATE syntax: fetched direct, never looked up", str: &c.Private},
		{name: "nosumdb", usage: "module patterns never looked up in the checksum database, in GONOSUMDB syntax", str: &c.NoSumDB},
		{name: "sumdb", usage: "checksum database, in GOSUMDB syntax", str: &c.SumDB},
		{name: "redis", usage: "Redis URL that coordinates replicas, redis://HOST:PORT/DB", str: &c.Redis},
		{name: "lock-ttl", usage: "expiry of a replica's fill lock in Redis; another replica takes over a dead holder's fill after it", dur: &c.LockTTL},
		{name: "metadata-ttl", usage: "how long lists, @latest and queries stay fresh", dur: &c.MetadataTTL},
		{name: "memory-cache", usage: "memory for small versioned files served again within seconds, such as 16MiB; 0 turns it off", size: &c.MemoryCache},
		{name: "negative-ttl", usage: "how long an upstream 404 is remembered", dur: &c.NegativeTTL},
		{name: "fetch-timeout", usage: "bound on one upstream fetch", dur: &c.FetchTimeout},
		{name: "read-timeout", usage: "bound on reading a request's headers", dur: &c.ReadTimeout},
		{name: "idle-timeout", usage: "idle keep-alive connections close after this", dur: &c.IdleTimeout},
		{name: "shutdown-timeout", usage: "how long requests in flight may finish on shutdown", dur: &c.ShutdownTimeout},
		{name: "log-format", usage: "log format: text or json", str: &c.LogFormat},
		{name: "log-level", usage: "log level: debug, info, warn or error", str: &c.LogLevel},
		{name: "upstream-header-timeout", usage: "bound on waiting for an upstream's response headers", dur: &c.UpstreamHeaderTimeout},
		{name: "upstream-idle-timeout", usage: "bound on waiting for each read of an upstream's body", dur: &c.UpstreamIdleTimeout},
		{name: "upstream-retries", usage: "retries of an upstream GET or HEAD after a connection error, a 5xx or a 429, with backoff; 0 turns them off", num: &c.UpstreamRetries},
		{name: "upstream-allow-hosts", usage: "hosts (or *.domain patterns), comma-separated, besides the configured upstreams, that upstream content and redirects may send the mirror to; they are fetched only at public addresses", str: &c.UpstreamAllowHosts},
		{name: "stale-grace", usage: "how long expired metadata waits for its refresh before the stored copy is served, marked stale", dur: &c.StaleGrace},
		{name: "write-timeout", usage: "bound on sending one response; slow readers are cut off after it", dur: &c.WriteTimeout},
		{name: "min-free-space", usage: "free space below which a disk store is not ready (/readyz answers 503), such as 1GiB; 0 means only a failing write", size: &c.MinFreeSpace},
	}
}

// AllowHosts returns the hosts of UpstreamAllowHosts.
func (c *Config) AllowHosts() []string {
	var out []string
	for h := range strings.SplitSeq(c.UpstreamAllowHosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// EnvName returns the environment variable of a setting: GOMIRROR_ and the
// name in upper case with dashes as underscores.
func EnvName(name string) string {
	return "GOMIRROR_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
}

// Loader binds a Config to command-line flags and loads it.
type Loader struct {
	flags *pflag.FlagSet
	file  string
	bound Config // the flags' values
}

// Bind registers a flag for each setting, plus --config, on flags. The
// flags show the defaults of def. When only names settings, only those get
// a flag; the others still come from the file and the environment.
func Bind(flags *pflag.FlagSet, def Config, only ...string) *Loader {
	l := &Loader{flags: flags, bound: def}
	flags.StringVar(&l.file, "config", "", "YAML configuration file (env GOMIRROR_CONFIG)")
	for _, s := range l.bound.settings() {
		if len(only) > 0 && !slices.Contains(only, s.name) {
			continue
		}
		usage := s.usage + " (env " + EnvName(s.name) + ")"
		switch {
		case s.str != nil:
			flags.StringVar(s.str, s.name, *s.str, usage)
		case s.dur != nil:
			flags.DurationVar(s.dur, s.name, *s.dur, usage)
		case s.flag != nil:
			flags.BoolVar(s.flag, s.name, *s.flag, usage)
		case s.num != nil:
			flags.IntVar(s.num, s.name, *s.num, usage)
		default:
			flags.Var((*sizeValue)(s.size), s.name, usage)
		}
	}
	return l
}

// Load builds the Config: defaults, then the file named by --config or
// GOMIRROR_CONFIG, then GOMIRROR_* variables, then the flags that were set.
// It validates the result, and its errors name the bad setting.
func (l *Loader) Load(def Config, getenv func(string) string) (Config, error) {
	cfg := def
	file := l.file
	if !l.flags.Changed("config") {
		file = getenv("GOMIRROR_CONFIG")
	}
	if file != "" {
		if err := cfg.loadFile(file); err != nil {
			return Config{}, err
		}
	}
	for _, s := range cfg.settings() {
		src, v := "--"+s.name, ""
		if l.flags.Lookup(s.name) != nil && l.flags.Changed(s.name) {
			v = l.flags.Lookup(s.name).Value.String()
		} else if src, v = EnvName(s.name), getenv(EnvName(s.name)); v == "" {
			continue
		}
		if err := s.set(v); err != nil {
			return Config{}, fmt.Errorf("%s: %w", src, err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func (s setting) set(v string) error {
	switch {
	case s.str != nil:
		*s.str = v
	case s.dur != nil:
		d, err := time.ParseDuration(v)
		if err != nil {
			return fmt.Errorf("invalid duration %q", v)
		}
		*s.dur = d
	case s.flag != nil:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("invalid boolean %q: want true or false", v)
		}
		*s.flag = b
	case s.num != nil:
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("invalid number %q", v)
		}
		*s.num = n
	default:
		return (*sizeValue)(s.size).Set(v)
	}
	return nil
}

// sizeValue is a size in bytes, written as a number with an optional unit:
// 16MiB, 512KiB, 1GiB, 4096.
type sizeValue int64

var sizeUnits = []struct {
	suffix string
	n      int64
}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}

func (v *sizeValue) Set(s string) error {
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range sizeUnits {
		if n, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(n), u.n
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return fmt.Errorf("invalid size %q: want bytes, or a number with KiB, MiB or GiB", s)
	}
	*v = sizeValue(n * mult)
	return nil
}

func (v *sizeValue) String() string {
	n := int64(*v)
	for _, u := range sizeUnits[:3] {
		if n >= u.n && n%u.n == 0 && (n/u.n < 1024 || u.suffix == "GiB") {
			return strconv.FormatInt(n/u.n, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

func (v *sizeValue) Type() string { return "size" }

// loadFile reads a YAML file of setting names and values. Unknown keys are
// an error, so that a misspelt key does not go unnoticed.
func (c *Config) loadFile(file string) error {
	data, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("config file: %w", err)
	}
	var raw map[string]yaml.Node
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("config file %s: %w", file, err)
	}
	byName := map[string]setting{}
	for _, s := range c.settings() {
		byName[s.name] = s
	}
	for key, node := range raw {
		switch key {
		case "policy":
			if err := loadPolicy(&node, &c.Policy); err != nil {
				return fmt.Errorf("config file %s: policy: %w", file, err)
			}
			continue
		case "sync":
			if err := loadSync(&node, &c.Sync); err != nil {
				return fmt.Errorf("config file %s: sync: %w", file, err)
			}
			continue
		}
		s, ok := byName[key]
		if !ok {
			return fmt.Errorf("config file %s: unknown setting %q", file, key)
		}
		if node.Kind != yaml.ScalarNode {
			return fmt.Errorf("config file %s: %s: want a single value", file, key)
		}
		if err := s.set(node.Value); err != nil {
			return fmt.Errorf("config file %s: %s: %w", file, key, err)
		}
	}
	return nil
}

// Validate checks every setting and returns an error naming the first bad
// one.
func (c *Config) Validate() error {
	if _, port, err := net.SplitHostPort(c.Listen); err != nil || port == "" {
		return fmt.Errorf("listen: %q is not host:port", c.Listen)
	}
	if c.Data == "" {
		return errors.New("data: empty")
	}
	if err := checkProxyList(c.Upstream); err != nil {
		return fmt.Errorf("upstream: %w", err)
	}
	for _, p := range []struct{ name, val string }{{"private", c.Private}, {"nosumdb", c.NoSumDB}} {
		if err := checkPatterns(p.val); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	if strings.TrimSpace(c.SumDB) == "" {
		return errors.New("sumdb: empty (use off to disable, which is insecure)")
	}
	if c.Storage != "" {
		u, err := url.Parse(c.Storage)
		if err != nil || (u.Scheme != "file" && u.Scheme != "s3") {
			return fmt.Errorf("storage: %q is not a file:// or s3:// URL", c.Storage)
		}
	}
	if c.Redis != "" {
		u, err := url.Parse(c.Redis)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			return fmt.Errorf("redis: %q is not a redis://HOST:PORT/DB URL", c.Redis)
		}
	}
	for _, d := range []struct {
		name string
		val  time.Duration
	}{
		{"metadata-ttl", c.MetadataTTL}, {"negative-ttl", c.NegativeTTL}, {"fetch-timeout", c.FetchTimeout},
		{"read-timeout", c.ReadTimeout}, {"idle-timeout", c.IdleTimeout}, {"shutdown-timeout", c.ShutdownTimeout},
		{"lock-ttl", c.LockTTL}, {"upstream-header-timeout", c.UpstreamHeaderTimeout},
		{"upstream-idle-timeout", c.UpstreamIdleTimeout}, {"stale-grace", c.StaleGrace}, {"write-timeout", c.WriteTimeout},
	} {
		if d.val <= 0 {
			return fmt.Errorf("%s: must be positive, got %v", d.name, d.val)
		}
	}
	if c.UpstreamRetries < 0 || c.UpstreamRetries > 10 {
		return fmt.Errorf("upstream-retries: want 0 to 10, got %d", c.UpstreamRetries)
	}
	for _, validate := range []func() error{
		c.Golang.validate,
		c.Vuln.validate,
		c.PyPI.validate,
		c.OCI.validate,
		c.NPM.validate,
		c.Maven.validate,
		c.Cargo.validate,
		c.validatePolicy,
		c.validateSync,
		c.Access.validate,
		c.validateBudget,
	} {
		if err := validate(); err != nil {
			return err
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("log-format: %q is not text or json", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log-level: %q is not debug, info, warn or error", c.LogLevel)
	}
	return nil
}

// checkProxyList checks a GOPROXY list the way the go command reads it:
// entries separated by , or |, each direct, off, or an http, https or file
// URL.
func checkProxyList(list string) error {
	if strings.TrimSpace(list) == "" {
		return errors.New("empty")
	}
	for entry := range strings.FieldsFuncSeq(list, func(r rune) bool { return r == ',' || r == '|' }) {
		entry = strings.TrimSpace(entry)
		switch entry {
		case "direct", "off":
			continue
		case "noproxy":
			return errors.New(`"noproxy" is not supported`)
		}
		u, err := url.Parse(entry)
		if err != nil || u.Scheme == "" {
			return fmt.Errorf("%q is not direct, off or a URL", entry)
		}
		switch u.Scheme {
		case "http", "https":
			if u.Host == "" {
				return fmt.Errorf("%q has no host", entry)
			}
		case "file":
		default:
			return fmt.Errorf("%q: unsupported scheme %q", entry, u.Scheme)
		}
	}
	return nil
}

// checkPatterns checks a comma-separated list of path.Match globs.
func checkPatterns(list string) error {
	for p := range strings.SplitSeq(list, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("bad pattern %q: %v", p, err)
		}
	}
	return nil
}

// checkHTTPURL reports whether raw is an absolute http or https URL.
func checkHTTPURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", raw)
	}
	return nil
}
