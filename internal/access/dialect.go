package access

import (
	"encoding/json"
	"net/http"
	"strconv"

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

// writeError answers code with a one-line reason in the error format of
// the ecosystem's clients: the distribution spec's JSON errors for oci,
// the registry's {"error": ...} for npm, plain text for everything else
// (the GOPROXY protocol, PyPI, file mirrors). A 401 carries the challenge.
func writeError(w http.ResponseWriter, r *http.Request, ecosystem string, code int, reason string) {
	reason = pull.OneLine(reason)
	hdr := w.Header()
	if code == http.StatusUnauthorized {
		hdr.Set("WWW-Authenticate", challenge)
	}
	switch ecosystem {
	case "oci":
		hdr.Set("Docker-Distribution-API-Version", "registry/2.0")
		body, _ := json.Marshal(map[string]any{"errors": []map[string]any{{"code": ociCode(code), "message": reason, "detail": nil}}})
		writeJSON(w, r, code, body)
	case "npm":
		body, _ := json.Marshal(map[string]string{"error": reason})
		writeJSON(w, r, code, body)
	default:
		pull.WriteText(w, code, reason)
	}
}

func writeJSON(w http.ResponseWriter, r *http.Request, code int, body []byte) {
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Length", strconv.Itoa(len(body)+1))
	w.WriteHeader(code)
	if r.Method != http.MethodHead {
		w.Write(append(body, '\n'))
	}
}

// ociCode is the distribution spec's error code for a status.
func ociCode(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "UNAUTHORIZED"
	case http.StatusTooManyRequests:
		return "TOOMANYREQUESTS"
	case http.StatusNotFound:
		return "NAME_UNKNOWN"
	default:
		return "DENIED"
	}
}
