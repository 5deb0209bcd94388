package pull

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"

	"github.com/gomirror/gomirror/internal/redact"
)

// guard decides which hosts an [HTTPUpstream] may fetch from. The hosts
// of the configured upstreams are trusted as configured, wherever they
// are; any other host, named by an upstream's content (a tarball or file
// URL) or by a redirect, must be on the allow-list and must not resolve
// to a loopback, link-local, private or otherwise non-public address. The
// address is checked when the connection is made, so a name that
// resolves to a public address when checked and a private one when
// dialled (DNS rebinding) is still refused.
type guard struct {
	trusted []string // host names, lower case, no port
	allow   []string // host names or "*.suffix" patterns, lower case
}

// newGuard returns the guard of hosts (URLs or host names, with or
// without a port) and allow (host names or "*.example.com" patterns), or
// nil when hosts is empty: no guard.
func newGuard(hosts, allow []string) *guard {
	if len(hosts) == 0 {
		return nil
	}
	g := &guard{}
	for _, h := range hosts {
		if n := hostName(h); n != "" {
			g.trusted = append(g.trusted, n)
		}
	}
	for _, a := range allow {
		if a = strings.ToLower(strings.TrimSpace(a)); a != "" {
			g.allow = append(g.allow, a)
		}
	}
	return g
}

// hostName returns the lower-case host name of a URL or a host[:port].
func hostName(s string) string {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return ""
		}
		return strings.ToLower(u.Hostname())
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		return strings.ToLower(h)
	}
	return strings.ToLower(strings.Trim(s, "[]"))
}

// isTrusted reports whether host (a name, without its port) is a
// configured upstream's.
func (g *guard) isTrusted(host string) bool {
	host = strings.ToLower(host)
	for _, t := range g.trusted {
		if t == host {
			return true
		}
	}
	return false
}

// isAllowed reports whether host is on the allow-list.
func (g *guard) isAllowed(host string) bool {
	host = strings.ToLower(host)
	for _, a := range g.allow {
		if suffix, ok := strings.CutPrefix(a, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
		} else if a == host {
			return true
		}
	}
	return false
}

// check returns an ErrRefused error when u may not be fetched.
func (g *guard) check(u *url.URL) error {
	if g == nil {
		return nil
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: %s: only http and https URLs are fetched", ErrRefused, redact.Bare(u))
	}
	host := u.Hostname()
	if g.isTrusted(host) || g.isAllowed(host) {
		return nil
	}
	return fmt.Errorf("%w: %s: the host %s is neither a configured upstream nor on the allow-list (--upstream-allow-hosts)", ErrRefused, redact.Bare(u), host)
}

// checkRedirect is an http.Client's CheckRedirect: at most 10 redirects,
// each to a host that check allows.
func (g *guard) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("%w: %s: more than 10 redirects", ErrRefused, redact.Bare(req.URL))
	}
	if err := g.check(req.URL); err != nil {
		return fmt.Errorf("redirect refused: %w", err)
	}
	return nil
}

// publicAddress reports whether a is an address that content may send
// the mirror to: not loopback, link-local, private, shared (CGNAT),
// unspecified or multicast.
func publicAddress(a netip.Addr) bool {
	a = a.Unmap()
	switch {
	case !a.IsValid(), a.IsLoopback(), a.IsPrivate(), a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(),
		a.IsInterfaceLocalMulticast(), a.IsMulticast(), a.IsUnspecified():
		return false
	}
	if a.Is4() && netip.MustParsePrefix("100.64.0.0/10").Contains(a) {
		return false
	}
	return true
}

// errPrivateAddress is the error of a refused dial; the Control function
// returns it, so it is in the chain of the request's error.
type errPrivateAddress struct{ addr string }

func (e *errPrivateAddress) Error() string {
	return "refusing to connect to the non-public address " + e.addr
}

func (e *errPrivateAddress) Unwrap() error { return ErrRefused }

// dialer wraps a transport's dial function so that hosts other than the
// trusted ones are dialled only at public addresses. proxies are the
// addresses of the configured HTTP proxies, dialled as they are.
func (g *guard) dialer(next func(ctx context.Context, network, addr string) (net.Conn, error), proxies []string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if next == nil {
		next = (&net.Dialer{}).DialContext
	}
	checked := &net.Dialer{Control: func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil || !publicAddress(ap.Addr()) {
			return &errPrivateAddress{address}
		}
		return nil
	}}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		for _, p := range proxies {
			if strings.EqualFold(p, addr) {
				return next(ctx, network, addr)
			}
		}
		if g.isTrusted(host) {
			return next(ctx, network, addr)
		}
		return checked.DialContext(ctx, network, addr)
	}
}

// proxyAddrs returns the host:port of the proxies that t sends http and
// https requests through, as the environment configures them.
func proxyAddrs(t *http.Transport) []string {
	if t.Proxy == nil {
		return nil
	}
	var out []string
	for _, target := range []string{"http://gomirror.invalid/", "https://gomirror.invalid/"} {
		req, _ := http.NewRequest(http.MethodGet, target, nil)
		p, err := t.Proxy(req)
		if err != nil || p == nil {
			continue
		}
		port := p.Port()
		if port == "" {
			port = map[string]string{"https": "443"}[p.Scheme]
			if port == "" {
				port = "80"
			}
		}
		out = append(out, net.JoinHostPort(p.Hostname(), port))
	}
	return out
}
