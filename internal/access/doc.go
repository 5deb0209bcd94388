// Package access decides who may read what from a gomirror: it
// authenticates clients (bcrypt htpasswd users and hashed bearer tokens,
// both read from files that are reloaded when they change), applies the
// authorisation rules of an access rules file, slows down guessing with a
// per-address budget of failed attempts, keeps one client from using up
// the upstreams' quotas (a request rate and a bound on its fills in
// flight, see [Guard.Admit]), and writes an audit trail of failures,
// denials and reads of private content.
//
// A [Guard] wraps the server's whole router. It knows nothing of the
// ecosystems behind it but what the server tells it for each request
// through a [Classifier]: the ecosystem (the route's label), the subject
// (module path, image repository, project or package) and whether the
// subject is private. Each ecosystem's clients get the challenge and the
// error format they understand ([Dialect]): a Basic challenge and plain
// text for the GOPROXY protocol, PyPI and file mirrors, the distribution
// spec's JSON errors for /v2/, the registry's JSON for npm. A new mirror
// gets all of this by adding a route and, when its names matter to the
// rules, exporting the parser of its own request paths, which the server
// wires into its classifier: this package knows no ecosystem's URLs and
// imports none.
//
// Credentials are only ever read from files, compared in constant time,
// and never logged.
package access
