package upstream

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"
)

// Entry kinds in a chain.
const (
	entryProxy = iota
	entryDirect
	entryOff
)

// entry is one element of the chain.
type entry struct {
	kind int
	url  *url.URL // for entryProxy
	// fallBackOnError is true when the entry was followed by "|": the next
	// entry is tried after any error, not only after "not found".
	fallBackOnError bool
}

// String names the entry in messages, without credentials.
func (e entry) String() string {
	switch e.kind {
	case entryDirect:
		return "direct"
	case entryOff:
		return "off"
	}
	return e.url.Redacted()
}

// parseChain parses a GOPROXY list the way the go command does: entries
// are separated by "," or "|", empty entries are skipped, "direct" and
// "off" end the list (later entries are ignored), and an entry that looks
// like a host name without a scheme gets "https://". Proxy URLs must be
// http, https or file URLs.
func parseChain(goproxy string) ([]entry, error) {
	if strings.TrimSpace(goproxy) == "" {
		return nil, errors.New("GOPROXY list is empty")
	}
	var chain []entry
	for goproxy != "" {
		var raw string
		fallBackOnError := false
		if i := strings.IndexAny(goproxy, ",|"); i >= 0 {
			raw = goproxy[:i]
			fallBackOnError = goproxy[i] == '|'
			goproxy = goproxy[i+1:]
		} else {
			raw, goproxy = goproxy, ""
		}
		raw = strings.TrimSpace(raw)
		switch raw {
		case "":
			continue
		case "off":
			return append(chain, entry{kind: entryOff}), nil
		case "direct":
			return append(chain, entry{kind: entryDirect}), nil
		}
		u, err := parseProxyURL(raw)
		if err != nil {
			return nil, fmt.Errorf("GOPROXY entry %q: %w", redactRaw(raw), err)
		}
		chain = append(chain, entry{kind: entryProxy, url: u, fallBackOnError: fallBackOnError})
	}
	if len(chain) == 0 {
		return nil, errors.New("GOPROXY list is empty")
	}
	return chain, nil
}

// parseProxyURL checks one proxy entry like the go command's newProxyRepo.
func parseProxyURL(raw string) (*url.URL, error) {
	// Single-word tokens are reserved for built-in behaviours; anything with
	// ":/" or an absolute file path must be a complete URL; other entries
	// that look like a host get "https://".
	if strings.ContainsAny(raw, ".:/") && !strings.Contains(raw, ":/") && !filepath.IsAbs(raw) && !path.IsAbs(raw) {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("invalid proxy URL")
	}
	switch u.Scheme {
	case "http", "https":
		if u.Host == "" {
			return nil, errors.New("invalid proxy URL missing host")
		}
	case "file":
		if *u != (url.URL{Scheme: u.Scheme, Path: u.Path, RawPath: u.RawPath}) {
			return nil, errors.New("invalid file:// proxy URL with non-path elements")
		}
	case "":
		return nil, errors.New("invalid proxy URL missing scheme")
	default:
		return nil, errors.New("invalid proxy URL scheme (must be https, http, file)")
	}
	return u, nil
}

// redactRaw hides a password in an entry that may not parse as a URL.
func redactRaw(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Redacted()
	}
	if i := strings.LastIndex(raw, "@"); i >= 0 {
		return "xxxxx" + raw[i:]
	}
	return raw
}
