// Package redact hides credentials in URLs before they are shown: on the
// status pages and feeds, in logs and in error messages.
package redact

import (
	"fmt"
	"log/slog"
	"net/url"
	"strings"
)

// credentialKeys are the words that make a URL query key a credential,
// as registries, object stores and CDNs name them: a key that begins or
// ends with one of them, ignoring case, carries a credential (token,
// access_token, _authToken, apikey, X-Amz-Signature, X-Amz-Credential,
// client_secret, password, ...).
var credentialKeys = []string{"token", "password", "passwd", "pass", "secret", "signature", "sig", "key", "auth", "credential", "code"}

// CredentialKey reports whether a URL query key carries a credential: it
// begins or ends with one of the words registries, object stores and CDNs
// use for one (token, auth, key, secret, signature, password, ...),
// compared ignoring case.
func CredentialKey(k string) bool {
	k = strings.ToLower(k)
	for _, c := range credentialKeys {
		if strings.HasPrefix(k, c) || strings.HasSuffix(k, c) {
			return true
		}
	}
	return false
}

// URL returns u as a string with its password, and the values of query
// keys that carry credentials (see [CredentialKey]), replaced by "xxxxx".
// A user name given without a password is taken to be a token and is
// replaced too. A nil u is "".
func URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	if c.User != nil {
		if _, ok := c.User.Password(); ok {
			c.User = url.UserPassword(c.User.Username(), "xxxxx")
		} else {
			c.User = url.User("xxxxx")
		}
	}
	return withQuery(c)
}

// Bare returns u as an error or a log line about a request to it names
// it: as [URL] does, but without any user information, not even the
// user name. A nil u is "".
func Bare(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	return withQuery(c)
}

// BareString is [Bare] of a URL given as a string; a string that does
// not parse as a URL gives "(bad URL)".
func BareString(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(bad URL)"
	}
	return Bare(u)
}

// withQuery returns u with the credential values of its query redacted.
func withQuery(u url.URL) string {
	if u.RawQuery != "" {
		u.RawQuery = query(u.RawQuery)
	}
	return u.String()
}

// query redacts the credential values of a raw query, keeping its order
// and its separators ("&", and ";" which some servers take as one).
func query(raw string) string {
	var b strings.Builder
	for raw != "" {
		p := raw
		sep := strings.IndexAny(raw, "&;")
		if sep >= 0 {
			p, raw = raw[:sep+1], raw[sep+1:]
		} else {
			raw = ""
		}
		pair := strings.TrimRight(p, "&;")
		k, _, ok := strings.Cut(pair, "=")
		if uk, err := url.QueryUnescape(k); err == nil {
			k = uk
		}
		if ok && CredentialKey(k) {
			p = pair[:strings.Index(pair, "=")] + "=xxxxx" + p[len(pair):]
		}
		b.WriteString(p)
	}
	return b.String()
}

// String returns s with every URL in it redacted as URL does. s may be a
// list of URLs (a GOPROXY list, "host=URL" pairs) or any text, such as an
// error message; a URL is found by its "scheme://".
func String(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "://")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		// The scheme: letters, digits, +, -, . before "://".
		start := i
		for start > 0 && schemeByte(s[start-1]) {
			start--
		}
		end := i + 3
		for end < len(s) && !urlEnd(s[end]) {
			end++
		}
		b.WriteString(s[:start])
		b.WriteString(oneURL(s[start:end]))
		s = s[end:]
	}
}

func schemeByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'
}

// urlEnd reports whether c ends a URL in running text or in a list.
func urlEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', '|', '"', '\'', '<', '>', '`':
		return true
	}
	return false
}

// oneURL redacts one URL found in text. A URL that does not parse keeps
// nothing between "://" and its last "@", nor its query.
func oneURL(raw string) string {
	u, err := url.Parse(raw)
	if err == nil && u.Host != "" || err == nil && u.User != nil {
		return URL(u)
	}
	scheme, rest, _ := strings.Cut(raw, "://")
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		rest = "xxxxx" + rest[at:]
	}
	if q := strings.Index(rest, "?"); q >= 0 {
		rest = rest[:q+1] + query(rest[q+1:])
	}
	return scheme + "://" + rest
}

// Attr is a slog.HandlerOptions.ReplaceAttr that redacts the URLs in a
// log record's message and in its string, error, URL and Stringer
// values, so that no credential of an upstream reaches a log.
func Attr(_ []string, a slog.Attr) slog.Attr {
	switch v := a.Value; v.Kind() {
	case slog.KindString:
		if s := v.String(); strings.Contains(s, "://") {
			a.Value = slog.StringValue(String(s))
		}
	case slog.KindAny:
		switch x := v.Any().(type) {
		case *url.URL:
			a.Value = slog.StringValue(URL(x))
		case error:
			if s := x.Error(); strings.Contains(s, "://") {
				a.Value = slog.StringValue(String(s))
			}
		case fmt.Stringer:
			if s := x.String(); strings.Contains(s, "://") {
				a.Value = slog.StringValue(String(s))
			}
		}
	}
	return a
}
