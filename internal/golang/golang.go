// Package golang mirrors the Go release archives under /golang/, laid out
// as the Aliyun and USTC mirrors lay them out: the archives themselves
// (/golang/go1.22.0.linux-amd64.tar.gz, and .zip, .msi, .pkg and
// .src.tar.gz), each beside a /golang/<file>.sha256 as golang.org/dl
// fetches it, the index in go.dev's JSON format (/golang/?mode=json and
// /golang/?mode=json&include=all), and an HTML listing for people.
//
// The index is metadata with a TTL, served stale when the upstream is down.
// Every archive is checked against the index's sha256 and size before it is
// stored; a name that is not in the index is a 404.
package golang

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/gomirror/gomirror/internal/pull"
)

// Ecosystem is the label of the Go archive mirror's metrics and logs.
const Ecosystem = "golang"

// Prefix is the URL path the mirror serves under.
const Prefix = "/golang/"

// Defaults of the upstream settings.
const (
	DefaultIndexURL = "https://go.dev/dl/?mode=json&include=all"
	DefaultBaseURL  = "https://dl.google.com/go/"
)

// Store names.
const (
	indexName = "golang/index.json"
	filesDir  = "golang/dl/"
)

// IsImmutable reports whether name is the store name of a release archive,
// which never changes once published; the index does.
func IsImmutable(name string) bool {
	file, ok := strings.CutPrefix(name, filesDir)
	return ok && fileName.MatchString(file)
}

// maxIndexSize bounds the index accepted from upstream (go.dev's is about
// 1 MB with every release).
const maxIndexSize = 32 << 20

// maxArchiveSize bounds an archive (the largest are about 300 MB).
const maxArchiveSize = 4 << 30

// Config configures a Handler. Cache is required.
type Config struct {
	Cache *pull.Cache
	// IndexURL is the upstream index in go.dev's JSON format, with every
	// release. Empty means DefaultIndexURL.
	IndexURL string
	// BaseURL is where the archives are fetched from, by file name. Empty
	// means DefaultBaseURL.
	BaseURL string
	// TTL is how long the index is fresh. Zero means one minute.
	TTL time.Duration
	// Upstream sends the requests. Nil means a zero HTTPUpstream.
	Upstream *pull.HTTPUpstream
	// Logger receives internal errors. Nil discards them.
	Logger *slog.Logger
}

// Handler serves the Go archive mirror. It is safe for concurrent use.
type Handler struct {
	cfg Config
	log *slog.Logger
}

// New returns a Handler for cfg, or an error naming a bad setting.
func New(cfg Config) (*Handler, error) {
	if cfg.Cache == nil {
		return nil, errors.New("golang: no cache")
	}
	if cfg.IndexURL == "" {
		cfg.IndexURL = DefaultIndexURL
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	cfg.BaseURL = pull.RootURL(cfg.BaseURL)
	for _, u := range []struct{ key, val string }{{"golang-index", cfg.IndexURL}, {"golang-base", cfg.BaseURL}} {
		if err := CheckURL(u.val); err != nil {
			return nil, fmt.Errorf("%s: %w", u.key, err)
		}
	}
	if cfg.TTL <= 0 {
		cfg.TTL = time.Minute
	}
	if cfg.Upstream == nil {
		cfg.Upstream = &pull.HTTPUpstream{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, log: log}, nil
}

// CheckURL reports whether raw is an absolute http or https URL.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http(s) URL", raw)
	}
	return nil
}

// Release is one Go release in go.dev's index.
type Release struct {
	// Version is the release name, such as "go1.22.0".
	Version string `json:"version"`
	// Stable reports whether the release is a stable one, not a beta or
	// release candidate.
	Stable bool `json:"stable"`
	// Files are the release's downloads.
	Files []File `json:"files"`
}

// File is one download of a release.
type File struct {
	// Filename is the file's name under /golang/, such as
	// "go1.22.0.linux-amd64.tar.gz".
	Filename string `json:"filename"`
	// OS and Arch name the platform; both are empty for the source
	// archive. Arch is "armv6l" for linux/arm.
	OS   string `json:"os"`
	Arch string `json:"arch"`
	// Version is the release name.
	Version string `json:"version"`
	// SHA256 is the file's hex SHA-256.
	SHA256 string `json:"sha256"`
	// Size is the file's size in bytes.
	Size int64 `json:"size"`
	// Kind is "archive", "installer" or "source".
	Kind string `json:"kind"`
}

