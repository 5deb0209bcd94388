package access

import (
	"net/http"

	"github.com/gomirror/gomirror/internal/pull"
)

// Realm is the realm of gomirror's Basic challenges.
const Realm = "gomirror"

// challenge is the WWW-Authenticate value every protocol gets: the go
// command, pip, npm (which then sends its _authToken as a bearer token),
// and the container clients, which after `docker login`, `podman login`
// or `skopeo --creds` answer a Basic challenge with their credentials, as
// they do for distribution's htpasswd mode.
const challenge = `Basic realm="` + Realm + `", charset="UTF-8"`

// ErrorWriter answers a request with status code and a one-line reason in
// an ecosystem's own error format, as that ecosystem's package writes it
// (oci.WriteError, npm.WriteError). The guard has set any
// WWW-Authenticate or Retry-After header before it is called.
type ErrorWriter func(w http.ResponseWriter, r *http.Request, code int, reason string)

// writeError answers code with a one-line reason in the error format of
// the ecosystem's clients: the ecosystem's ErrorWriter, else plain text
// (the GOPROXY protocol, PyPI, file mirrors). A 401 carries the challenge.
func (g *Guard) writeError(w http.ResponseWriter, r *http.Request, ecosystem string, code int, reason string) {
	reason = pull.OneLine(reason)
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", challenge)
	}
	if write := g.cfg.Errors[ecosystem]; write != nil {
		write(w, r, code, reason)
		return
	}
	pull.WriteText(w, code, reason)
}
