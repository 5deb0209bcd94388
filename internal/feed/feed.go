// Package feed renders the station's state in the formats mirror sites
// already consume: tunasync's /jobs list and mirrorz.json (format v1.7).
package feed

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gomirror/gomirror/internal/station"
)

// TunasyncJob is one element of tunasync's /jobs list (its manager's
// WebMirrorStatus): times twice, as "2006-01-02 15:04:05 -0700" text and
// as Unix seconds.
type TunasyncJob struct {
	Name           string `json:"name"`
	IsMaster       bool   `json:"is_master"`
	Status         string `json:"status"`
	LastUpdate     string `json:"last_update"`
	LastUpdateTs   int64  `json:"last_update_ts"`
	LastStarted    string `json:"last_started"`
	LastStartedTs  int64  `json:"last_started_ts"`
	LastEnded      string `json:"last_ended"`
	LastEndedTs    int64  `json:"last_ended_ts"`
	NextSchedule   string `json:"next_schedule"`
	NextScheduleTs int64  `json:"next_schedule_ts"`
	Upstream       string `json:"upstream"`
	Size           string `json:"size"`
}

// tunasyncTime is tunasync's text form of a time.
const tunasyncTime = "2006-01-02 15:04:05 -0700"

// tunasyncStatus maps a mirror's state to tunasync's words (none, failed,
// success, syncing, pre-syncing, paused, disabled). tunasync has no word
// for a cache or a partial run: a cache with no job never synced ("none"),
// and a partial run did not sync everything ("failed").
func tunasyncStatus(s station.State) string {
	switch s {
	case station.Success:
		return "success"
	case station.Syncing:
		return "syncing"
	case station.Failed, station.Partial:
		return "failed"
	}
	return "none"
}

// Tunasync returns the /jobs list of mirrors, one element per mirror.
// Times never reached (a mirror that never succeeded) are written as
// tunasync writes its zero time: "0001-01-01 00:00:00 +0000" and
// -62135596800.
func Tunasync(mirrors []station.Mirror) []TunasyncJob {
	out := make([]TunasyncJob, 0, len(mirrors))
	text := func(t time.Time) string { return t.UTC().Format(tunasyncTime) }
	for _, m := range mirrors {
		s := m.Sync
		out = append(out, TunasyncJob{
			Name:           m.ID,
			IsMaster:       true,
			Status:         tunasyncStatus(s.State),
			LastUpdate:     text(s.LastSuccess),
			LastUpdateTs:   s.LastSuccess.Unix(),
			LastStarted:    text(s.LastStarted),
			LastStartedTs:  s.LastStarted.Unix(),
			LastEnded:      text(s.LastEnded),
			LastEndedTs:    s.LastEnded.Unix(),
			NextSchedule:   text(s.NextRun),
			NextScheduleTs: s.NextRun.Unix(),
			Upstream:       m.Upstream,
			Size:           HumanSize(m),
		})
	}
	return out
}

// HumanSize writes a mirror's size as du -sh does ("596G", "1.2T",
// "4.0K"), or "unknown" before it was measured.
func HumanSize(m station.Mirror) string {
	if !m.SizeKnown {
		return "unknown"
	}
	return humanBytes(m.Size)
}

func humanBytes(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10)
	}
	v := float64(n)
	unit := ""
	for _, u := range []string{"K", "M", "G", "T", "P", "E"} {
		v /= 1024
		unit = u
		if v < 1024 {
			break
		}
	}
	if v < 10 {
		return fmt.Sprintf("%.1f%s", v, unit)
	}
	return fmt.Sprintf("%.0f%s", v, unit)
}

// Site is the site part of mirrorz.json; only URL and Abbr are required.
// URL is filled from the request when empty.
type Site struct {
	URL          string `json:"url"`
	Logo         string `json:"logo,omitempty"`
	LogoDarkmode string `json:"logo_darkmode,omitempty"`
	Abbr         string `json:"abbr"`
	Name         string `json:"name,omitempty"`
	Homepage     string `json:"homepage,omitempty"`
	Issue        string `json:"issue,omitempty"`
	Request      string `json:"request,omitempty"`
	Email        string `json:"email,omitempty"`
	Group        string `json:"group,omitempty"`
	Disk         string `json:"disk,omitempty"`
	Note         string `json:"note,omitempty"`
	Big          string `json:"big,omitempty"`
	Disable      bool   `json:"disable,omitempty"`
}

