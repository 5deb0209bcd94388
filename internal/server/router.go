package server

import (
	"net/http"
	"strings"

	"github.com/gomirror/gomirror/internal/goproxy"
	"github.com/gomirror/gomirror/internal/pull"
)

// route gives a path prefix to one ecosystem's handler.
type route struct {
	prefix    string // such as "/golang/"; matched as a string
	ecosystem string // metrics label
	handler   http.Handler
	// methods other than GET and HEAD that the handler answers itself,
	// in its protocol's error format.
	methods []string
	// anyMethod hands every method to the handler, whose protocol has its
	// own answer to a push or a delete.
	anyMethod bool
	// subject is the ecosystem's parser of its request paths, which
	// names the subject access control judges (name "" for none, ok
	// false for a path the handler refuses); nil means its requests name
	// none.
	subject func(r *http.Request) (name string, ok bool)
	// private reports whether a subject is fetched with credentials,
	// and so served only to those a rule naming it allows; nil means
	// nothing is.
	private func(name string) bool
}

// router dispatches a request by its path: the operations endpoints, then
// each ecosystem's prefix, and everything else to the GOPROXY protocol,
// whose module paths begin with an element that holds a dot and so never
// clash with a prefix. It dispatches before any ServeMux sees a path: a
// mux would clean dot segments with a redirect, and those must get a 400.
type router struct {
	routes  []route
	ops     http.Handler
	station *stationParts // nil in tests that build no station
	goproxy http.Handler
}

// hasPrivate reports whether some route serves private content.
func (rt *router) hasPrivate() bool {
	for _, r := range rt.routes {
		if r.private != nil {
			return true
		}
	}
	return false
}

func isOps(p string) bool {
	return p == "/healthz" || p == "/readyz" || p == "/metrics"
}

// find returns the route for path p, or nil for the GOPROXY protocol.
func (rt *router) find(p string) *route {
	for i := range rt.routes {
		r := &rt.routes[i]
		if strings.HasPrefix(p, r.prefix) || isPrefixDir(p, r.prefix) {
			return r
		}
	}
	return nil
}

// isPrefixDir reports whether p is prefix without its final slash, as
// p+"/" == prefix would, without building a string per request.
func isPrefixDir(p, prefix string) bool {
	return len(p)+1 == len(prefix) && prefix[len(p)] == '/' && strings.HasPrefix(prefix, p)
}

func (rt *router) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if isOps(p) {
		if !getOrHead(w, r, nil) {
			return
		}
		rt.ops.ServeHTTP(w, r)
		return
	}
	if h := rt.stationHandler(p); h != nil {
		var extra []string
		if strings.HasPrefix(p, "/-/") {
			extra = []string{http.MethodPost}
		}
		if !getOrHead(w, r, extra) {
			return
		}
		h.ServeHTTP(w, r)
		return
	}
	if ro := rt.find(p); ro != nil {
		if !ro.anyMethod && !getOrHead(w, r, ro.methods) {
			return
		}
		ro.handler.ServeHTTP(w, r)
		return
	}
	if !getOrHead(w, r, nil) {
		return
	}
	rt.goproxy.ServeHTTP(w, r)
}

func (rt *router) stationHandler(p string) http.Handler {
	if rt.station == nil {
		return nil
	}
	return rt.station.handlerFor(p)
}

func (rt *router) ecosystem(r *http.Request) string {
	p := r.URL.Path
	switch ro := rt.find(p); {
	case isOps(p):
		return "ops"
	case rt.stationHandler(p) != nil:
		return "station"
	case ro != nil:
		return ro.ecosystem
	default:
		return goproxy.Ecosystem
	}
}

func (rt *router) kind(r *http.Request) string {
	p := r.URL.Path
	switch {
	case isOps(p):
		return strings.TrimPrefix(p, "/")
	case rt.stationHandler(p) != nil:
		return "page"
	case rt.find(p) != nil:
		return "other"
	default:
		return goproxy.Kind(r.URL.EscapedPath())
	}
}

// getOrHead answers a method other than GET, HEAD and extra with a 405
// and reports false.
func getOrHead(w http.ResponseWriter, r *http.Request, extra []string) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	for _, m := range extra {
		if r.Method == m {
			return true
		}
	}
	allow := strings.Join(append([]string{"GET", "HEAD"}, extra...), ", ")
	w.Header().Set("Allow", allow)
	goproxy.WriteError(w, http.StatusMethodNotAllowed, pull.OneLine("method "+r.Method+" not allowed: use "+allow))
	return false
}
