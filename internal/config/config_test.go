package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func envFunc(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func load(t *testing.T, args []string, getenv func(string) string) (Config, error) {
	t.Helper()
	def := Default(getenv)
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	l := Bind(fs, def)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parsing %v: %v", args, err)
	}
	return l.Load(def, getenv)
}

func TestDefaults(t *testing.T) {
	cfg, err := load(t, nil, envFunc("HOME", "/home/u"))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Listen: ":8080", Data: "/home/u/.cache/gomirror", Upstream: "https://proxy.golang.org,direct",
		SumDB: "sum.golang.org", MetadataTTL: time.Minute, NegativeTTL: 30 * time.Second,
		FetchTimeout: 10 * time.Minute, ReadTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ShutdownTimeout: 30 * time.Second, LockTTL: 30 * time.Second, MemoryCache: 16 << 20, LogFormat: "text", LogLevel: "info",
		UpstreamHeaderTimeout: 30 * time.Second, UpstreamIdleTimeout: 30 * time.Second, UpstreamRetries: 2, StaleGrace: 3 * time.Second,
		WriteTimeout: 30 * time.Minute,
		Vuln:         VulnConfig{Enabled: true, Source: "pull", Upstream: "https://vuln.go.dev", Rebuild: time.Hour},
		PyPI:         PyPIConfig{Enabled: true, Indexes: "https://pypi.org/simple/", TTL: 10 * time.Minute, MaxFileSize: 8 << 30},
		NPM:          NPMConfig{Enabled: true, Upstream: "https://registry.npmjs.org/", TTL: 5 * time.Minute},
		Maven:        MavenConfig{Enabled: true, Repos: "https://repo.maven.apache.org/maven2/", TTL: 5 * time.Minute, MaxFileSize: 2 << 30},
		Cargo:        CargoConfig{Enabled: true, Index: "https://index.crates.io/", Download: "https://static.crates.io/crates/", TTL: 5 * time.Minute, MaxCrate: 1 << 30},
		OCI:          OCIConfig{Enabled: true, Registries: "docker.io", DefaultRegistry: "docker.io", ManifestTTL: 5 * time.Minute, MaxBlobSize: 64 << 30},
		Golang:       GolangConfig{Enabled: true, Index: "https://go.dev/dl/?mode=json&include=all", Base: "https://dl.google.com/go/"},
		Budget:       BudgetConfig{Recent: 10 * time.Minute},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("defaults:\ngot  %+v\nwant %+v", cfg, want)
	}
	cfg, _ = load(t, nil, envFunc("HOME", "/home/u", "XDG_CACHE_HOME", "/xdg"))
	if cfg.Data != "/xdg/gomirror" {
		t.Errorf("data with XDG_CACHE_HOME: got %q, want /xdg/gomirror", cfg.Data)
	}
}

func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "gomirror.yaml")
	os.WriteFile(file, []byte("listen: 127.0.0.1:1000\nmetadata-ttl: 5m\nprivate: corp.example.com/*\nlog-format: json\n"), 0o644)
	tests := []struct {
		name       string
		args       []string
		env        []string
		wantListen string
		wantTTL    time.Duration
	}{
		{"file", []string{"--config", file}, nil, "127.0.0.1:1000", 5 * time.Minute},
		{"file from env", nil, []string{"GOMIRROR_CONFIG", file}, "127.0.0.1:1000", 5 * time.Minute},
		{"env over file", []string{"--config", file}, []string{"GOMIRROR_LISTEN", "127.0.0.1:2000"}, "127.0.0.1:2000", 5 * time.Minute},
		{"flag over env", []string{"--config", file, "--listen", "127.0.0.1:3000", "--metadata-ttl", "7s"},
			[]string{"GOMIRROR_LISTEN", "127.0.0.1:2000", "GOMIRROR_METADATA_TTL", "9s"}, "127.0.0.1:3000", 7 * time.Second},
		{"env duration", nil, []string{"GOMIRROR_METADATA_TTL", "9s"}, ":8080", 9 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := load(t, tt.args, envFunc(append([]string{"HOME", "/h"}, tt.env...)...))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Listen != tt.wantListen || cfg.MetadataTTL != tt.wantTTL {
				t.Errorf("got listen %q ttl %v, want %q %v", cfg.Listen, cfg.MetadataTTL, tt.wantListen, tt.wantTTL)
			}
		})
	}
}