// fileName matches the names of release files: go1.22.0.linux-amd64.tar.gz,
// go1.21rc2.windows-386.msi, go1.22.0.src.tar.gz.
var fileName = regexp.MustCompile(`^go[0-9]+(\.[0-9]+){0,2}((rc|beta)[0-9]+)?\.(src|[a-z0-9]+-[a-z0-9]+)\.(tar\.gz|zip|msi|pkg)$`)

// ParseIndex parses and checks an index in go.dev's JSON format.
func ParseIndex(data []byte) ([]Release, error) {
	var rels []Release
	if err := json.Unmarshal(data, &rels); err != nil {
		return nil, fmt.Errorf("release index: %w", err)
	}
	for _, r := range rels {
		if !strings.HasPrefix(r.Version, "go") {
			return nil, fmt.Errorf("release index: bad version %q", r.Version)
		}
		for _, f := range r.Files {
			if !fileName.MatchString(f.Filename) {
				return nil, fmt.Errorf("release index: %s: bad file name %q", r.Version, f.Filename)
			}
			if sum, err := hex.DecodeString(f.SHA256); err != nil || len(sum) != 32 {
				return nil, fmt.Errorf("release index: %s: bad sha256 %q", f.Filename, f.SHA256)
			}
			if f.Size < 0 {
				return nil, fmt.Errorf("release index: %s: bad size %d", f.Filename, f.Size)
			}
		}
	}
	return rels, nil
}

func (h *Handler) indexArtifact() *pull.Artifact {
	return &pull.Artifact{
		Ecosystem:   Ecosystem,
		Kind:        "index",
		Name:        indexName,
		ContentType: "application/json",
		TTL:         h.cfg.TTL,
		MaxSize:     maxIndexSize,
		Fetch: func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
			return h.cfg.Upstream.Get(ctx, h.cfg.IndexURL, nil)
		},
		Check: func(_ context.Context, f *os.File) error {
			data, err := io.ReadAll(f)
			if err != nil {
				return err
			}
			_, err = ParseIndex(data)
			return err
		},
	}
}

// index returns the release index, refreshed when past its TTL and stale
// when the upstream fails.
func (h *Handler) index(ctx context.Context) ([]Release, *pull.Entry, error) {
	e, err := h.cfg.Cache.Open(ctx, h.indexArtifact())
	if err != nil {
		return nil, nil, err
	}
	defer e.Body.Close()
	data, err := io.ReadAll(io.LimitReader(e.Body, maxIndexSize))
	if err != nil {
		return nil, nil, fmt.Errorf("reading the release index: %w", err)
	}
	rels, err := ParseIndex(data)
	if err != nil {
		return nil, nil, err
	}
	return rels, e, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ks, _ := w.(interface{ SetKind(string) })
	setKind := func(k string) {
		if ks != nil {
			ks.SetKind(k)
		}
	}
	name, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		if r.URL.Path+"/" == Prefix {
			http.Redirect(w, r, Prefix+queryOf(r), http.StatusMovedPermanently)
			return
		}
		name = "\x00"
	}
	switch {
	case name == "":
		setKind("index")
		h.serveIndex(w, r)
	case strings.HasSuffix(name, ".sha256") && fileName.MatchString(strings.TrimSuffix(name, ".sha256")):
		setKind("sha256")
		h.serveSHA256(w, r, strings.TrimSuffix(name, ".sha256"))
	case fileName.MatchString(name):
		setKind("archive")
		h.serveFile(w, r, name)
	default:
		setKind("invalid")
		h.writeError(w, r, fmt.Errorf("%w: %q is not the name of a Go release file (go<version>.<os>-<arch>.tar.gz, .zip, .msi, .pkg, or go<version>.src.tar.gz)",
			pull.ErrBadRequest, pull.OneLine(name)))
	}
}

func queryOf(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return "?" + r.URL.RawQuery
}

// lookup finds a file in the index.
func lookup(rels []Release, name string) (File, bool) {
	for _, r := range rels {
		for _, f := range r.Files {
			if f.Filename == name {
				return f, true
			}
		}
	}
	return File{}, false
}

// indexed returns the index entry of the release file name, and the
// index it was read from.
func (h *Handler) indexed(ctx context.Context, name string) (File, *pull.Entry, error) {
	rels, e, err := h.index(ctx)
	if err != nil {
		return File{}, nil, err
	}
	f, ok := lookup(rels, name)
	if !ok {
		return File{}, nil, pull.NotFound("not found: " + name + " is not in the release index")
	}
	return f, e, nil
}

