package npm

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
)

// DefaultUpstream is the public npm registry.
const DefaultUpstream = "https://registry.npmjs.org/"

// Upstream is a registry that the mirror fetches from.
type Upstream struct {
	// URL is the registry's root, such as https://registry.npmjs.org/.
	URL string
	// Token, when not empty, is sent as "Authorization: Bearer <Token>" to
	// the registry's host. Read it from the environment or a file (see
	// [ParseScopes]), never from a flag.
	Token string
}

// Config configures a [Handler]. Cache is required; the zero value of
// every other field means its default.
type Config struct {
	// Cache is the pull-through core that stores and fills everything.
	Cache *pull.Cache
	// Upstream is the registry for every package whose scope is not in
	// Scopes. Its URL defaults to [DefaultUpstream].
	Upstream Upstream
	// Scopes routes scopes ("@company") to their own registries. The
	// packages, tarballs and audit entries of a routed scope are never
	// asked of Upstream.
	Scopes map[string]Upstream
	// PublicURL is the mirror's root URL as clients reach it
	// ("https://mirror.example.com"); the tarball URLs in packuments are
	// PublicURL + "/npm/<name>/-/<file>". Empty means the scheme and Host
	// of each request (X-Forwarded-Proto is honored).
	PublicURL string
	// TTL is how long a packument, or the signing keys, stay fresh. Zero
	// means 5 minutes.
	TTL time.Duration
	// RefreshAfter is the age from which a stored packument is refreshed
	// early when a version or tarball it lacks is asked for. Zero means 30
	// seconds.
	RefreshAfter time.Duration
	// MaxPackumentSize bounds a packument from upstream. Zero means 64 MiB.
	MaxPackumentSize int64
	// MaxTarballSize bounds a tarball from upstream. Zero means 1 GiB.
	MaxTarballSize int64
	// MaxAuditSize bounds an audit request's body. Zero means 32 MiB.
	MaxAuditSize int64
	// MemoSize bounds the bytes of rendered packuments kept in memory.
	// Zero means 64 MiB; negative turns the memo off.
	MemoSize int64
	// HTTPUpstream gives the settings of upstream requests: client, bounds,
	// retries and the allow-list of other hosts that tarball URLs and
	// redirects may name. The mirror fetches from each registry's host
	// with that registry's token. Nil means a zero pull.HTTPUpstream with
	// Client.
	HTTPUpstream *pull.HTTPUpstream
	// Client makes upstream requests when HTTPUpstream is nil. Nil means
	// http.DefaultClient.
	Client *http.Client
	// Memory bounds the memory that decoding and rendering packuments
	// takes across requests. Nil means a budget of pull.DefaultMemory of
	// the mirror's own.
	Memory *pull.Memory
	// Logger receives request failures. Nil discards them.
	Logger *slog.Logger
}

// Validate reports the first invalid field of c, naming it.
func (c *Config) Validate() error {
	var errs []error
	if c.Cache == nil {
		errs = append(errs, errors.New("npm: Cache is required"))
	}
	if c.Upstream.URL != "" {
		if err := pull.CheckRootURL(c.Upstream.URL); err != nil {
			errs = append(errs, fmt.Errorf("npm: upstream: %w", err))
		}
	}
	folded := map[string]bool{}
	for scope, up := range c.Scopes {
		if folded[strings.ToLower(scope)] {
			errs = append(errs, fmt.Errorf("npm: scopes: %s is routed twice, in two cases", scope))
		}
		folded[strings.ToLower(scope)] = true
		if !strings.HasPrefix(scope, "@") || strings.Contains(scope, "/") || checkPart(scope[1:]) != nil {
			errs = append(errs, fmt.Errorf("npm: scopes: %q is not a scope like @company", scope))
			continue
		}
		if err := pull.CheckRootURL(up.URL); err != nil {
			errs = append(errs, fmt.Errorf("npm: scopes: %s: %w", scope, err))
		}
	}
	if c.PublicURL != "" {
		if err := pull.CheckRootURL(c.PublicURL); err != nil {
			errs = append(errs, fmt.Errorf("npm: public URL: %w", err))
		}
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"TTL", int64(c.TTL)}, {"RefreshAfter", int64(c.RefreshAfter)},
		{"MaxPackumentSize", c.MaxPackumentSize}, {"MaxTarballSize", c.MaxTarballSize}, {"MaxAuditSize", c.MaxAuditSize},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("npm: %s is negative", f.name))
		}
	}
	return errors.Join(errs...)
}

