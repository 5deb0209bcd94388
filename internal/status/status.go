// Package status serves the station's front page: every mirror with its
// state, last sync, next run, size and upstream; a help page per mirror
// with copy-paste setup naming this station's URL; and the same data as
// JSON. Pages are rendered on the server with html/template and work
// without JavaScript, on phones as on desktops. The data comes from a
// station.Source, so this package knows no ecosystem.
package status

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gomirror/gomirror/internal/feed"
	"github.com/gomirror/gomirror/internal/station"
)

//go:embed templates/*.html
var templateFS embed.FS

// Options configure the status pages.
type Options struct {
	// PublicURL is the station's URL as users reach it, used in the
	// copy-paste setup. Empty takes it from each request (scheme and
	// Host).
	PublicURL string
	// Title heads every page. Empty means "gomirror".
	Title string
	// Logger receives template errors. Nil discards.
	Logger *slog.Logger
	// Now tells the time, for "5 minutes ago". Nil means time.Now.
	Now func() time.Time
}

// Handler serves the status pages. It is safe for concurrent use.
type Handler struct {
	src  station.Source
	opts Options
	tmpl *template.Template
}

// New returns the status pages of src's mirrors:
//
//	GET /                   the status page (/?format=json: the JSON view)
//	GET /status.json        the JSON view
//	GET /help/              the list of help pages
//	GET /help/ID            how to use mirror ID (go, sumdb, golang, vuln,
//	                        oci, pypi, npm)
//
// Any other path is a 404 page. The server mounts it on exactly these
// paths ("/" only for the root itself: module paths go to the GOPROXY
// handler).
func New(src station.Source, opts Options) *Handler {
	if opts.Title == "" {
		opts.Title = "gomirror"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{src: src, opts: opts}
	h.tmpl = template.Must(template.New("").Funcs(template.FuncMap{
		"when":      h.when,
		"ago":       h.ago,
		"until":     h.until,
		"stateText": stateText,
		"size":      feed.HumanSize,
	}).ParseFS(templateFS, "templates/*.html"))
	return h
}

// JSON is the JSON view of the status page.
type JSON struct {
	URL       string           `json:"url"`
	Generated time.Time        `json:"generated"`
	Mirrors   []station.Mirror `json:"mirrors"`
}

// page is what every template gets.
type page struct {
	Title     string
	PageTitle string // before Title in the window's title; empty on the front page
	Refresh   bool   // reload every minute
	Base      string
	Mirrors   []station.Mirror
	Help      helpPage
	Helps     []helpPage
	Message   string
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method "+r.Method+" not allowed", http.StatusMethodNotAllowed)
		return
	}
	base := station.BaseURL(r, h.opts.PublicURL)
	p := page{Title: h.opts.Title, Base: base}
	switch path := r.URL.Path; {
	case path == "/status.json" || (path == "/" && r.URL.Query().Get("format") == "json"):
		h.serveJSON(w, r, base)
	case path == "/":
		p.Mirrors = h.src.Mirrors(r.Context())
		p.Refresh = true
		h.render(w, http.StatusOK, "index.html", p)
	case path == "/help" || path == "/help/":
		for _, m := range h.src.Mirrors(r.Context()) {
			if hp, ok := help(m.ID, base); ok {
				hp.Name = m.Name
				p.Helps = append(p.Helps, hp)
			}
		}
		p.PageTitle = "Help"
		h.render(w, http.StatusOK, "helps.html", p)
	case strings.HasPrefix(path, "/help/"):
		id := strings.TrimSuffix(strings.TrimPrefix(path, "/help/"), "/")
		hp, ok := help(id, base)
		if !ok || !h.serves(r, id) {
			p.PageTitle = "Not found"
			p.Message = "There is no help page called " + id + "."
			h.render(w, http.StatusNotFound, "notfound.html", p)
			return
		}
		p.Help = hp
		p.PageTitle = hp.Name
		h.render(w, http.StatusOK, "help.html", p)
	default:
		p.PageTitle = "Not found"
		p.Message = "Nothing is served at " + path + "."
		h.render(w, http.StatusNotFound, "notfound.html", p)
	}
}

// serves reports whether the station has mirror id.
func (h *Handler) serves(r *http.Request, id string) bool {
	for _, m := range h.src.Mirrors(r.Context()) {
		if m.ID == id {
			return true
		}
	}
	return false
}

func (h *Handler) serveJSON(w http.ResponseWriter, r *http.Request, base string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(JSON{URL: base, Generated: h.opts.Now().UTC(), Mirrors: h.src.Mirrors(r.Context())})
}

func (h *Handler) render(w http.ResponseWriter, code int, name string, p page) {
	var b strings.Builder
	if err := h.tmpl.ExecuteTemplate(&b, name, p); err != nil {
		h.opts.Logger.Error("status page not rendered", "page", name, "err", err)
		http.Error(w, "status page unavailable", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = w.Write([]byte(b.String()))
}

// when writes a time for people, or "never".
func (h *Handler) when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// ago writes how long ago (or in how long) t is: "5 minutes ago", "in 2
// hours".
func (h *Handler) ago(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	d := h.opts.Now().Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		if future {
			return "within a minute"
		}
		return "just now"
	case d < time.Hour:
		s = plural(int(d/time.Minute), "minute")
	case d < 48*time.Hour:
		s = plural(int(d/time.Hour), "hour")
	default:
		s = plural(int(d/(24*time.Hour)), "day")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}

// until writes when a next run is due: "in 2 hours", or "due now" once
// its time has come.
func (h *Handler) until(t time.Time) string {
	if !t.After(h.opts.Now()) {
		return "due now"
	}
	return h.ago(t)
}

// stateText names a state for people.
func stateText(s station.State) string {
	switch s {
	case station.Cache:
		return "On demand"
	case station.Pending:
		return "Pending"
	case station.Syncing:
		return "Syncing"
	case station.Success:
		return "Synced"
	case station.Partial:
		return "Partly synced"
	case station.Failed:
		return "Failed"
	}
	return "Unknown"
}