// Mirrorz is a mirrorz.json document, format v1.7.
type Mirrorz struct {
	Version float64         `json:"version"`
	Site    Site            `json:"site"`
	Info    []MirrorzInfo   `json:"info"`
	Mirrors []MirrorzMirror `json:"mirrors"`
}

// MirrorzInfo is one entry of the category view; gomirror lists none.
type MirrorzInfo struct {
	Distro   string `json:"distro"`
	Category string `json:"category"`
	URLs     []struct {
		Name string `json:"name"`
		URL  string `json:"url"`
	} `json:"urls"`
}

// MirrorzMirror is one mirror of mirrorz.json.
type MirrorzMirror struct {
	CName    string `json:"cname"`
	Desc     string `json:"desc"`
	URL      string `json:"url"`
	Status   string `json:"status"`
	Help     string `json:"help,omitempty"`
	Upstream string `json:"upstream,omitempty"`
	Size     string `json:"size,omitempty"`
	Disable  bool   `json:"disable,omitempty"`
}

// MirrorzStatus returns a mirror's status in mirrorz's notation: one main
// status with its timestamp (S success, Y syncing, F failed, D pending,
// C cache) followed by auxiliary ones (X next scheduled sync, O last
// success while syncing or failed). A partial run did not sync everything:
// it is F.
func MirrorzStatus(s station.Sync) string {
	ts := func(c string, t time.Time) string {
		if t.IsZero() {
			return c
		}
		return c + strconv.FormatInt(t.Unix(), 10)
	}
	aux := func(c string, t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return ts(c, t)
	}
	switch s.State {
	case station.Success:
		return ts("S", s.LastEnded) + aux("X", s.NextRun)
	case station.Syncing:
		return ts("Y", s.LastStarted) + aux("O", s.LastSuccess)
	case station.Failed, station.Partial:
		return ts("F", s.LastEnded) + aux("O", s.LastSuccess) + aux("X", s.NextRun)
	case station.Pending:
		return ts("D", s.NextRun)
	case station.Cache:
		return "C"
	}
	return "U"
}

// MirrorzDoc returns the mirrorz.json document of mirrors on site, whose
// URL is the station's base URL without a trailing slash.
func MirrorzDoc(site Site, mirrors []station.Mirror) Mirrorz {
	doc := Mirrorz{Version: 1.7, Site: site, Info: []MirrorzInfo{}, Mirrors: []MirrorzMirror{}}
	for _, m := range mirrors {
		url := strings.TrimSuffix(m.Path, "/")
		if url == "" {
			url = site.URL // the root: mirrorz wants no trailing slash
		}
		mm := MirrorzMirror{
			CName:    m.CName,
			Desc:     m.Description,
			URL:      url,
			Status:   MirrorzStatus(m.Sync),
			Help:     "/help/" + m.ID,
			Upstream: m.Upstream,
		}
		if m.SizeKnown {
			mm.Size = humanBytes(m.Size)
		}
		doc.Mirrors = append(doc.Mirrors, mm)
	}
	return doc
}

// Options configure the feed handlers.
type Options struct {
	// PublicURL is the station's URL as users reach it. Empty takes it
	// from each request (scheme and Host).
	PublicURL string
	// Site is the site part of mirrorz.json. An empty Abbr means
	// "gomirror"; an empty URL means the station's URL.
	Site Site
}

// TunasyncHandler serves GET /jobs: tunasync's list of src's mirrors.
func TunasyncHandler(src station.Source) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !getOnly(w, r) {
			return
		}
		writeJSON(w, Tunasync(src.Mirrors(r.Context())))
	})
}

// MirrorzHandler serves GET /mirrorz.json for src's mirrors.
func MirrorzHandler(src station.Source, opts Options) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !getOnly(w, r) {
			return
		}
		site := opts.Site
		if site.URL == "" {
			site.URL = station.BaseURL(r, opts.PublicURL)
		}
		site.URL = strings.TrimRight(site.URL, "/")
		if site.Abbr == "" {
			site.Abbr = "gomirror"
		}
		w.Header().Set("Access-Control-Allow-Origin", "*") // mirrorz.org reads it from the browser
		writeJSON(w, MirrorzDoc(site, src.Mirrors(r.Context())))
	})
}

func getOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusMethodNotAllowed)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": "method " + r.Method + " not allowed"})
	return false
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
