package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/gomirror/gomirror/internal/pull"
)

// challenge is one WWW-Authenticate challenge: a scheme ("bearer",
// "basic", lower-cased) and its parameters (names lower-cased).
type challenge struct {
	scheme string
	params map[string]string
}

// parseChallenges parses WWW-Authenticate header values (RFC 7235):
// challenges separated by commas, each a scheme followed by name=value
// parameters, values plain tokens or quoted strings. Malformed parts end
// the parse; what was read before them is kept.
func parseChallenges(values []string) []challenge {
	var out []challenge
	for _, v := range values {
		s := v
		for {
			s = strings.TrimLeft(s, " \t,")
			if s == "" {
				break
			}
			scheme, rest := cutToken(s)
			if scheme == "" {
				break
			}
			ch := challenge{scheme: strings.ToLower(scheme), params: map[string]string{}}
			s = rest
			for {
				t := strings.TrimLeft(s, " \t")
				name, after := cutToken(t)
				after = strings.TrimLeft(after, " \t")
				if name == "" || !strings.HasPrefix(after, "=") {
					break // Next challenge, or the end.
				}
				after = strings.TrimLeft(after[1:], " \t")
				var val string
				var ok bool
				if strings.HasPrefix(after, `"`) {
					val, after, ok = cutQuoted(after)
					if !ok {
						s = ""
						break
					}
				} else {
					val, after = cutToken(after)
				}
				ch.params[strings.ToLower(name)] = val
				after = strings.TrimLeft(after, " \t")
				s = strings.TrimPrefix(after, ",")
			}
			out = append(out, ch)
		}
	}
	return out
}

// cutToken splits off a leading RFC 7230 token.
func cutToken(s string) (tok, rest string) {
	i := 0
	for i < len(s) && isTokenChar(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func isTokenChar(c byte) bool {
	if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~/:", c) >= 0
}

// cutQuoted splits off a leading quoted string, undoing its escapes.
func cutQuoted(s string) (val, rest string, ok bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:], true
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}

// maxTokens is the number of cached tokens of one registry above which
// expired ones are dropped when a new one comes.
const maxTokens = 1000

// token is a bearer token and when it stops being used.
type token struct {
	value   string
	expires time.Time
}

// tokenResponse is a token service's answer.
type tokenResponse struct {
	Token       string    `json:"token"`
	AccessToken string    `json:"access_token"`
	ExpiresIn   int       `json:"expires_in"`
	IssuedAt    time.Time `json:"issued_at"`
}

// client talks to one upstream registry through the core's upstream
// client, which it adds the registry's authentication to: as an
// http.RoundTripper, it answers the registry's challenges (a Bearer token
// from the realm for the request's scope, or Basic credentials) for the
// requests to the registry itself, and sends the others (a blob's
// redirect to a CDN) as they are. It is safe for concurrent use.
type client struct {
	reg    Registry // Host normalised
	base   string   // the registry API's base URL, without a final slash
	origin *url.URL // base's scheme and host
	http   *pull.HTTPUpstream
	next   http.RoundTripper // the transport under the authentication
	now    func() time.Time

	mu        sync.Mutex
	challenge *challenge       // the registry's last challenge
	tokens    map[string]token // by scope
	flights   singleflight.Group
}

// redirectHosts are the hosts that well-known registries redirect blob
// downloads to, and where their token services are.
var redirectHosts = map[string][]string{
	DockerHub:           {"*.docker.com", "*.docker.io"},
	"ghcr.io":           {"pkg-containers.githubusercontent.com"},
	"quay.io":           {"*.quay.io"},
	"registry.k8s.io":   {"*.pkg.dev", "*.amazonaws.com"},
	"gcr.io":            {"storage.googleapis.com", "*.pkg.dev"},
	"mcr.microsoft.com": {"*.mcr.microsoft.com"},
}

func newClient(reg Registry, settings *pull.HTTPUpstream, now func() time.Time) *client {
	reg.Host = NormalizeRegistry(reg.Host)
	c := &client{reg: reg, base: reg.upstreamURL(), now: now, tokens: map[string]token{}}
	c.origin, _ = url.Parse(c.base)
	c.http = settings.For([]string{c.base}, func(next http.RoundTripper) http.RoundTripper {
		c.next = next
		return c
	})
	c.http.Allow = append(slices.Clip(c.http.Allow), redirectHosts[reg.Host]...)
	return c
}

// scope is the token scope for pulling repo.
func pullScope(repo string) string { return "repository:" + repo + ":pull" }

// scopeKey is the context key of a request's token scope.
type scopeKey struct{}

// do sends a GET or HEAD for path (starting with /v2/) with the
// authorization that scope needs. Answers other than a success are
// errors, as pull.HTTPUpstream.Do returns them.
func (c *client) do(ctx context.Context, method, path, scope string, hdr http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s %s: bad request path", pull.ErrUpstream, method, c.reg.Host)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "gomirror")
	return c.http.Do(context.WithValue(ctx, scopeKey{}, scope), req)
}

// RoundTrip sends req with the authorization its scope needs when it goes
// to the registry, answering the registry's challenge once when it asks
// for one. A challenge the mirror cannot answer leaves the 401 as it is.
func (c *client) RoundTrip(req *http.Request) (*http.Response, error) {
	scope, _ := req.Context().Value(scopeKey{}).(string)
	if scope == "" || !strings.EqualFold(req.URL.Scheme, c.origin.Scheme) || !strings.EqualFold(req.URL.Host, c.origin.Host) {
		return c.next.RoundTrip(req)
	}
	for attempt := 0; ; attempt++ {
		r := req.Clone(req.Context())
		if err := c.authorize(r.Context(), r, scope); err != nil {
			return nil, err
		}
		resp, err := c.next.RoundTrip(r)
		if err != nil || resp.StatusCode != http.StatusUnauthorized || attempt > 0 {
			return resp, err
		}
		var ch *challenge
		for _, x := range parseChallenges(resp.Header.Values("Www-Authenticate")) {
			if x.scheme == "bearer" || x.scheme == "basic" {
				ch = &x
				break
			}
		}
		if ch == nil || ch.scheme == "basic" && c.reg.Username == "" {
			return resp, nil
		}
		drain(resp)
		c.mu.Lock()
		c.challenge = ch
		delete(c.tokens, scope) // Expired or revoked early.
		c.mu.Unlock()
	}
}

// authorize sets the Authorization of req: the cached token for scope, a
// new token when the registry has sent a Bearer challenge, or Basic
// credentials when it asked for those.
func (c *client) authorize(ctx context.Context, req *http.Request, scope string) error {
	c.mu.Lock()
	ch := c.challenge
	tok, ok := c.tokens[scope]
	c.mu.Unlock()
	switch {
	case ch == nil:
		return nil // Anonymous until asked.
	case ch.scheme == "basic":
		req.SetBasicAuth(c.reg.Username, c.reg.Password)
		return nil
	case ok && c.now().Before(tok.expires):
		req.Header.Set("Authorization", "Bearer "+tok.value)
		return nil
	}
	v, err, _ := c.flights.Do(scope, func() (any, error) {
		c.mu.Lock()
		tok, ok := c.tokens[scope]
		c.mu.Unlock()
		if ok && c.now().Before(tok.expires) {
			return tok.value, nil
		}
		tok, err := c.fetchToken(ctx, ch, scope)
		if err != nil {
			return "", err
		}
		c.mu.Lock()
		if len(c.tokens) >= maxTokens {
			now := c.now()
			for k, t := range c.tokens {
				if !now.Before(t.expires) {
					delete(c.tokens, k)
				}
			}
		}
		c.tokens[scope] = tok
		c.mu.Unlock()
		return tok.value, nil
	})
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+v.(string))
	return nil
}

