// Package metrics defines the Prometheus collectors that gomirror exports on
// /metrics. One Metrics value is made per server and handed to every part
// that records into it.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds gomirror's collectors. Its fields are safe for concurrent
// use. A Metrics made by New with a nil Registerer records but exports
// nothing, which is what most tests want.
//
// Every mirror's requests, lookups and fills are labelled by ecosystem (go,
// sumdb, golang, vuln, oci, pypi, npm) and by the kind of artifact its
// protocol names (zip, mod, list, archive, index, blob, ...).
type Metrics struct {
	// Requests counts served requests by ecosystem, kind and HTTP status
	// code.
	Requests *prometheus.CounterVec
	// BytesServed counts response body bytes written to clients.
	BytesServed prometheus.Counter
	// StoreLookups counts store lookups by ecosystem, kind and result
	// (hit, miss, stale).
	StoreLookups *prometheus.CounterVec
	// Fills counts upstream fills by ecosystem, kind and result (ok,
	// notfound, refused, error, timeout, full).
	Fills *prometheus.CounterVec
	// StaleServed counts metadata answers served stale, by ecosystem and
	// kind.
	StaleServed *prometheus.CounterVec
	// UpstreamFetches counts fetches from the Go module upstream chain by
	// kind and result (ok, notfound, error).
	UpstreamFetches *prometheus.CounterVec
	// UpstreamDuration observes how long upstream fetches take, by kind.
	UpstreamDuration *prometheus.HistogramVec
	// FetchesInFlight is the number of upstream fills under way.
	FetchesInFlight prometheus.Gauge
	// VerifyFailures counts files refused because they did not match their
	// trusted digest or failed a structural check, by ecosystem and kind.
	VerifyFailures *prometheus.CounterVec
	// SumDBFetches counts checksum database requests sent upstream by kind
	// (latest, lookup, tile) and result.
	SumDBFetches *prometheus.CounterVec
	// CoordinationDegraded is 1 while replicas cannot reach their shared
	// coordinator (Redis) and fall back to per-process coalescing.
	CoordinationDegraded prometheus.Gauge
	// StoreWriteFailures counts failed writes to the store, by reason
	// (full, error).
	StoreWriteFailures *prometheus.CounterVec
	// FillPhases observes where a fill's time goes, by ecosystem, kind
	// and phase: upstream (from the fill's start to the download's last
	// byte), check (the artifact's check after the last byte), lookup
	// (the part of check spent waiting for the checksum database), and
	// store (storing the checked file).
	FillPhases *prometheus.HistogramVec
	// SumDBDuration observes how long checksum database requests sent
	// upstream take, by kind (latest, lookup, tile).
	SumDBDuration *prometheus.HistogramVec
}

// New makes the collectors and registers them with reg, when reg is not nil.
// It panics only if reg already holds collectors of the same names, which
// is a programming error.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gomirror_requests_total",
			Help: "Requests served, by ecosystem, kind and status code.",
		}, []string{"ecosystem", "kind", "code"}),
		BytesServed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gomirror_served_bytes_total",
			Help: "Response body bytes written to clients.",
		}),
		StoreLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gomirror_store_lookups_total",
			Help: "Store lookups, by ecosystem, kind and result (hit, miss, stale).",
		}, []string{"ecosystem", "kind", "result"}),
		Fills: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gomirror_fills_total",
			Help: "Upstream fills, by ecosystem, kind and result (ok, notfound, refused, error, timeout, full).",
		}, []string{"ecosystem", "kind", "result"}),
		StaleServed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gomirror_stale_served_total",
			Help: "Metadata answers served stale because the upstream failed or was slow, by ecosystem and kind.",
		}, []string{"ecosystem", "kind"}),
		UpstreamFetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gomirror_upstream_fetches_total",
			Help: "Upstream fetches, by kind and result (ok, notfound, error).",
		}, []string{"kind", "result"}),
		UpstreamDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gomirror_upstream_fetch_duration_seconds",
			Help:    "Time taken by upstream fetches, by kind.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10),
		}, []string{"kind"}),
		FetchesInFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gomirror_upstream_fetches_in_flight",
			Help: "Upstream fills under way.",
		}),
		VerifyFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gomirror_verify_failures_total",
			Help: "Files refused by verification, by ecosystem and kind.",
		}, []string{"ecosystem", "kind"}),
		SumDBFetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gomirror_sumdb_fetches_total",
			Help: "Checksum database requests sent upstream, by kind and result.",
		}, []string{"kind", "result"}),
		CoordinationDegraded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gomirror_coordination_degraded",
			Help: "1 while the shared coordinator cannot be reached.",
		}),
		StoreWriteFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gomirror_store_write_failures_total",
			Help: "Failed writes to the store, by reason (full, error).",
		}, []string{"reason"}),
		FillPhases: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gomirror_fill_phase_seconds",
			Help:    "Time spent in each phase of a fill (upstream, check, lookup, store), by ecosystem and kind.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
		}, []string{"ecosystem", "kind", "phase"}),
		SumDBDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "gomirror_sumdb_fetch_duration_seconds",
			Help:    "Time taken by checksum database requests sent upstream, by kind.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12),
		}, []string{"kind"}),
	}
	if reg != nil {
		reg.MustRegister(m.Requests, m.BytesServed, m.StoreLookups, m.Fills, m.StaleServed,
			m.UpstreamFetches, m.UpstreamDuration, m.FetchesInFlight, m.VerifyFailures,
			m.SumDBFetches, m.CoordinationDegraded, m.StoreWriteFailures, m.FillPhases, m.SumDBDuration)
	}
	return m
}
