package jobs

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// jobMetrics are the gomirror_job_* collectors, labelled by job.
type jobMetrics struct {
	lastSuccess *prometheus.GaugeVec
	duration    *prometheus.GaugeVec
	bytes       *prometheus.CounterVec
	failures    *prometheus.CounterVec
	running     *prometheus.GaugeVec
}

// newJobMetrics makes the collectors and registers them with reg when it
// is not nil.
func newJobMetrics(reg prometheus.Registerer) *jobMetrics {
	label := []string{"job"}
	m := &jobMetrics{
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gomirror_job_last_success_timestamp_seconds",
			Help: "Unix time at which the job's last successful run ended; 0 if none did.",
		}, label),
		duration: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gomirror_job_last_duration_seconds",
			Help: "How long the job's last run on this replica took.",
		}, label),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gomirror_job_bytes_total",
			Help: "Response body bytes the job's runs read from the mirror.",
		}, label),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gomirror_job_failures_total",
			Help: "Runs of the job that ended failed or partial.",
		}, label),
		running: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "gomirror_job_running",
			Help: "1 while this replica runs the job.",
		}, label),
	}
	if reg != nil {
		reg.MustRegister(m.lastSuccess, m.duration, m.bytes, m.failures, m.running)
	}
	return m
}

// init exports job's series from its saved state, so that they exist
// (and the last success survives restarts) before it runs.
func (m *jobMetrics) init(job string, st State) {
	ts := 0.0
	if !st.LastSuccess.IsZero() {
		ts = float64(st.LastSuccess.UnixNano()) / 1e9
	}
	m.lastSuccess.WithLabelValues(job).Set(ts)
	m.bytes.WithLabelValues(job)
	m.failures.WithLabelValues(job)
	m.running.WithLabelValues(job).Set(0)
}

// observe records a finished run of job.
func (m *jobMetrics) observe(job string, st State, took time.Duration) {
	m.duration.WithLabelValues(job).Set(took.Seconds())
	m.bytes.WithLabelValues(job).Add(float64(st.Bytes))
	if st.Result == Success {
		m.lastSuccess.WithLabelValues(job).Set(float64(st.LastSuccess.UnixNano()) / 1e9)
	} else {
		m.failures.WithLabelValues(job).Inc()
	}
}