func TestBadValuesNameTheSetting(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(file, []byte("listen: :80\nupstrem: https://x\n"), 0o644)
	tests := []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"listen", []string{"--listen", "nonsense"}, nil, "listen"},
		{"upstream scheme", []string{"--upstream", "ftp://x"}, nil, "upstream"},
		{"upstream empty entry host", []string{"--upstream", "https://"}, nil, "upstream"},
		{"private pattern", []string{"--private", "corp/[x"}, nil, "private"},
		{"duration env", nil, []string{"GOMIRROR_FETCH_TIMEOUT", "soon"}, "GOMIRROR_FETCH_TIMEOUT"},
		{"negative duration", []string{"--metadata-ttl", "-1s"}, nil, "metadata-ttl"},
		{"log format", nil, []string{"GOMIRROR_LOG_FORMAT", "xml"}, "log-format"},
		{"log level", []string{"--log-level", "loud"}, nil, "log-level"},
		{"storage", []string{"--storage", "ftp://x"}, nil, "storage"},
		{"memory cache", nil, []string{"GOMIRROR_MEMORY_CACHE", "lots"}, "GOMIRROR_MEMORY_CACHE"},
		{"negative memory cache", nil, []string{"GOMIRROR_MEMORY_CACHE", "-5MiB"}, "GOMIRROR_MEMORY_CACHE"},
		{"redis", []string{"--redis", "http://x"}, nil, "redis"},
		{"unknown file key", []string{"--config", file}, nil, `"upstrem"`},
		{"missing file", []string{"--config", "/nonexistent/gomirror.yaml"}, nil, "config file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, tt.args, envFunc(append([]string{"HOME", "/h"}, tt.env...)...))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one naming %s", err, tt.want)
			}
		})
	}
}

func TestSizes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
	}{{"0", 0}, {"4096", 4096}, {"512KiB", 512 << 10}, {"16MiB", 16 << 20}, {"2 GiB", 2 << 30}, {"10MB", 10e6}, {"7B", 7}}
	for _, tt := range tests {
		cfg, err := load(t, []string{"--memory-cache", tt.in}, envFunc("HOME", "/h"))
		if err != nil {
			t.Errorf("--memory-cache %s: %v", tt.in, err)
			continue
		}
		if cfg.MemoryCache != tt.want {
			t.Errorf("--memory-cache %s: got %d, want %d", tt.in, cfg.MemoryCache, tt.want)
		}
	}
	var v sizeValue = 16 << 20
	if got := v.String(); got != "16MiB" {
		t.Errorf("String of 16 MiB: got %q", got)
	}
}

func TestEcosystemSwitchAndURLs(t *testing.T) {
	cfg, err := load(t, []string{"--golang=false"}, envFunc("HOME", "/h"))
	if err != nil || cfg.Golang.Enabled {
		t.Errorf("--golang=false: got %v, %v; want off", cfg.Golang.Enabled, err)
	}
	cfg, err = load(t, nil, envFunc("HOME", "/h", "GOMIRROR_GOLANG", "false", "GOMIRROR_GOLANG_INDEX", "https://golang.google.cn/dl/?mode=json&include=all"))
	if err != nil || cfg.Golang.Enabled || cfg.Golang.Index != "https://golang.google.cn/dl/?mode=json&include=all" {
		t.Errorf("from the environment: got %v %q, %v", cfg.Golang.Enabled, cfg.Golang.Index, err)
	}
	for _, tt := range []struct {
		env  []string
		want string
	}{
		{[]string{"GOMIRROR_GOLANG", "maybe"}, "GOMIRROR_GOLANG"},
		{[]string{"GOMIRROR_GOLANG_BASE", "ftp://x/"}, "golang-base"},
		{[]string{"GOMIRROR_GOLANG_INDEX", "not a url"}, "golang-index"},
		{[]string{"GOMIRROR_STALE_GRACE", "0s"}, "stale-grace"},
	} {
		_, err := load(t, nil, envFunc(append([]string{"HOME", "/h"}, tt.env...)...))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: got error %v, want one naming %s", tt.env, err, tt.want)
		}
	}
}

func TestPolicyFromFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("policy:\n  deny-vulnerable: true\n  deny:\n    - name: example.com/evil\n      reason: known bad\n  allow:\n    - name: golang.org/x/text\n      versions: v0.3.5\n"), 0o644)
	cfg, err := load(t, []string{"--config", good}, envFunc("HOME", "/h"))
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Policy.DenyVulnerable || len(cfg.Policy.Deny) != 1 || cfg.Policy.Deny[0].Name != "example.com/evil" || len(cfg.Policy.Allow) != 1 {
		t.Errorf("policy: got %+v", cfg.Policy)
	}
	for _, tt := range []struct{ yaml, want string }{
		{"policy:\n  denny: []\n", "denny"},
		{"policy:\n  deny:\n    - name: x.com/y\n      versions: '>=banana'\n", "policy"},
		{"vuln: false\npolicy:\n  deny-vulnerable: true\n", "deny-vulnerable"},
		{"vuln-source: cached\n", "vuln-source"},
	} {
		f := filepath.Join(dir, "bad.yaml")
		os.WriteFile(f, []byte(tt.yaml), 0o644)
		_, err := load(t, []string{"--config", f}, envFunc("HOME", "/h"))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: got error %v, want one naming %s", tt.yaml, err, tt.want)
		}
	}
}