// fetchToken asks the realm of ch for a token for scope, with the
// registry's credentials when it has some.
func (c *client) fetchToken(ctx context.Context, ch *challenge, scope string) (token, error) {
	realm := ch.params["realm"]
	u, err := url.Parse(realm)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return token{}, fmt.Errorf("%w: %s: bad token realm %q", pull.ErrUpstream, c.reg.Host, realm)
	}
	if err := c.http.Check(u); err != nil {
		return token{}, fmt.Errorf("%s: token realm: %w", c.reg.Host, err)
	}
	if u.Scheme == "http" && c.reg.Username != "" && strings.HasPrefix(c.base, "https:") {
		return token{}, fmt.Errorf("%w: %s: refusing to send credentials to the plain-http token realm %s", pull.ErrUpstream, c.reg.Host, realm)
	}
	q := u.Query()
	if s := ch.params["service"]; s != "" {
		q.Set("service", s)
	}
	q.Set("scope", scope)
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return token{}, fmt.Errorf("%w: %s: token request: %v", pull.ErrUpstream, c.reg.Host, err)
	}
	req.Header.Set("User-Agent", "gomirror")
	if c.reg.Username != "" {
		req.SetBasicAuth(c.reg.Username, c.reg.Password)
	}
	start := c.now()
	resp, err := c.next.RoundTrip(req)
	if err != nil {
		return token{}, upstreamNetError(ctx, c.reg.Host+" token service", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return token{}, &upstreamError{resp.StatusCode, c.reg.Host + " token service: too many requests"}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return token{}, &upstreamError{resp.StatusCode, fmt.Sprintf("%s token service refused %s: %s", c.reg.Host, scope, resp.Status)}
	case resp.StatusCode != http.StatusOK:
		return token{}, fmt.Errorf("%w: %s token service: %s", pull.ErrUpstream, c.reg.Host, resp.Status)
	}
	var tr tokenResponse
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tr); err != nil {
		return token{}, fmt.Errorf("%w: %s token service: %v", pull.ErrUpstream, c.reg.Host, err)
	}
	if tr.Token == "" {
		tr.Token = tr.AccessToken
	}
	if tr.Token == "" {
		return token{}, fmt.Errorf("%w: %s token service: no token in its answer", pull.ErrUpstream, c.reg.Host)
	}
	// The spec's default lifetime is 60 seconds. The token is dropped a
	// little before it ends, so that it does not expire on its way.
	life := time.Duration(tr.ExpiresIn) * time.Second
	if life <= 0 {
		life = 60 * time.Second
	}
	life -= min(life/10, 10*time.Second)
	return token{value: tr.Token, expires: start.Add(life)}, nil
}

// upstreamNetError wraps a failed upstream round trip.
func upstreamNetError(ctx context.Context, what string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // Without the URL, which may carry a token query.
	}
	return fmt.Errorf("%w: %s: %v", pull.ErrUpstream, what, err)
}

// drain reads a little of an unwanted body, so that its connection can be
// kept, and closes it.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
