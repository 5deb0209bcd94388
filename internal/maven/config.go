package maven

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
)

// DefaultRepository is Maven Central.
const DefaultRepository = "https://repo.maven.apache.org/maven2/"

// Repository is an upstream repository that the mirror fetches from.
type Repository struct {
	// URL is the repository's root, such as
	// https://repo.maven.apache.org/maven2/.
	URL string
	// Username and Password, when Username is not empty, are sent with
	// HTTP basic authentication to the repository's host, and make the
	// repository private: it is asked only for [Config.PrivateGroups],
	// and what it serves is private to access rules. Read them from the
	// environment or a file (see [ParseRepositories]), never from a flag.
	Username, Password string
}

// Private reports whether r has credentials.
func (r *Repository) Private() bool { return r.Username != "" }

// Config configures a [Handler]. Cache is required; the zero value of
// every other field means its default.
type Config struct {
	// Cache is the pull-through core that stores and fills everything.
	Cache *pull.Cache
	// Repositories are the upstream repositories, in the order they are
	// asked: a file comes from the first one that has it. Empty means
	// [DefaultRepository].
	Repositories []Repository
	// PrivateGroups are the groupIds (each with the groups below it:
	// "com.corp" covers "com.corp.billing") served by the private
	// repositories, those with credentials, and only by them: their files
	// are never asked of a public repository, so that no one can shadow
	// them there, and the public groups are never asked of a private one.
	// "*" names every group. Required when a repository has credentials.
	PrivateGroups []string
	// AllowUnchecked stores files that the upstream publishes no sha512,
	// sha256 or sha1 checksum for, unchecked. False (the default) refuses
	// them with a 502. An md5 is never enough.
	AllowUnchecked bool
	// MetadataTTL is how long a maven-metadata.xml stays fresh. Zero
	// means 5 minutes.
	MetadataTTL time.Duration
	// MaxFileSize bounds a file from upstream. Zero means 2 GiB.
	MaxFileSize int64
	// Upstream sends the upstream requests; a redirect to another host
	// than the repository's is refused. Nil means a zero
	// [pull.HTTPUpstream].
	Upstream *pull.HTTPUpstream
	// Logger receives request failures. Nil discards them.
	Logger *slog.Logger
}

// Validate reports every invalid field of c, naming each.
func (c *Config) Validate() error {
	var errs []error
	if c.Cache == nil {
		errs = append(errs, errors.New("maven: Cache is required"))
	}
	private := false
	for i, r := range c.Repositories {
		if err := pull.CheckRootURL(r.URL); err != nil {
			errs = append(errs, fmt.Errorf("maven: repository %d: %w", i+1, err))
		}
		private = private || r.Private()
	}
	for _, g := range c.PrivateGroups {
		if g != "*" && checkGroup(g) != nil {
			errs = append(errs, fmt.Errorf("maven: private groups: %q is not a groupId like com.corp", g))
		}
	}
	switch {
	case private && len(c.PrivateGroups) == 0:
		errs = append(errs, errors.New("maven: a repository has credentials but no private groups are named: name the groupIds it serves (\"*\" for all)"))
	case !private && len(c.PrivateGroups) > 0:
		errs = append(errs, errors.New("maven: private groups are named but no repository has credentials to serve them"))
	}
	if c.MetadataTTL < 0 || c.MaxFileSize < 0 {
		errs = append(errs, errors.New("maven: MetadataTTL and MaxFileSize must not be negative"))
	}
	return errors.Join(errs...)
}

// checkGroup checks a groupId: dot-separated segments of the layout.
func checkGroup(g string) error {
	if g == "" {
		return errors.New("empty groupId")
	}
	for s := range strings.SplitSeq(g, ".") {
		if err := checkSegment(s); err != nil {
			return err
		}
	}
	return nil
}

func (c *Config) withDefaults() Config {
	d := *c
	if len(d.Repositories) == 0 {
		d.Repositories = []Repository{{URL: DefaultRepository}}
	}
	repos := make([]Repository, len(d.Repositories))
	for i, r := range d.Repositories {
		r.URL = pull.RootURL(r.URL)
		repos[i] = r
	}
	d.Repositories = repos
	if d.MetadataTTL == 0 {
		d.MetadataTTL = 5 * time.Minute
	}
	if d.MaxFileSize == 0 {
		d.MaxFileSize = 2 << 30
	}
	if d.Upstream == nil {
		d.Upstream = &pull.HTTPUpstream{}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return d
}

// upstreamOf returns up for the repositories: the core's host guard keeps
// every request and redirect on their hosts, so that a repository's
// answers are not followed elsewhere, and a private repository's
// credentials go with Basic authentication to the URLs under it only.
func upstreamOf(up *pull.HTTPUpstream, repos []Repository) *pull.HTTPUpstream {
	hosts := make([]string, len(repos))
	var creds []pull.Credential
	for i, r := range repos {
		hosts[i] = r.URL
		if r.Private() {
			creds = append(creds, pull.Basic(r.URL, r.Username, r.Password))
		}
	}
	u := up.For(hosts, pull.StaticAuth(creds...))
	u.UserAgent = userAgent
	return u
}

// ParseRepositories parses a comma-separated list of repository URLs, in
// the order they are asked, and reads each one's credentials from the
// environment: GOMIRROR_MAVEN_REPO_<N>_USERNAME with
// GOMIRROR_MAVEN_REPO_<N>_PASSWORD, or the file that
// GOMIRROR_MAVEN_REPO_<N>_PASSWORD_FILE names, where N is the
// repository's place in the list, from 1. An empty spec means
// [DefaultRepository]. getenv nil means os.Getenv.
func ParseRepositories(spec string, getenv func(string) string) ([]Repository, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	var out []Repository
	for raw := range strings.SplitSeq(spec, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		n := len(out) + 1
		if err := pull.CheckRootURL(raw); err != nil {
			return nil, fmt.Errorf("repository %d: %w", n, err)
		}
		env := "GOMIRROR_MAVEN_REPO_" + strconv.Itoa(n) + "_"
		r := Repository{URL: raw, Username: getenv(env + "USERNAME"), Password: getenv(env + "PASSWORD")}
		if f := getenv(env + "PASSWORD_FILE"); f != "" && r.Password == "" {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("repository %d: reading %sPASSWORD_FILE: %w", n, env, err)
			}
			r.Password = strings.TrimRight(string(data), "\r\n")
		}
		if r.Password != "" && r.Username == "" {
			return nil, fmt.Errorf("repository %d: a password but no %sUSERNAME", n, env)
		}
		out = append(out, r)
	}
	if len(out) == 0 {
		out = []Repository{{URL: DefaultRepository}}
	}
	return out, nil
}

// ParseGroups parses a comma-separated list of groupIds.
func ParseGroups(spec string) []string {
	var out []string
	for g := range strings.SplitSeq(spec, ",") {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	return out
}
