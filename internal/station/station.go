// Package station describes the mirrors gomirror serves and the state of
// each (its sync jobs' outcome, its size in the store), in one form that
// the status page and the status feeds (tunasync's /jobs, mirrorz.json)
// render. It knows no ecosystem's protocol.
package station

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gomirror/gomirror/internal/jobs"
	"github.com/gomirror/gomirror/internal/redact"
)

// State sums up a mirror's sync jobs.
type State string

// States of a mirror.
const (
	// Cache: the mirror has no sync job; it fills on demand.
	Cache State = "cache"
	// Pending: its jobs have not run yet.
	Pending State = "pending"
	// Syncing: one of its jobs runs now.
	Syncing State = "syncing"
	// Success: the last run of every job succeeded.
	Success State = "success"
	// Partial: a job's last run fetched part of its list.
	Partial State = "partial"
	// Failed: a job's last run failed.
	Failed State = "failed"
)

// Mirror is one mirror of the station and its state.
type Mirror struct {
	// ID names the mirror in URLs (/help/ID): go, sumdb, golang, vuln,
	// oci, pypi, npm.
	ID string `json:"id"`
	// Name is the mirror's title, such as "Go modules".
	Name string `json:"name"`
	// Description says in a sentence what the mirror serves.
	Description string `json:"description"`
	// Path is where the mirror is served on this station: "/",
	// "/sumdb/", "/golang/", ...
	Path string `json:"path"`
	// Upstream is where the mirror fetches from.
	Upstream string `json:"upstream"`
	// CName is the mirror's name in mirrorz.json.
	CName string `json:"cname"`
	// Size is the bytes the mirror holds in the store, as last measured
	// at SizeMeasured; SizeKnown is false before the first measurement.
	Size         int64     `json:"size"`
	SizeKnown    bool      `json:"size_known"`
	SizeMeasured time.Time `json:"size_measured,omitzero"`
	// Sync is the state of the mirror's sync jobs.
	Sync Sync `json:"sync"`
}

