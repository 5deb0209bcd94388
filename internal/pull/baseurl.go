package pull

import (
	"fmt"
	"net/http"
	"strings"
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
