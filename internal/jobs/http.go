package jobs

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"
)

// Handler returns the operations endpoints of the runner, to be mounted
// at /-/jobs and /-/jobs/ on an operator-only listener or behind access
// control:
//
//	GET  /-/jobs            every job's status, as a JSON array of Status
//	GET  /-/jobs/NAME       one job's status
//	POST /-/jobs/NAME/run   run NAME now (or join its run under way):
//	                        202 and its status; with ?wait=1, 200 and a
//	                        stream of JSON lines, {"progress":...} every
//	                        half second and {"done":true,"status":...}
//	                        when the run ends
//
// Errors are JSON objects {"error": "one line"} with a 4xx status. A run
// started here goes on when the client hangs up.
func (r *Runner) Handler() http.Handler {
	return http.HandlerFunc(r.serveOps)
}

// progressEvery is how often a waiting client is told the progress.
const progressEvery = 500 * time.Millisecond

// ProgressLine is one line of the stream of POST /-/jobs/NAME/run?wait=1.
type ProgressLine struct {
	Progress *Progress `json:"progress,omitempty"`
	Done     bool      `json:"done,omitempty"`
	Status   *Status   `json:"status,omitempty"`
}

func (r *Runner) serveOps(w http.ResponseWriter, req *http.Request) {
	rest, ok := strings.CutPrefix(req.URL.Path, "/-/jobs")
	if !ok {
		opsError(w, http.StatusNotFound, "not found")
		return
	}
	rest = strings.Trim(rest, "/")
	switch {
	case rest == "":
		if !allow(w, req, http.MethodGet, http.MethodHead) {
			return
		}
		writeJSON(w, http.StatusOK, r.Jobs())
	case !strings.Contains(rest, "/"):
		if !allow(w, req, http.MethodGet, http.MethodHead) {
			return
		}
		st, ok := r.Job(rest)
		if !ok {
			opsError(w, http.StatusNotFound, "unknown job "+quote(rest))
			return
		}
		writeJSON(w, http.StatusOK, st)
	case strings.HasSuffix(rest, "/run") && strings.Count(rest, "/") == 1:
		if !allow(w, req, http.MethodPost) {
			return
		}
		r.serveRun(w, req, strings.TrimSuffix(rest, "/run"))
	default:
		opsError(w, http.StatusNotFound, "not found")
	}
}

func (r *Runner) serveRun(w http.ResponseWriter, req *http.Request, name string) {
	done, err := r.Trigger(r.baseContext(), name)
	if errors.Is(err, ErrUnknownJob) {
		opsError(w, http.StatusNotFound, "unknown job "+quote(name))
		return
	}
	if err != nil {
		opsError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	if req.URL.Query().Get("wait") == "" {
		st, _ := r.Job(name)
		writeJSON(w, http.StatusAccepted, st)
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.WriteHeader(http.StatusOK)
	enc := json.NewEncoder(w)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	for {
		select {
		case <-done:
			st, _ := r.Job(name)
			_ = enc.Encode(ProgressLine{Done: true, Status: &st})
			return
		case <-req.Context().Done():
			return
		case <-tick.C:
			st, _ := r.Job(name)
			p := st.Progress
			if p == nil {
				p = &Progress{}
			}
			if enc.Encode(ProgressLine{Progress: p}) != nil {
				return
			}
			flush()
		}
	}
}

// allow answers 405 unless req's method is one of methods.
func allow(w http.ResponseWriter, req *http.Request, methods ...string) bool {
	for _, m := range methods {
		if req.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	opsError(w, http.StatusMethodNotAllowed, "method "+req.Method+" not allowed")
	return false
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func opsError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
