// Package proxychain parses a GOPROXY value into its entries, following the
// go command's rules: entries are separated by "," (fall through to the next
// entry only on 404 or 410) or "|" (fall through on any error); "direct" and
// "off" are keywords; an entry without a scheme gets "https://".
package proxychain

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"strings"
)

// Kind is what an entry of the chain does.
type Kind int

// The kinds of entry.
const (
	// Proxy is a GOPROXY protocol server at URL.
	Proxy Kind = iota
	// Direct fetches from the origin version control system.
	Direct
	// Off refuses to download anything.
	Off
)

// Entry is one element of a GOPROXY chain.
type Entry struct {
	// Raw is the entry as written.
	Raw string
	// Kind says what the entry does.
	Kind Kind
	// URL is the proxy's base URL (Proxy entries only), with "https://"
	// added when the entry had no scheme, and without a trailing slash.
	URL string
	// AnyError is true when the entry is followed by "|": the go command
	// falls through to the next entry on any error, not only 404 and 410.
	AnyError bool
	// Err is why the entry is malformed, or nil. The go command refuses a
	// chain with a malformed entry.
	Err error
}

// String returns the entry as written.
func (e Entry) String() string { return e.Raw }

// Parse splits goproxy into entries. An empty value means the go command's
// default, "https://proxy.golang.org,direct". Malformed entries are returned
// with Err set rather than dropped, so callers can report each of them.
func Parse(goproxy string) []Entry {
	if strings.TrimSpace(goproxy) == "" {
		goproxy = "https://proxy.golang.org,direct"
	}
	var entries []Entry
	for goproxy != "" {
		var raw string
		anyError := false
		if i := strings.IndexAny(goproxy, ",|"); i >= 0 {
			raw = goproxy[:i]
			anyError = goproxy[i] == '|'
			goproxy = goproxy[i+1:]
		} else {
			raw = goproxy
			goproxy = ""
		}
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		e := Entry{Raw: raw, AnyError: anyError}
		switch raw {
		case "direct":
			e.Kind = Direct
		case "off":
			e.Kind = Off
		default:
			e.Kind = Proxy
			e.URL, e.Err = checkProxyURL(raw)
		}
		entries = append(entries, e)
	}
	return entries
}

// checkProxyURL does what the go command does to a proxy entry: add
// "https://" to a bare host, then accept only http, https and file URLs.
func checkProxyURL(raw string) (string, error) {
	u := raw
	if strings.ContainsAny(u, ".:/") && !strings.Contains(u, ":/") && !path.IsAbs(u) {
		u = "https://" + u
	}
	parsed, err := url.Parse(u)
	if err != nil {
		return "", fmt.Errorf("malformed proxy URL %q: %w", raw, err)
	}
	switch parsed.Scheme {
	case "http", "https":
		if parsed.Host == "" {
			return "", fmt.Errorf("malformed proxy URL %q: no host", raw)
		}
		if parsed.Port() != "" {
			if _, err := net.LookupPort("tcp", parsed.Port()); err != nil {
				return "", fmt.Errorf("malformed proxy URL %q: bad port", raw)
			}
		}
	case "file":
	case "":
		return "", fmt.Errorf("malformed proxy URL %q: missing scheme (want https://)", raw)
	default:
		return "", fmt.Errorf("malformed proxy URL %q: scheme %q (want https, http or file)", raw, parsed.Scheme)
	}
	return strings.TrimRight(u, "/"), nil
}

// IsLocalHost reports whether host (a URL host, with or without port) is a
// loopback name or address, whose traffic never leaves the machine.
func IsLocalHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
