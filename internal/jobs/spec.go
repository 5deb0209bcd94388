package jobs

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the sync section of gomirror's configuration:
//
//	sync:
//	  state_dir: /var/lib/gomirror/jobs
//	  jobs:
//	    - name: go-popular
//	      kind: go
//	      schedule: 6h
//	      go: {modules: [golang.org/x/text], recent_days: 7, newest: 3}
type Config struct {
	// StateDir holds one JSON file of state per job. Empty means the
	// caller's default (serve uses DATA/jobs).
	StateDir string `yaml:"state_dir" json:"state_dir,omitempty"`
	// Jobs are the sync jobs, each with a unique name.
	Jobs []Spec `yaml:"jobs" json:"jobs"`
}

// Spec declares one sync job. Exactly one kind section (Go, Golang, Vuln,
// OCI, PyPI, NPM, Maven, Cargo) is set, the one named by Kind.
type Spec struct {
	// Name identifies the job in state files, metrics, logs and URLs:
	// letters, digits, '.', '_' and '-'.
	Name string `yaml:"name" json:"name"`
	// Kind is the mirror the job fills: go, golang, vuln, oci, pypi, npm,
	// maven or cargo.
	Kind string `yaml:"kind" json:"kind"`
	// Schedule is an interval after the previous run ended ("6h") or a
	// cron expression in UTC ("0 */6 * * *"). See [ParseSchedule].
	Schedule string `yaml:"schedule" json:"schedule"`
	// Timeout bounds one run. Zero means DefaultTimeout.
	Timeout time.Duration `yaml:"timeout" json:"timeout,omitempty"`
	// Retries is how many times a failed request is tried again. Zero
	// means none.
	Retries int `yaml:"retries" json:"retries,omitempty"`
	// Backoff is the wait before the first retry; each further retry
	// waits twice as long. Zero means DefaultBackoff.
	Backoff time.Duration `yaml:"backoff" json:"backoff,omitempty"`
	// Concurrency bounds the job's requests in flight. Zero means
	// DefaultConcurrency.
	Concurrency int `yaml:"concurrency" json:"concurrency,omitempty"`

	Go     *GoModules  `yaml:"go,omitempty" json:"go,omitempty"`
	Golang *GoArchives `yaml:"golang,omitempty" json:"golang,omitempty"`
	Vuln   *VulnDB     `yaml:"vuln,omitempty" json:"vuln,omitempty"`
	OCI    *OCIImages  `yaml:"oci,omitempty" json:"oci,omitempty"`
	PyPI   *Packages   `yaml:"pypi,omitempty" json:"pypi,omitempty"`
	NPM    *Packages   `yaml:"npm,omitempty" json:"npm,omitempty"`

	Maven *MavenArtifacts `yaml:"maven,omitempty" json:"maven,omitempty"`
	Cargo *Packages       `yaml:"cargo,omitempty" json:"cargo,omitempty"`
}

// Defaults for the zero values of [Spec].
const (
	DefaultTimeout     = time.Hour
	DefaultBackoff     = time.Second
	DefaultConcurrency = 4
)

// maxRetries bounds Spec.Retries, so that a typo cannot stall a job for
// days of backoff.
const maxRetries = 10

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// job is a validated Spec.
type job struct {
	Spec
	schedule Schedule
	syncer   Syncer
}

// Mirror returns the mirror a job of kind fills: the kind itself.
func (s Spec) Mirror() string { return s.Kind }

