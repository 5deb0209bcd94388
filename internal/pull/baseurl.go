package pull

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gomirror/gomirror/internal/redact"
)

// BaseURL returns the mirror's root URL for r, for ecosystems that write
// URLs of the mirror into what they serve: public when it is set, else
// the scheme and Host that r came to (X-Forwarded-Proto is honored). A
// missing or malformed Host is an error matching ErrBadRequest.
func BaseURL(r *http.Request, public string) (string, error) {
	if public != "" {
		return strings.TrimRight(public, "/"), nil
	}
	host := r.Host
	if host == "" || len(host) > 255 {
		return "", fmt.Errorf("%w: no usable Host header", ErrBadRequest)
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(".-_:[]", c) >= 0) {
			return "", fmt.Errorf("%w: malformed Host header", ErrBadRequest)
		}
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p == "http" || p == "https" {
		scheme = p
	}
	return scheme + "://" + host, nil
}

// RootURL returns an upstream's root URL ending in a slash, as the
// ecosystems join the paths they fetch to it.
func RootURL(raw string) string {
	if !strings.HasSuffix(raw, "/") {
		return raw + "/"
	}
	return raw
}

// CheckRootURL checks a root URL of an upstream, or of the mirror as
// clients reach it: http or https with a host, and no query, fragment or
// user information, since credentials come from the environment or a
// file. The error names raw with its credentials redacted.
func CheckRootURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid URL %q: %w", redact.String(raw), errors.Unwrap(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return fmt.Errorf("invalid URL %q: want http(s)://host/...", redact.URL(u))
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return fmt.Errorf("invalid URL %q: no query, fragment or user info allowed (credentials come from the environment)", redact.URL(u))
	}
	return nil
}
