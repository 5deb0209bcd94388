package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gomirror/gomirror/internal/config"
	"github.com/gomirror/gomirror/internal/goproxy"
	"github.com/gomirror/gomirror/internal/policy"
	"github.com/gomirror/gomirror/internal/pull"
	"github.com/gomirror/gomirror/internal/vuln"
)

// newVuln builds the vulnerability database mirror and registers its
// state on reg.
func newVuln(cfg config.Config, cache *pull.Cache, httpUp *pull.HTTPUpstream, modules http.Handler, log *slog.Logger, reg prometheus.Registerer) (*vuln.Handler, error) {
	ttl := cfg.MetadataTTL
	if cfg.Vuln.Source == vuln.SourceModule {
		ttl = cfg.Vuln.Rebuild
	}
	vh, err := vuln.New(vuln.Config{
		Cache: cache, Source: cfg.Vuln.Source, Upstream: cfg.Vuln.Upstream, HTTP: httpUp,
		TTL: ttl, Modules: modules, Logger: log,
		Load: cfg.Policy.DenyVulnerable,
	})
	if err != nil {
		return nil, err
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gomirror_vuln_db_ready",
			Help: "1 once a vulnerability database is there to serve.",
		}, func() float64 { return boolGauge(vh.Status().Ready) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gomirror_vuln_db_refresh_ok",
			Help: "1 when the last build or load of the vulnerability database succeeded, 0 when the last good one is being served.",
		}, func() float64 { return boolGauge(vh.Status().LastError == "") }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gomirror_vuln_db_entries",
			Help: "Entries in the vulnerability database being served.",
		}, func() float64 { return float64(vh.Status().Entries) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gomirror_vuln_db_modified_timestamp_seconds",
			Help: "The modified time of the vulnerability database being served.",
		}, func() float64 {
			if m := vh.Status().Modified; !m.IsZero() {
				return float64(m.Unix())
			}
			return 0
		}),
	)
	return vh, nil
}

func boolGauge(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// vulnReady writes the vulnerability database's line of /readyz. A
// database that is not there yet, or whose last rebuild failed, degrades
// the mirror but leaves it ready: everything else is served.
func vulnReady(w io.Writer, vh *vuln.Handler) {
	st := vh.Status()
	switch {
	case !st.Ready && st.LastError != "":
		fmt.Fprintf(w, "vuln: not ready: %s\n", st.LastError)
	case !st.Ready:
		fmt.Fprintf(w, "vuln: not ready: loading\n")
	case st.LastError != "":
		fmt.Fprintf(w, "vuln: degraded, serving the last good database (%s, %d entries): %s\n", versionOr(st), st.Entries, st.LastError)
	case st.Version == "" && st.Modified.IsZero():
		fmt.Fprintf(w, "vuln: ok (pulled on demand)\n")
	default:
		fmt.Fprintf(w, "vuln: ok (%s, %d entries)\n", versionOr(st), st.Entries)
	}
}

func versionOr(st vuln.Status) string {
	if st.Version != "" {
		return vuln.ModulePath + "@" + st.Version
	}
	return "modified " + st.Modified.UTC().Format("2006-01-02T15:04:05Z")
}

// policyGuard applies the module policy in front of the GOPROXY handler:
// a denied .info, .mod or .zip gets a 403 whose one line the go command
// shows. Lists are left whole, so that go list -m -versions stays
// truthful.
type policyGuard struct {
	p    *policy.Policy
	next http.Handler
}

func (g policyGuard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if path, version, ok := goproxy.Versioned(r.URL.EscapedPath()); ok {
		if d := g.p.Decide(r.Context(), policy.Go, path, version); !d.Allowed {
			goproxy.WriteError(w, http.StatusForbidden, pull.OneLine(d.Reason))
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

// runVuln keeps the database current while ctx lasts.
func runVuln(ctx context.Context, vh *vuln.Handler) {
	if vh != nil {
		go vh.Run(ctx)
	}
}