// syncerOf returns the kind section of s that Kind names, or an error
// naming what is missing or extra.
func (s Spec) syncerOf() (Syncer, error) {
	sections := map[string]Syncer{}
	add := func(kind string, v Syncer, isNil bool) {
		if !isNil {
			sections[kind] = v
		}
	}
	add("go", s.Go, s.Go == nil)
	add("golang", s.Golang, s.Golang == nil)
	add("vuln", s.Vuln, s.Vuln == nil)
	add("oci", s.OCI, s.OCI == nil)
	add("pypi", pypi{s.PyPI}, s.PyPI == nil)
	add("npm", npm{s.NPM}, s.NPM == nil)
	add("maven", s.Maven, s.Maven == nil)
	add("cargo", cargoCrates{s.Cargo}, s.Cargo == nil)
	switch s.Kind {
	case "go", "golang", "vuln", "oci", "pypi", "npm", "maven", "cargo":
	case "":
		return nil, errors.New("kind: empty (go, golang, vuln, oci, pypi, npm, maven or cargo)")
	default:
		return nil, fmt.Errorf("kind: unknown kind %q (go, golang, vuln, oci, pypi, npm, maven or cargo)", s.Kind)
	}
	for k := range sections {
		if k != s.Kind {
			return nil, fmt.Errorf("%s: section given for a job of kind %s", k, s.Kind)
		}
	}
	sy, ok := sections[s.Kind]
	if !ok {
		if s.Kind == "vuln" {
			return &VulnDB{}, nil // the only kind with nothing to say
		}
		return nil, fmt.Errorf("%s: missing section saying what to sync", s.Kind)
	}
	if c, ok := sy.(interface{ check() error }); ok {
		if err := c.check(); err != nil {
			return nil, fmt.Errorf("%s: %w", s.Kind, err)
		}
	}
	return sy, nil
}

// compile validates s and fills in its defaults.
func (s Spec) compile() (*job, error) {
	if !nameRE.MatchString(s.Name) {
		return nil, fmt.Errorf("name %q: want letters, digits, '.', '_' or '-', at most 64", s.Name)
	}
	fail := func(err error) (*job, error) { return nil, fmt.Errorf("job %s: %w", s.Name, err) }
	sched, err := ParseSchedule(s.Schedule)
	if err != nil {
		return fail(fmt.Errorf("schedule: %w", err))
	}
	switch {
	case s.Timeout < 0:
		return fail(errors.New("timeout: negative"))
	case s.Timeout == 0:
		s.Timeout = DefaultTimeout
	}
	if s.Retries < 0 || s.Retries > maxRetries {
		return fail(fmt.Errorf("retries: %d is not within 0..%d", s.Retries, maxRetries))
	}
	switch {
	case s.Backoff < 0:
		return fail(errors.New("backoff: negative"))
	case s.Backoff == 0:
		s.Backoff = DefaultBackoff
	}
	switch {
	case s.Concurrency < 0:
		return fail(errors.New("concurrency: negative"))
	case s.Concurrency == 0:
		s.Concurrency = DefaultConcurrency
	}
	sy, err := s.syncerOf()
	if err != nil {
		return fail(err)
	}
	return &job{Spec: s, schedule: sched, syncer: sy}, nil
}

// Validate checks every job of c, and that names are unique. The error
// names the job and the bad key.
func (c Config) Validate() error {
	seen := map[string]bool{}
	for _, s := range c.Jobs {
		if _, err := s.compile(); err != nil {
			return err
		}
		if seen[s.Name] {
			return fmt.Errorf("job %s: declared twice", s.Name)
		}
		seen[s.Name] = true
	}
	return nil
}

// LoadFile reads the sync section from the YAML file at path: the value of
// its top-level key "sync", other keys being ignored. A file without one
// yields an empty Config. Unknown keys within the section are an error.
func LoadFile(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("jobs config: %w", err)
	}
	var doc struct {
		Sync yaml.Node `yaml:"sync"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return Config{}, fmt.Errorf("jobs config %s: %w", path, err)
	}
	var c Config
	if doc.Sync.Kind == 0 {
		return c, nil
	}
	if err := decodeStrict(&doc.Sync, &c); err != nil {
		return Config{}, fmt.Errorf("jobs config %s: sync: %w", path, err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("jobs config %s: %w", path, err)
	}
	return c, nil
}

// decodeStrict decodes n into v, refusing keys v has no field for.
func decodeStrict(n *yaml.Node, v any) error {
	out, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(out))
	dec.KnownFields(true)
	return dec.Decode(v)
}