func (c *Config) withDefaults() Config {
	d := *c
	if d.Upstream.URL == "" {
		d.Upstream.URL = DefaultUpstream
	}
	d.Upstream.URL = pull.RootURL(d.Upstream.URL)
	scopes := make(map[string]Upstream, len(d.Scopes))
	for k, v := range d.Scopes {
		v.URL = pull.RootURL(v.URL)
		scopes[strings.ToLower(k)] = v // Scopes are routed ignoring case.
	}
	d.Scopes = scopes
	d.PublicURL = strings.TrimRight(d.PublicURL, "/")
	if d.TTL == 0 {
		d.TTL = 5 * time.Minute
	}
	if d.RefreshAfter == 0 {
		d.RefreshAfter = 30 * time.Second
	}
	if d.MaxPackumentSize == 0 {
		d.MaxPackumentSize = 64 << 20
	}
	if d.MaxTarballSize == 0 {
		d.MaxTarballSize = 1 << 30
	}
	if d.MaxAuditSize == 0 {
		d.MaxAuditSize = 32 << 20
	}
	if d.MemoSize == 0 {
		d.MemoSize = 64 << 20
	}
	if d.Memory == nil {
		d.Memory = pull.NewMemory(0)
	}
	if d.HTTPUpstream == nil {
		d.HTTPUpstream = &pull.HTTPUpstream{Client: d.Client}
	}
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	return d
}

// ParseScopes parses a scope routing list, "@company=https://npm.corp.example/"
// entries separated by commas, and reads each scope's token from the
// environment: GOMIRROR_NPM_TOKEN_<SCOPE>, or the file that
// GOMIRROR_NPM_TOKEN_FILE_<SCOPE> names, where <SCOPE> is the scope
// without its "@", upper-cased, with every character other than a letter
// or digit replaced by "_" (@my-corp: GOMIRROR_NPM_TOKEN_MY_CORP). A scope
// without either has no token. getenv nil means os.Getenv.
func ParseScopes(spec string, getenv func(string) string) (map[string]Upstream, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	out := make(map[string]Upstream)
	for entry := range strings.SplitSeq(spec, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		scope, u, ok := strings.Cut(entry, "=")
		scope, u = strings.TrimSpace(scope), strings.TrimSpace(u)
		if !ok || !strings.HasPrefix(scope, "@") || strings.Contains(scope, "/") || checkPart(scope[1:]) != nil {
			return nil, fmt.Errorf("npm scopes: %q is not @scope=URL", entry)
		}
		if err := pull.CheckRootURL(u); err != nil {
			return nil, fmt.Errorf("npm scopes: %s: %w", scope, err)
		}
		scope = strings.ToLower(scope) // Routed ignoring case.
		if _, dup := out[scope]; dup {
			return nil, fmt.Errorf("npm scopes: %s is routed twice", scope)
		}
		env := TokenEnv(scope)
		up := Upstream{URL: u, Token: getenv(env)}
		if f := getenv(strings.Replace(env, "_TOKEN_", "_TOKEN_FILE_", 1)); f != "" && up.Token == "" {
			data, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("npm scopes: %s: reading its token: %w", scope, err)
			}
			up.Token = strings.TrimSpace(string(data))
		}
		out[scope] = up
	}
	return out, nil
}

// TokenEnv returns the environment variable that holds scope's token:
// GOMIRROR_NPM_TOKEN_COMPANY for @company.
func TokenEnv(scope string) string {
	s := strings.Map(func(r rune) rune {
		switch {
		case 'a' <= r && r <= 'z':
			return r - 'a' + 'A'
		case 'A' <= r && r <= 'Z', '0' <= r && r <= '9':
			return r
		}
		return '_'
	}, strings.TrimPrefix(scope, "@"))
	return "GOMIRROR_NPM_TOKEN_" + s
}
