package pull

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
)

// Credential is an Authorization header value for the requests under a
// URL prefix.
type Credential struct {
	// Prefix is the URL under which the credential is sent: scheme, host
	// and port must match exactly, and the request's path must start
	// with Prefix's path.
	Prefix string
	// Authorization is the header's value, such as "Bearer <token>".
	Authorization string
}

// Bearer returns the Credential that sends token as a bearer token to the
// URLs under prefix.
func Bearer(prefix, token string) Credential {
	return Credential{Prefix: prefix, Authorization: "Bearer " + token}
}

// Basic returns the Credential that sends user and password with Basic
// authentication to the URLs under prefix.
func Basic(prefix, user, password string) Credential {
	return Credential{Prefix: prefix, Authorization: "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))}
}

// StaticAuth returns an Auth that adds the Authorization of the credential
// with the longest matching prefix to each request, including the
// requests of redirects, and nothing to a request that no credential
// matches: a redirect to another host never carries a credential. An
// empty list gives nil.
func StaticAuth(creds ...Credential) func(http.RoundTripper) http.RoundTripper {
	var list []staticCred
	for _, c := range creds {
		u, err := url.Parse(c.Prefix)
		if err != nil || c.Authorization == "" {
			continue
		}
		list = append(list, staticCred{origin: origin(u), path: u.Path, value: c.Authorization})
	}
	if len(list) == 0 {
		return nil
	}
	return func(next http.RoundTripper) http.RoundTripper {
		return &staticAuth{next: next, creds: list}
	}
}

type staticCred struct {
	origin, path, value string
}

type staticAuth struct {
	next  http.RoundTripper
	creds []staticCred
}

func (a *staticAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	best := -1
	o := origin(req.URL)
	for i, c := range a.creds {
		if c.origin == o && strings.HasPrefix(req.URL.Path, c.path) && (best < 0 || len(c.path) > len(a.creds[best].path)) {
			best = i
		}
	}
	if best >= 0 && req.Header.Get("Authorization") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", a.creds[best].value)
	}
	return a.next.RoundTrip(req)
}

// origin is u's scheme, host and port, with the scheme's default port
// made explicit.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}