func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	f, _, err := h.indexed(r.Context(), name)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	sum, _ := hex.DecodeString(f.SHA256) // Checked by ParseIndex.
	a := &pull.Artifact{
		Ecosystem:   Ecosystem,
		Kind:        "archive",
		Name:        filesDir + name,
		ContentType: contentType(name),
		MaxSize:     maxArchiveSize,
		Want:        &pull.Digest{Algorithm: "sha256", Sum: sum, Size: f.Size, Source: "the release index"},
		Fetch: func(ctx context.Context, _ io.Reader) (io.ReadCloser, error) {
			return h.cfg.Upstream.Get(ctx, h.cfg.BaseURL+name, nil)
		},
	}
	if f.Size == 0 {
		a.Want.Size = -1 // Older index entries carry no size.
	}
	if err := h.cfg.Cache.Serve(w, r, a); err != nil {
		h.writeError(w, r, err)
	}
}

func contentType(name string) string {
	switch {
	case strings.HasSuffix(name, ".tar.gz"):
		return "application/gzip"
	case strings.HasSuffix(name, ".zip"):
		return "application/zip"
	default:
		return "application/octet-stream"
	}
}

// serveSHA256 answers a file's hex SHA-256 from the index, as
// dl.google.com does for golang.org/dl.
func (h *Handler) serveSHA256(w http.ResponseWriter, r *http.Request, name string) {
	f, e, err := h.indexed(r.Context(), name)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	cc := pull.ImmutableCacheControl
	if e.Stale {
		pull.MarkStale(w)
	}
	pull.ServeBytes(w, r, "text/plain; charset=utf-8", []byte(f.SHA256), e.ModTime, cc)
}

// serveIndex answers the JSON index (?mode=json, with include=all for every
// release) or the HTML listing.
func (h *Handler) serveIndex(w http.ResponseWriter, r *http.Request) {
	rels, e, err := h.index(r.Context())
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	cc := pull.MetadataCacheControl(h.cfg.TTL)
	if e.Stale {
		pull.MarkStale(w)
		cc = "no-cache"
	}
	w.Header().Set("Vary", "Accept")
	if q.Get("mode") == "json" {
		if q.Get("include") != "all" {
			rels = Supported(rels)
		}
		data, err := json.MarshalIndent(rels, "", " ")
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		pull.ServeBytes(w, r, "application/json", append(data, '\n'), e.ModTime, cc)
		return
	}
	var b strings.Builder
	if err := listing.Execute(&b, listingData{Releases: rels}); err != nil {
		h.writeError(w, r, err)
		return
	}
	pull.ServeBytes(w, r, "text/html; charset=utf-8", []byte(b.String()), e.ModTime, cc)
}

// Supported returns what go.dev's ?mode=json lists without include=all:
// the newest stable release of each of the two newest stable minor
// versions.
func Supported(rels []Release) []Release {
	var out []Release
	seen := map[string]bool{}
	for _, r := range rels { // go.dev lists the newest first.
		if !r.Stable {
			continue
		}
		minor := minorOf(r.Version)
		if seen[minor] {
			continue
		}
		seen[minor] = true
		out = append(out, r)
		if len(out) == 2 {
			break
		}
	}
	if out == nil {
		out = []Release{}
	}
	return out
}

// minorOf returns "go1.22" for "go1.22.3".
func minorOf(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

type listingData struct{ Releases []Release }

var listing = template.Must(template.New("listing").Funcs(template.FuncMap{
	"mib": func(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Go releases — gomirror</title>
<style>body{font-family:system-ui,sans-serif;margin:1rem;max-width:60rem}table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:.2rem .5rem;border-bottom:1px solid #ddd}code{font-size:.8rem;word-break:break-all}</style>
</head><body>
<h1>Go releases</h1>
<p>Every file is checked against the SHA-256 of the release index before it is stored. Each file <code>F</code> has its hash at <code>F.sha256</code>; the index is at <a href="?mode=json&amp;include=all">?mode=json&amp;include=all</a>.</p>
{{range .Releases}}<h2 id="{{.Version}}">{{.Version}}{{if not .Stable}} (unstable){{end}}</h2>
<table><tr><th>File</th><th>OS</th><th>Arch</th><th>Kind</th><th>Size</th><th>SHA-256</th></tr>
{{range .Files}}<tr><td><a href="{{.Filename}}">{{.Filename}}</a></td><td>{{.OS}}</td><td>{{.Arch}}</td><td>{{.Kind}}</td><td>{{mib .Size}}</td><td><code>{{.SHA256}}</code></td></tr>
{{end}}</table>
{{end}}</body></html>
`))

// writeError answers with err's status and a one-line plain-text reason.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := pull.Status(err)
	if code == http.StatusInternalServerError {
		h.log.ErrorContext(r.Context(), "serving", "path", r.URL.Path, "err", err)
	}
	pull.WriteText(w, code, pull.Reason(err))
}
