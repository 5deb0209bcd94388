// Package deploy holds no Go code: this test checks the monitoring files
// under deploy/prometheus and deploy/grafana against gomirror's metrics.
package deploy

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"github.com/gomirror/gomirror/internal/jobs"
	"github.com/gomirror/gomirror/internal/metrics"
	"github.com/gomirror/gomirror/internal/store/budget"
	"github.com/gomirror/gomirror/internal/store/memstore"
)

// pending are metrics the server exports that are registered outside the
// packages this test can build collectors from.
var pending = []string{
	"gomirror_fills_total",
	"gomirror_store_free_bytes",
	"gomirror_ready",
	"gomirror_stale_served_total",
}

// recorder is a prometheus.Registerer that keeps what is registered.
type recorder struct{ collectors []prometheus.Collector }

func (r *recorder) Register(c prometheus.Collector) error {
	r.collectors = append(r.collectors, c)
	return nil
}
func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	r.collectors = append(r.collectors, cs...)
}
func (r *recorder) Unregister(prometheus.Collector) bool { return false }

var fqNameRE = regexp.MustCompile(`fqName: "([^"]+)"`)

// knownMetrics returns every metric name gomirror exports, taken from the
// collectors themselves where this test can make them, and Prometheus's
// own up.
func knownMetrics(t *testing.T) map[string]bool {
	t.Helper()
	reg := &recorder{}
	metrics.New(reg)
	_, err := jobs.New(jobs.Options{
		Handler:    http.NotFoundHandler(),
		Registerer: reg,
		Jobs:       []jobs.Spec{{Name: "v", Kind: "vuln", Schedule: "1h"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := budget.New(memstore.New(), budget.Config{Bytes: 1, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	known := map[string]bool{"up": true}
	descs := make(chan *prometheus.Desc, 100)
	for _, c := range reg.collectors {
		c.Describe(descs)
	}
	close(descs)
	for d := range descs {
		m := fqNameRE.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("no name in %s", d)
		}
		known[m[1]] = true
		// Histograms: their series' suffixes.
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			known[m[1]+s] = true
		}
	}
	for _, name := range pending {
		known[name] = true
	}
	for _, name := range []string{"gomirror_job_last_success_timestamp_seconds", "gomirror_job_last_duration_seconds",
		"gomirror_job_bytes_total", "gomirror_job_failures_total", "gomirror_job_running", "gomirror_verify_failures_total"} {
		if !known[name] {
			t.Errorf("metric %s is not exported", name)
		}
	}
	return known
}

var (
	stringRE  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	matcherRE = regexp.MustCompile(`\{[^{}]*\}`)
	rangeRE   = regexp.MustCompile(`\[[^\]]*\]`)
	numberRE  = regexp.MustCompile(`\b\d[\d.]*(?:e[+-]?\d+|ms|[smhdwy])*\b`)
	groupRE   = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	tokenRE   = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?`)
	keywords  = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan"}
)

// metricNames returns the metric names a PromQL expression reads.
func metricNames(expr string) []string {
	e := stringRE.ReplaceAllString(expr, `""`)
	e = matcherRE.ReplaceAllString(e, "")
	e = rangeRE.ReplaceAllString(e, "")
	e = groupRE.ReplaceAllString(e, "")
	e = numberRE.ReplaceAllString(e, "0")
	var names []string
	for _, m := range tokenRE.FindAllStringSubmatch(e, -1) {
		tok := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(m[0]), "("))
		if m[1] != "" || slices.Contains(keywords, strings.ToLower(tok)) {
			continue // a function, or a keyword
		}
		names = append(names, tok)
	}
	return names
}

func TestMetricNames(t *testing.T) {
	got := metricNames(`sum by (ecosystem) (rate(gomirror_fills_total{result="error", kind=~"a|b"}[10m])) / ignoring(x) up{job="gomirror"} > 0.1 and on (job) time() - max(x_total offset 5m)`)
	want := []string{"gomirror_fills_total", "up", "x_total"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// checkExpr fails t when expr reads no metric, or one gomirror does not
// export.
func checkExpr(t *testing.T, where, expr string, known map[string]bool) {
	t.Helper()
	names := metricNames(expr)
	if len(names) == 0 {
		t.Errorf("%s: %q reads no metric", where, expr)
	}
	for _, n := range names {
		if !known[n] {
			t.Errorf("%s: %q reads %s, which gomirror does not export", where, expr, n)
		}
	}
}

func TestGrafanaDashboard(t *testing.T) {
	known := knownMetrics(t)
	data, err := os.ReadFile("grafana/gomirror.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title  string `json:"title"`
		UID    string `json:"uid"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("grafana/gomirror.json: %v", err)
	}
	if dash.Title == "" || dash.UID == "" || len(dash.Panels) == 0 {
		t.Fatalf("dashboard: got title %q, uid %q, %d panels", dash.Title, dash.UID, len(dash.Panels))
	}
	exprs := 0
	for _, p := range dash.Panels {
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			checkExpr(t, "panel "+p.Title, tg.Expr, known)
			exprs++
		}
	}
	for _, name := range []string{"gomirror_job_last_success_timestamp_seconds", "gomirror_fills_total", "gomirror_store_used_bytes", "gomirror_ready"} {
		if !strings.Contains(string(data), name) {
			t.Errorf("dashboard shows nothing of %s", name)
		}
	}
	t.Logf("%d panels, %d queries", len(dash.Panels), exprs)
}

func TestAlertRulesReadKnownMetrics(t *testing.T) {
	known := knownMetrics(t)
	data, err := os.ReadFile("prometheus/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
			checkExpr(t, "alert "+r.Alert, r.Expr, known)
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("alert %s: severity %q, want warning or critical", r.Alert, s)
			}
			if r.Annotations["summary"] == "" {
				t.Errorf("alert %s has no summary", r.Alert)
			}
		}
	}
	tests, err := os.ReadFile("prometheus/alerts_test.yml")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alerts {
		if !strings.Contains(string(tests), "alertname: "+a+"\n") {
			t.Errorf("alert %s has no unit test in alerts_test.yml", a)
		}
	}
}

// promtool returns the path of promtool, skipping outside CI when there
// is none and failing in CI.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("promtool is not installed; CI must install Debian's prometheus package (scripts/test.sh)")
		}
		t.Skip("promtool is not installed: needs Debian's prometheus package")
	}
	return p
}

func TestPromtool(t *testing.T) {
	bin := promtool(t)
	for _, args := range [][]string{
		{"check", "rules", "alerts.yml"},
		{"test", "rules", "alerts_test.yml"},
		{"check", "config", "--syntax-only", "prometheus.yml"},
	} {
		cmd := exec.CommandContext(t.Context(), bin, args...)
		cmd.Dir = "prometheus"
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}
