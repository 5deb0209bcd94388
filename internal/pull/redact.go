package pull

import (
	"net/url"
	"strings"
)

// secretParams are the query parameters whose values are credentials, as
// registries, object stores and CDNs name them (compared in lower case,
// and as suffixes: "x-amz-signature" ends in "signature").
var secretParams = []string{"token", "password", "passwd", "secret", "signature", "sig", "key", "auth", "credential", "code"}

// Redact returns u as it may be shown in an error or a log line: without
// user information, and with the values of query parameters that carry
// credentials (token=, access_token=, X-Amz-Signature=, ...) replaced by
// "REDACTED". A nil u gives "".
func Redact(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		q, err := url.ParseQuery(c.RawQuery)
		if err != nil {
			c.RawQuery = "REDACTED"
		} else {
			for k, vs := range q {
				if isSecretParam(k) {
					for i := range vs {
						vs[i] = "REDACTED"
					}
				}
			}
			c.RawQuery = q.Encode()
		}
	}
	return c.String()
}

// RedactString is [Redact] of a URL given as a string; a string that does
// not parse as a URL gives "(bad URL)".
func RedactString(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(bad URL)"
	}
	return Redact(u)
}

func isSecretParam(k string) bool {
	k = strings.ToLower(k)
	for _, s := range secretParams {
		if strings.HasSuffix(k, s) || strings.HasPrefix(k, s) {
			return true
		}
	}
	return false
}
