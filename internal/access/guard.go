package access

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
)

// Subject is what a request asks for, as the server classifies it.
type Subject struct {
	// Ecosystem is the route's label: "go", "sumdb", "golang", "vuln",
	// "oci", "pypi", "npm"; EcosystemOps or EcosystemAdmin for the
	// operations endpoints; "health" for /healthz and /readyz, which
	// anyone may ask.
	Ecosystem string
	// Name is the module path, repository, project or package, normalised
	// as the ecosystem's handler reads it; "" when the request names none
	// (an index) or cannot be parsed (the handler then refuses it).
	Name string
	// Private marks content that only a rule naming it may grant: modules
	// matching the server's private patterns, scopes routed to a private
	// registry.
	Private bool
	// Invalid marks a path that the ecosystem's handler refuses as
	// malformed. With rules in force, the guard refuses it first, with a
	// 400, so that no difference between two readings of a path can reach
	// content.
	Invalid bool
	// Probe marks the endpoint that clients call to check their
	// credentials (/v2/): without credentials it always gets the
	// challenge, so that `docker login` sends them.
	Probe bool
}

// EcosystemHealth labels the health endpoints, which are always open.
const EcosystemHealth = "health"

// Classifier names the subject of a request. The server provides it: it
// knows its routes and the shape of each ecosystem's paths. It must not
// fail: a path it cannot read gets an empty Name.
type Classifier func(r *http.Request) Subject

// RulesSource returns the rules in force, which may change between calls
// (a file that is reloaded).
type RulesSource func() *Rules

