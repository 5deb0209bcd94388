package server

import (
	"net/url"
	"strings"

	"golang.org/x/mod/module"

	"github.com/gomirror/gomirror/internal/npm"
	"github.com/gomirror/gomirror/internal/oci"
	"github.com/gomirror/gomirror/internal/redact"
)

// publicUpstreams is the --public-upstreams setting: the upstreams
// reached with credentials that the operator declared public on purpose.
type publicUpstreams struct {
	all  map[string]bool     // "npm": every upstream of the ecosystem
	what map[string][]string // "npm": ["@corp"]; "pypi": hosts; "oci": registry[/repository] globs
}

func parsePublic(spec string) publicUpstreams {
	p := publicUpstreams{all: map[string]bool{}, what: map[string][]string{}}
	for e := range strings.SplitSeq(spec, ",") {
		if e = strings.TrimSpace(e); e == "" {
			continue
		}
		eco, what, _ := strings.Cut(e, ":")
		if what == "" {
			p.all[eco] = true
		} else {
			p.what[eco] = append(p.what[eco], strings.ToLower(what))
		}
	}
	return p
}

// has reports whether what, of ecosystem eco, was declared public:
// compared ignoring case, and as a GOPRIVATE pattern for oci.
func (p publicUpstreams) has(eco, what string) bool {
	if p.all[eco] {
		return true
	}
	what = strings.ToLower(what)
	for _, w := range p.what[eco] {
		if w == what || eco == "oci" && module.MatchPrefixPatterns(w, what) {
			return true
		}
	}
	return false
}

// npmPrivate returns the npm mirror's rule of privacy: a package whose
// scope is routed to a registry with a token, or, when the default
// registry is reached with a token, every other package, unless declared
// public. nil means nothing is private.
func npmPrivate(scopes map[string]npm.Upstream, up npm.Upstream, pub publicUpstreams) func(name string) bool {
	private := map[string]bool{}
	for scope, u := range scopes {
		if u.Token != "" && !pub.has("npm", scope) {
			private[strings.ToLower(scope)] = true
		}
	}
	defPrivate := up.Token != "" && !pub.all["npm"]
	if len(private) == 0 && !defPrivate {
		return nil
	}
	return func(name string) bool {
		if name == "" {
			return false
		}
		scope := npm.ScopeOf(name)
		if _, routed := scopes[scope]; routed {
			return private[scope]
		}
		// Scopes were lower-cased by ParseScopes; a name in another case
		// is routed as its lower case is.
		for s := range scopes {
			if strings.EqualFold(s, scope) {
				return private[strings.ToLower(s)]
			}
		}
		return defPrivate
	}
}

// pypiPrivate returns the PyPI mirror's rule of privacy: when an index is
// reached with credentials (a user and password or token in its URL, or a
// token in its query), any project, and the index of projects, may come
// from it, so all are private unless that index's host is declared
// public. nil means nothing is private.
func pypiPrivate(indexes []string, pub publicUpstreams) func(name string) bool {
	for _, ix := range indexes {
		u, err := url.Parse(ix)
		if err != nil || !withCredentials(u) {
			continue
		}
		if !pub.has("pypi", u.Hostname()) {
			return func(string) bool { return true }
		}
	}
	return nil
}

// withCredentials reports whether u carries credentials: a user name, or
// a query key that holds a credential.
func withCredentials(u *url.URL) bool {
	if u.User != nil {
		return true
	}
	for k := range u.Query() {
		if redact.CredentialKey(k) {
			return true
		}
	}
	return false
}

// ociPrivate returns the OCI mirror's rule of privacy: a repository of a
// registry reached with credentials (--oci-auth-file) is private unless
// declared public. nil means nothing is private.
func ociPrivate(regs []oci.Registry, pub publicUpstreams) func(name string) bool {
	creds := map[string]bool{}
	for _, r := range regs {
		if r.Username != "" {
			creds[oci.NormalizeRegistry(r.Host)] = true
		}
	}
	if len(creds) == 0 {
		return nil
	}
	return func(name string) bool {
		registry, _, _ := strings.Cut(name, "/")
		return name != "" && creds[registry] && !pub.has("oci", name)
	}
}

// anyPrivate reports whether any mirror has private content.
func anyPrivate(fns ...func(string) bool) bool {
	for _, f := range fns {
		if f != nil {
			return true
		}
	}
	return false
}