// Sync sums up the jobs of one mirror.
type Sync struct {
	State State `json:"state"`
	// Jobs names the mirror's jobs.
	Jobs []string `json:"jobs,omitempty"`
	// LastStarted and LastEnded are the latest start and end of any of
	// its jobs; LastSuccess is the oldest of its jobs' last successes
	// (zero if one never succeeded): everything was fresh then.
	LastStarted time.Time `json:"last_started,omitzero"`
	LastEnded   time.Time `json:"last_ended,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	// NextRun is the earliest next run of its jobs.
	NextRun time.Time `json:"next_run,omitzero"`
	// Error is why the mirror is not Success, naming the job.
	Error string `json:"error,omitempty"`
}

// Source lists the station's mirrors with their state. The server
// implements it, usually with a [Catalog].
type Source interface {
	Mirrors(ctx context.Context) []Mirror
}

// Info is what the server tells of one mirror it serves. Fields left
// empty take the default of the ID, for the seven mirrors gomirror knows.
type Info struct {
	ID          string
	Name        string
	Description string
	Path        string
	Upstream    string
	CName       string
}

// Known returns the defaults for the mirror called id, and whether id is
// one gomirror knows.
func Known(id string) (Info, bool) {
	i := slices.IndexFunc(known, func(k Info) bool { return k.ID == id })
	if i < 0 {
		return Info{ID: id, Name: id, Path: "/" + id + "/", CName: id}, false
	}
	return known[i], true
}

// KnownIDs returns the IDs of the mirrors gomirror knows, in the order the
// status page shows them.
func KnownIDs() []string {
	ids := make([]string, len(known))
	for i, k := range known {
		ids[i] = k.ID
	}
	return ids
}

var known = []Info{
	{ID: "go", Name: "Go modules", Description: "Go module proxy (GOPROXY protocol), every file verified against the checksum database", Path: "/", Upstream: "https://proxy.golang.org", CName: "goproxy"},
	{ID: "sumdb", Name: "Checksum database", Description: "Proxy of the Go checksum database (GOSUMDB)", Path: "/sumdb/", Upstream: "https://sum.golang.org", CName: "gosumdb"},
	{ID: "golang", Name: "Go archives", Description: "Go release archives and installers, as listed on go.dev/dl", Path: "/golang/", Upstream: "https://go.dev/dl/", CName: "golang"},
	{ID: "vuln", Name: "Vulnerability database", Description: "The Go vulnerability database, for govulncheck", Path: "/vuln/", Upstream: "https://vuln.go.dev", CName: "govulndb"},
	{ID: "oci", Name: "OCI images", Description: "Container image registry mirror (Docker Hub and other registries)", Path: "/v2/", Upstream: "https://registry-1.docker.io", CName: "dockerhub"},
	{ID: "pypi", Name: "PyPI", Description: "Python package index (simple API, PEP 691)", Path: "/pypi/simple/", Upstream: "https://pypi.org", CName: "pypi"},
	{ID: "npm", Name: "npm", Description: "npm registry", Path: "/npm/", Upstream: "https://registry.npmjs.org", CName: "npm"},
	{ID: "maven", Name: "Maven", Description: "Maven repository (Maven Central and private repositories), every file checked against its repository's checksum", Path: "/maven2/", Upstream: "https://repo.maven.apache.org/maven2/", CName: "maven"},
	{ID: "cargo", Name: "crates.io", Description: "Rust crates: the crates.io sparse index and .crate downloads, each checked against the index", Path: "/cargo/", Upstream: "https://index.crates.io", CName: "crates.io-index"},
}

// withDefaults fills the empty fields of i from Known.
func (i Info) withDefaults() Info {
	k, _ := Known(i.ID)
	set := func(v *string, def string) {
		if *v == "" {
			*v = def
		}
	}
	set(&i.Name, k.Name)
	set(&i.Description, k.Description)
	set(&i.Path, k.Path)
	set(&i.Upstream, k.Upstream)
	// Pages and feeds are public: no credential of an upstream's URL
	// reaches them.
	i.Upstream = redact.String(i.Upstream)
	set(&i.CName, k.CName)
	return i
}

// JobLister lists sync jobs; *jobs.Runner implements it.
type JobLister interface {
	Jobs() []jobs.Status
}

// Sizer tells the measured size of a mirror; *usage.Meter implements it.
type Sizer interface {
	Size(id string) (bytes int64, measured time.Time, ok bool)
}

// Catalog is a [Source] made of the server's list of mirrors, its job
// runner and its size meter. It is safe for concurrent use.
type Catalog struct {
	infos []Info
	jobs  JobLister
	sizes Sizer
}

var _ Source = (*Catalog)(nil)

// NewCatalog returns a Catalog of the mirrors infos, in that order. jobs
// and sizes may be nil: mirrors then have no jobs (state Cache) or no
// known size.
func NewCatalog(infos []Info, jobs JobLister, sizes Sizer) *Catalog {
	c := &Catalog{jobs: jobs, sizes: sizes}
	for _, i := range infos {
		c.infos = append(c.infos, i.withDefaults())
	}
	return c
}

// Mirrors returns every mirror with its state now.
func (c *Catalog) Mirrors(ctx context.Context) []Mirror {
	var all []jobs.Status
	if c.jobs != nil {
		all = c.jobs.Jobs()
	}
	out := make([]Mirror, 0, len(c.infos))
	for _, i := range c.infos {
		m := Mirror{ID: i.ID, Name: i.Name, Description: i.Description, Path: i.Path, Upstream: i.Upstream, CName: i.CName}
		if c.sizes != nil {
			m.Size, m.SizeMeasured, m.SizeKnown = c.sizes.Size(i.ID)
		}
		var mine []jobs.Status
		for _, j := range all {
			if j.Mirror == i.ID {
				mine = append(mine, j)
			}
		}
		m.Sync = Summarize(mine)
		out = append(out, m)
	}
	return out
}

// Summarize sums up the jobs of one mirror. A run done by another replica
// (Elsewhere) counts as a success: a replica reports a run done only when
// it did not fail.
func Summarize(js []jobs.Status) Sync {
	if len(js) == 0 {
		return Sync{State: Cache}
	}
	s := Sync{State: Success}
	allSucceeded := true
	rank := map[State]int{Success: 0, Pending: 1, Partial: 2, Failed: 3, Syncing: 4}
	worse := func(st State, why string) {
		if rank[st] > rank[s.State] {
			s.State = st
			s.Error = why
		}
	}
	for _, j := range js {
		s.Jobs = append(s.Jobs, j.Name)
		if j.LastStart.After(s.LastStarted) {
			s.LastStarted = j.LastStart
		}
		if j.LastEnd.After(s.LastEnded) {
			s.LastEnded = j.LastEnd
		}
		if !j.NextRun.IsZero() && (s.NextRun.IsZero() || j.NextRun.Before(s.NextRun)) {
			s.NextRun = j.NextRun
		}
		success := j.LastSuccess
		if j.Elsewhere && j.LastEnd.After(success) {
			success = j.LastEnd
		}
		if success.IsZero() {
			allSucceeded = false
		} else if s.LastSuccess.IsZero() || success.Before(s.LastSuccess) {
			s.LastSuccess = success
		}
		switch {
		case j.Running:
			worse(Syncing, "")
		case j.Elsewhere:
		case j.Result == jobs.Failed:
			worse(Failed, fmt.Sprintf("%s: %s", j.Name, j.Error))
		case j.Result == jobs.Partial:
			worse(Partial, fmt.Sprintf("%s: %s", j.Name, j.Error))
		case j.Result == "":
			worse(Pending, "")
		}
	}
	if !allSucceeded {
		s.LastSuccess = time.Time{}
	}
	return s
}

// BaseURL returns the URL the station is reached at, without a trailing
// slash: public when set, else the scheme and Host of r (https when r came
// over TLS or through a proxy that says X-Forwarded-Proto: https).
func BaseURL(r *http.Request, public string) string {
	if public != "" {
		return strings.TrimRight(public, "/")
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	host := r.Host
	if !validHost(host) {
		host = "localhost"
	}
	return scheme + "://" + host
}

// validHost reports whether h is a plain host or host:port, safe to put
// in a URL shown to users.
func validHost(h string) bool {
	if h == "" || len(h) > 255 {
		return false
	}
	host := h
	if hh, port, err := net.SplitHostPort(h); err == nil {
		if port == "" || strings.Trim(port, "0123456789") != "" {
			return false
		}
		host = hh
		if strings.HasPrefix(h, "[") {
			return net.ParseIP(host) != nil // a bracketed IPv6 address
		}
	}
	if host == "" || strings.Trim(strings.ToLower(host), "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" {
		return false
	}
	u, err := url.Parse("http://" + h)
	return err == nil && u.Host == h
}