// Config configures a Guard. Classify is required.
type Config struct {
	Classify Classifier
	// Auth checks credentials. Nil means no one signs in: every client is
	// anonymous.
	Auth *Authenticator
	// Rules returns the rules in force. Nil means no rules: every request
	// is allowed (a mirror open to its network, as on loopback).
	Rules RulesSource
	// OpsElsewhere hides the operations and administrative endpoints
	// (ops, admin, health): they are served on their own listener.
	OpsElsewhere bool
	// AuthFailures is each address's budget of failed sign-ins; once it
	// is spent, requests with credentials get a 429 until it refills.
	// Zero means 10/m.
	AuthFailures Rate
	// RequestRate is each client's budget of requests (by user, or by
	// address when anonymous). Zero means no limit.
	RequestRate Rate
	// FillsPerClient bounds the upstream fills each client may have under
	// way at once, through [Guard.Admit]. Zero means no bound.
	FillsPerClient int
	// Errors writes the answers of each ecosystem (by its label) in its
	// own error format; an ecosystem without one gets plain text.
	Errors map[string]ErrorWriter
	// Audit receives the audit events. Nil discards them.
	Audit *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Guard authenticates, authorises, limits and audits every request before
// the server's router sees it. It is safe for concurrent use.
type Guard struct {
	cfg      Config
	next     http.Handler
	audit    auditor
	failures *buckets
	requests *buckets  // nil when off
	fills    *inFlight // nil when off
}

// New returns a Guard in front of next.
func New(next http.Handler, cfg Config) (*Guard, error) {
	if cfg.Classify == nil {
		return nil, fmt.Errorf("access: no classifier")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AuthFailures.N == 0 {
		cfg.AuthFailures = Rate{N: 10, Per: time.Minute}
	}
	if cfg.Audit == nil {
		cfg.Audit = slog.New(slog.DiscardHandler)
	}
	g := &Guard{cfg: cfg, next: next, audit: auditor{cfg.Audit}, failures: newBuckets(cfg.AuthFailures, cfg.Now)}
	if cfg.RequestRate.N > 0 {
		g.requests = newBuckets(cfg.RequestRate, cfg.Now)
	}
	if cfg.FillsPerClient > 0 {
		g.fills = &inFlight{limit: cfg.FillsPerClient, n: map[string]int{}}
	}
	return g, nil
}

// queryCredentials are URL query keys that carry credentials. They are
// refused, never read: a URL ends up in logs, histories and Referer
// headers.
var queryCredentials = []string{"token", "access_token", "auth", "authtoken", "_authtoken", "password", "api_key", "apikey", "secret"}

func hasQueryCredentials(u *url.URL) bool {
	if u.RawQuery == "" {
		return false
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		// Keys that do not parse are compared raw.
		low := strings.ToLower(u.RawQuery)
		for _, k := range queryCredentials {
			if strings.Contains(low, k+"=") {
				return true
			}
		}
		return false
	}
	for k := range q {
		for _, c := range queryCredentials {
			if strings.EqualFold(k, c) {
				return true
			}
		}
	}
	return false
}

func (g *Guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := g.cfg.Classify(r)
	ops := s.Ecosystem == EcosystemOps || s.Ecosystem == EcosystemAdmin || s.Ecosystem == EcosystemHealth
	if ops && g.cfg.OpsElsewhere {
		g.writeError(w, r, "", http.StatusNotFound, "not found: the operations endpoints are on their own listener")
		return
	}
	id := &Identity{Addr: clientAddr(r)}
	ctx := r.Context()
	if hasQueryCredentials(r.URL) {
		g.audit.request(ctx, EventQueryRefused, r, id, s)
		g.writeError(w, r, s.Ecosystem, http.StatusBadRequest, "credentials in the URL query are refused: send them in the Authorization header")
		return
	}
	sent := false
	if hdrs := r.Header.Values("Authorization"); g.cfg.Auth != nil && len(hdrs) > 0 {
		if spent, wait := g.failures.empty("addr:" + id.Addr); spent {
			g.audit.request(ctx, EventThrottled, r, id, s, slog.String("limit", "failed sign-ins"))
			w.Header().Set("Retry-After", retryAfter(wait))
			g.writeError(w, r, s.Ecosystem, http.StatusTooManyRequests, "too many failed sign-ins from "+id.Addr+"; try again later")
			return
		}
		var c Credential
		var err error
		if len(hdrs) > 1 {
			err = fmt.Errorf("%w: several Authorization headers", errMalformed)
		} else {
			c, err = ParseAuthorization(hdrs[0])
		}
		switch {
		case err != nil:
			g.failed(w, r, id, s, "", err.Error())
			return
		case c.Scheme == "basic" && c.User == "" && c.Secret == "":
			// Empty Basic credentials, as some container clients send
			// when they have none: anonymous.
		default:
			user, groups, method, ok := g.cfg.Auth.Check(c)
			if !ok {
				g.failed(w, r, id, s, c.User, "wrong credentials")
				return
			}
			id.User, id.Groups, id.Method = user, groups, method
			sent = true
		}
	}
	if g.requests != nil && !ops {
		if ok, wait := g.requests.take(id.key()); !ok {
			g.audit.request(ctx, EventThrottled, r, id, s, slog.String("limit", "request rate"))
			w.Header().Set("Retry-After", retryAfter(wait))
			g.writeError(w, r, s.Ecosystem, http.StatusTooManyRequests, "too many requests; try again in "+retryAfter(wait)+"s")
			return
		}
	}
	if s.Probe && !sent && g.cfg.Auth != nil {
		g.writeError(w, r, s.Ecosystem, http.StatusUnauthorized, "authentication required")
		return
	}
	if s.Ecosystem != EcosystemHealth && g.cfg.Rules != nil {
		if s.Invalid {
			g.writeError(w, r, s.Ecosystem, http.StatusBadRequest, "bad request: malformed path")
			return
		}
		d := g.cfg.Rules().Decide(id, s)
		if !d.Allow {
			g.audit.request(ctx, EventDenied, r, id, s, slog.Int("rule", d.Rule))
			if id.Anonymous() && g.cfg.Auth != nil {
				g.writeError(w, r, s.Ecosystem, http.StatusUnauthorized, "authentication required")
			} else {
				g.writeError(w, r, s.Ecosystem, http.StatusForbidden, "access denied")
			}
			return
		}
		if s.Private {
			g.audit.request(ctx, EventPrivateRead, r, id, s, slog.Int("rule", d.Rule))
		}
	}
	r = r.WithContext(WithIdentity(ctx, id))
	if g.fills != nil {
		w = &throttleWriter{ResponseWriter: w}
	}
	g.next.ServeHTTP(w, r)
}

// failed answers a failed sign-in: it spends one of the address's
// attempts, audits the failure and challenges the client again.
func (g *Guard) failed(w http.ResponseWriter, r *http.Request, id *Identity, s Subject, claimed, reason string) {
	g.failures.take("addr:" + id.Addr)
	g.audit.request(r.Context(), EventAuthFailed, r, id, s, slog.String("claimed_user", pull.OneLine(clip(claimed))), slog.String("reason", reason))
	g.writeError(w, r, s.Ecosystem, http.StatusUnauthorized, "authentication failed")
}

// fillRetry is the Retry-After of a refused fill: fills take seconds.
const fillRetry = 5 * time.Second

// Admit is the core's admission hook (pull.Config.Admit): it bounds the
// upstream fills that each client, identified by the request context, has
// under way. A context without an identity (sync jobs, maintenance) is
// always admitted. The error wraps pull.ErrTooManyRequests.
func (g *Guard) Admit(ctx context.Context) (release func(), err error) {
	id := FromContext(ctx)
	if g.fills == nil || id == nil {
		return func() {}, nil
	}
	release, held, ok := g.fills.acquire(id.key())
	if !ok {
		g.cfg.Audit.LogAttrs(ctx, slog.LevelInfo, "audit", slog.String("event", EventThrottled),
			slog.String("user", id.User), slog.String("remote", id.Addr), slog.String("limit", "fills in flight"), slog.Int("held", held))
		return nil, fmt.Errorf("%w: %d upstream fills of yours are under way; try again shortly", pull.ErrTooManyRequests, held)
	}
	return release, nil
}

// throttleWriter adds a Retry-After to a 429 that a handler writes
// without one, as it does for a fill that Admit refused.
type throttleWriter struct {
	http.ResponseWriter
}

func (w *throttleWriter) WriteHeader(code int) {
	if code == http.StatusTooManyRequests && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", retryAfter(fillRetry))
	}
	w.ResponseWriter.WriteHeader(code)
}

// ReadFrom keeps sendfile for stored files.
func (w *throttleWriter) ReadFrom(src io.Reader) (int64, error) {
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(w.ResponseWriter, src)
}

// SetKind passes the handler's kind to the server's metrics.
func (w *throttleWriter) SetKind(kind string) {
	if ks, ok := w.ResponseWriter.(interface{ SetKind(string) }); ok {
		ks.SetKind(kind)
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *throttleWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
