package jobs

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestParseSchedule(t *testing.T) {
	for _, tc := range []struct {
		in      string
		from    time.Time
		want    time.Time
		wantErr string
	}{
		{in: "6h", from: t0, want: t0.Add(6 * time.Hour)},
		{in: " 90m ", from: t0, want: t0.Add(90 * time.Minute)},
		{in: "0 */6 * * *", from: time.Date(2026, 3, 1, 5, 59, 30, 0, time.UTC), want: time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC)},
		{in: "0 */6 * * *", from: time.Date(2026, 3, 1, 6, 0, 0, 0, time.UTC), want: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		{in: "0 */6 * * *", from: time.Date(2026, 3, 1, 6, 0, 0, 500, time.UTC), want: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)},
		{in: "30 2 * * 1", from: t0, want: time.Date(2026, 3, 2, 2, 30, 0, 0, time.UTC)}, // 2026-03-01 is a Sunday
		{in: "@daily", from: t0, want: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)},
		{in: "", wantErr: "empty"},
		{in: "10s", wantErr: "below the minimum"},
		{in: "every day", wantErr: "neither a duration"},
		{in: "0 */6 * *", wantErr: "neither a duration"},
		{in: "61 * * * *", wantErr: "invalid cron"},
		{in: "0 0 30 2 *", wantErr: "due"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			s, err := ParseSchedule(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseSchedule(%q): got %v, want an error containing %q", tc.in, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseSchedule(%q): %v", tc.in, err)
			}
			got, err := s.Next(tc.from)
			if err != nil || !got.Equal(tc.want) {
				t.Errorf("Next(%v): got %v, %v, want %v", tc.from, got, err, tc.want)
			}
		})
	}
}

func FuzzParseSchedule(f *testing.F) {
	for _, s := range []string{"6h", "0 */6 * * *", "@weekly", "0 0 30 2 *", "*/0 * * * *", "1-5/2 * * * 1-5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sched, err := ParseSchedule(s)
		if err != nil {
			return
		}
		next, err := sched.Next(t0)
		if err == nil && !next.After(t0) {
			t.Errorf("ParseSchedule(%q).Next(%v) = %v, not after", s, t0, next)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	good := func() Spec {
		return Spec{Name: "x", Kind: "npm", Schedule: "1h", NPM: &Packages{Packages: []string{"left-pad"}}}
	}
	for _, tc := range []struct {
		name string
		edit func(s *Spec)
		want string
	}{
		{"bad name", func(s *Spec) { s.Name = "a/b" }, `name "a/b"`},
		{"no kind", func(s *Spec) { s.Kind = "" }, "kind: empty"},
		{"unknown kind", func(s *Spec) { s.Kind = "apt" }, `unknown kind "apt"`},
		{"wrong section", func(s *Spec) { s.PyPI = &Packages{Packages: []string{"x"}} }, "pypi: section given for a job of kind npm"},
		{"missing section", func(s *Spec) { s.NPM = nil }, "npm: missing section"},
		{"bad schedule", func(s *Spec) { s.Schedule = "soon" }, "schedule:"},
		{"retries", func(s *Spec) { s.Retries = 99 }, "retries: 99"},
		{"negative timeout", func(s *Spec) { s.Timeout = -1 }, "timeout: negative"},
		{"bad package", func(s *Spec) { s.NPM.Packages = []string{"Bad Name"} }, "not an npm package name"},
		{"bad module", func(s *Spec) {
			s.Kind, s.NPM, s.Go = "go", nil, &GoModules{Modules: []string{"not a path"}}
		}, "modules:"},
		{"bad tag regexp", func(s *Spec) {
			s.Kind, s.NPM, s.OCI = "oci", nil, &OCIImages{Images: []OCIImage{{Repository: "alpine", Tags: "("}}}
		}, "tags:"},
		{"bad go kind", func(s *Spec) {
			s.Kind, s.NPM, s.Golang = "golang", nil, &GoArchives{Kinds: []string{"deb"}}
		}, `unknown kind "deb"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := good()
			tc.edit(&s)
			err := Config{Jobs: []Spec{s}}.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if err := (Config{Jobs: []Spec{good(), good()}}).Validate(); err == nil || !strings.Contains(err.Error(), "declared twice") {
		t.Errorf("duplicate names: got %v, want declared twice", err)
	}
	if err := (Config{Jobs: []Spec{good(), {Name: "v", Kind: "vuln", Schedule: "1h"}}}).Validate(); err != nil {
		t.Errorf("good config: %v", err)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "gomirror.yaml")
	os.WriteFile(file, []byte(`listen: ":8080"
sync:
  state_dir: /var/lib/gomirror/jobs
  jobs:
    - name: js
      kind: npm
      schedule: "0 */6 * * *"
      timeout: 30m
      retries: 3
      backoff: 2s
      npm: {packages: [react], newest: 2}
`), 0o644)
	c, err := LoadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if c.StateDir != "/var/lib/gomirror/jobs" || len(c.Jobs) != 1 {
		t.Fatalf("got %+v", c)
	}
	j := c.Jobs[0]
	if j.Timeout != 30*time.Minute || j.Retries != 3 || j.Backoff != 2*time.Second || j.NPM == nil || j.NPM.Newest != 2 {
		t.Errorf("job: got %+v", j)
	}
	os.WriteFile(file, []byte("sync:\n  jobs:\n    - name: js\n      kind: npm\n      schedul: 1h\n"), 0o644)
	if _, err := LoadFile(file); err == nil || !strings.Contains(err.Error(), "schedul") {
		t.Errorf("misspelt key: got %v, want an error naming it", err)
	}
}

func TestRetriesWithBackoff(t *testing.T) {
	for _, tc := range []struct {
		name    string
		retries int
		fails   []int
		want    Result
		sleeps  []time.Duration
		hits    int
	}{
		{"recovers", 2, []int{503, 502}, Success, []time.Duration{time.Second, 2 * time.Second}, 3},
		{"gives up", 1, []int{503, 503}, Failed, []time.Duration{time.Second}, 2},
		{"no retry on 404", 3, []int{404}, Failed, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeMirror()
			f.set("/vuln/index/db.json", `{"modified":"2026-01-01T00:00:00Z"}`)
			f.set("/vuln/index/modules.json", `[]`)
			f.failFirst("/vuln/index/db.json", tc.fails...)
			clock := newFakeClock(t0)
			clock.auto = true
			r := newTestRunner(t, f, clock, "", Spec{Name: "v", Kind: "vuln", Schedule: "1h", Retries: tc.retries})
			st := runOnce(t, r, "v")
			if st.Result != tc.want {
				t.Errorf("result: got %s (%s), want %s", st.Result, st.Error, tc.want)
			}
			if got := f.hitsOf("/vuln/index/db.json"); got != tc.hits {
				t.Errorf("requests of db.json: got %d, want %d", got, tc.hits)
			}
			if got := clock.recordedSleeps(); !slices.Equal(got, tc.sleeps) {
				t.Errorf("backoff: got %v, want %v", got, tc.sleeps)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	f := newFakeMirror()
	f.hook = ctxBlock(nil)
	r := newTestRunner(t, f, nil, "", Spec{Name: "v", Kind: "vuln", Schedule: "1h", Timeout: 20 * time.Millisecond})
	st := runOnce(t, r, "v")
	if st.Result != Failed || !strings.Contains(st.Error, "timed out after 20ms") {
		t.Errorf("got %s (%s), want failed, timed out after 20ms", st.Result, st.Error)
	}
	if st.LastEnd.IsZero() || !st.LastSuccess.IsZero() {
		t.Errorf("got last end %v and last success %v, want an end and no success", st.LastEnd, st.LastSuccess)
	}
}

func TestHonestResults(t *testing.T) {
	npmSpec := func(pkgs ...string) Spec {
		return Spec{Name: "js", Kind: "npm", Schedule: "1h", NPM: &Packages{Packages: pkgs}}
	}
	packument := `{"versions":{"1.0.0":{"dist":{"tarball":"/npm/a/-/a-1.0.0.tgz"}}}}`
	for _, tc := range []struct {
		name    string
		setup   func(f *fakeMirror)
		spec    Spec
		want    Result
		wantErr string
	}{
		{"all fetched", func(f *fakeMirror) {
			f.set("/npm/a", packument)
			f.set("/npm/a/-/a-1.0.0.tgz", "tgz")
		}, npmSpec("a"), Success, ""},
		{"part of the list fails", func(f *fakeMirror) {
			f.set("/npm/a", packument)
			f.set("/npm/a/-/a-1.0.0.tgz", "tgz")
		}, npmSpec("a", "b"), Partial, "1 of 3 requests failed; first: GET /npm/b: 404 Not Found"},
		{"tarball fails", func(f *fakeMirror) {
			f.set("/npm/a", packument)
			f.failFirst("/npm/a/-/a-1.0.0.tgz", 502)
		}, npmSpec("a"), Partial, "GET /npm/a/-/a-1.0.0.tgz: 502 Bad Gateway: injected failure 502"},
		{"nothing there", func(f *fakeMirror) {}, npmSpec("a"), Failed, "no package synced"},
		{"no release", func(f *fakeMirror) { f.set("/npm/a", `{"versions":{}}`) }, npmSpec("a"), Failed, "a: no release"},
		{"empty archive index", func(f *fakeMirror) { f.set("/golang/?mode=json&include=all", `[]`) },
			Spec{Name: "g", Kind: "golang", Schedule: "1h", Golang: &GoArchives{}}, Failed, "no file of the go release index matches"},
		{"no tag matches", func(f *fakeMirror) { f.set("/v2/library/alpine/tags/list", `{"tags":["latest"]}`) },
			Spec{Name: "o", Kind: "oci", Schedule: "1h", OCI: &OCIImages{Images: []OCIImage{{Repository: "alpine", Semver: true}}}},
			Failed, "no tag matches"},
		{"handler writes nothing", func(f *fakeMirror) { f.hook = func(*http.Request) bool { return true } },
			Spec{Name: "v", Kind: "vuln", Schedule: "1h"}, Failed, "no modified time"},
		{"nothing recent", func(f *fakeMirror) {},
			Spec{Name: "m", Kind: "go", Schedule: "1h", Go: &GoModules{RecentDays: 3}}, Success, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeMirror()
			tc.setup(f)
			r, err := New(Options{Jobs: []Spec{tc.spec}, Handler: f, Recorder: &fakeRecorder{}})
			if err != nil {
				t.Fatal(err)
			}
			st := runOnce(t, r, tc.spec.Name)
			if st.Result != tc.want || !strings.Contains(st.Error, tc.wantErr) {
				t.Errorf("got %s (%q), want %s (%q)", st.Result, st.Error, tc.want, tc.wantErr)
			}
			if tc.want == Success && st.Error != "" {
				t.Errorf("success with error %q", st.Error)
			}
		})
	}
}

func TestStateAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	f := newFakeMirror()
	f.set("/npm/a", `{"versions":{"1.0.0":{"dist":{"tarball":"/npm/a/-/a-1.0.0.tgz"}}}}`)
	f.set("/npm/a/-/a-1.0.0.tgz", "tgz")
	spec := Spec{Name: "js", Kind: "npm", Schedule: "6h", NPM: &Packages{Packages: []string{"a"}}}
	clock := newFakeClock(t0)
	r := newTestRunner(t, f, clock, dir, spec)
	first := runOnce(t, r, "js")

	clock.Advance(time.Hour)
	r2 := newTestRunner(t, f, clock, dir, spec)
	got, _ := r2.Job("js")
	if got.Result != Success || !got.LastStart.Equal(t0) || !got.LastEnd.Equal(t0) || !got.LastSuccess.Equal(t0) ||
		got.Bytes != first.Bytes || got.Requests != 2 {
		t.Errorf("after restart: got %+v, want the state of the first run %+v", got.State, first.State)
	}
	if want := t0.Add(6 * time.Hour); !got.NextRun.Equal(want) {
		t.Errorf("next run after restart: got %v, want %v", got.NextRun, want)
	}
	// The file is whole JSON, and no temporary file is left behind.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "js.json" {
		t.Errorf("state dir holds %v, want js.json only", entries)
	}
	// The tarball was recorded as fetched: the next run skips it.
	f.reset()
	runOnce(t, r2, "js")
	if got := f.requested(); !slices.Equal(got, []string{"/npm/a"}) {
		t.Errorf("run after restart requested %q, want the packument only", got)
	}
}

func TestInterruptedRunIsDueAtRestart(t *testing.T) {
	dir := t.TempDir()
	st := State{LastStart: t0.Add(time.Hour), LastEnd: t0, Result: Success, LastSuccess: t0}
	if err := (stateFiles{dir}).save("v", st); err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock(t0.Add(2 * time.Hour))
	r := newTestRunner(t, newFakeMirror(), clock, dir, Spec{Name: "v", Kind: "vuln", Schedule: "24h"})
	got, _ := r.Job("v")
	if !got.NextRun.Equal(clock.Now()) {
		t.Errorf("next run: got %v, want now (%v): the last run was interrupted", got.NextRun, clock.Now())
	}
}

func TestMissedSlotsRunOnce(t *testing.T) {
	dir := t.TempDir()
	f := newFakeMirror()
	f.set("/vuln/index/db.json", `{"modified":"2026-01-01T00:00:00Z"}`)
	f.set("/vuln/index/modules.json", `[]`)
	spec := Spec{Name: "v", Kind: "vuln", Schedule: "0 * * * *"} // hourly
	clock := newFakeClock(t0)
	r := newTestRunner(t, f, clock, dir, spec)
	r.RunDue(t.Context()) // never ran: due at once
	if got := f.hitsOf("/vuln/index/db.json"); got != 1 {
		t.Fatalf("first start: %d runs, want 1", got)
	}

	// Down for five hours and a half: five slots missed.
	clock.Advance(5*time.Hour + 30*time.Minute)
	r = newTestRunner(t, f, clock, dir, spec)
	for range 3 {
		r.RunDue(t.Context())
	}
	if got := f.hitsOf("/vuln/index/db.json"); got != 2 {
		t.Errorf("after the restart: %d runs in all, want 2 (one catch-up run)", got)
	}
	st, _ := r.Job("v")
	if want := time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC); !st.NextRun.Equal(want) {
		t.Errorf("next run: got %v, want the next slot %v", st.NextRun, want)
	}
}

func TestServeRunsOnSchedule(t *testing.T) {
	f := newFakeMirror()
	f.set("/vuln/index/db.json", `{"modified":"2026-01-01T00:00:00Z"}`)
	f.set("/vuln/index/modules.json", `[]`)
	clock := newFakeClock(t0)
	dir := t.TempDir()
	// Ran 30 minutes ago; the next run is due in 30 minutes.
	(stateFiles{dir}).save("v", State{LastStart: t0.Add(-30 * time.Minute), LastEnd: t0.Add(-30 * time.Minute), Result: Success})
	r := newTestRunner(t, f, clock, dir, Spec{Name: "v", Kind: "vuln", Schedule: "1h"})
	ctx, cancel := contextWithCancel(t)
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx) }()
	defer func() {
		cancel()
		<-done
	}()

	runs := func() int { return f.hitsOf("/vuln/index/db.json") }
	eventually(t, "Serve to wait for the next run", func() bool { return clock.pending() == 1 })
	if runs() != 0 {
		t.Fatalf("ran before its time")
	}
	clock.Advance(29 * time.Minute)
	if runs() != 0 {
		t.Fatalf("ran a minute early")
	}
	clock.Advance(time.Minute)
	eventually(t, "the first scheduled run", func() bool {
		st, _ := r.Job("v")
		return st.LastEnd.Equal(t0.Add(30*time.Minute)) && clock.pending() == 1
	})
	clock.Advance(time.Hour)
	eventually(t, "the second scheduled run", func() bool {
		st, _ := r.Job("v")
		return st.LastEnd.Equal(t0.Add(90*time.Minute)) && clock.pending() == 1
	})
	if got := runs(); got != 2 {
		t.Errorf("got %d runs, want 2", got)
	}
}

func TestMetrics(t *testing.T) {
	f := newFakeMirror()
	f.set("/vuln/index/db.json", `{"modified":"2026-01-01T00:00:00Z"}`)
	f.set("/vuln/index/modules.json", `[]`)
	reg := prometheus.NewRegistry()
	clock := newFakeClock(t0)
	r, err := New(Options{Jobs: []Spec{{Name: "v", Kind: "vuln", Schedule: "1h"}, {Name: "js", Kind: "npm", Schedule: "1h",
		NPM: &Packages{Packages: []string{"missing"}}}}, Handler: f, Clock: clock, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	runOnce(t, r, "v")
	runOnce(t, r, "js")
	m := r.metrics
	for _, tc := range []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"last success v", m.lastSuccess.WithLabelValues("v"), float64(t0.Unix())},
		{"last success js", m.lastSuccess.WithLabelValues("js"), 0},
		{"bytes v", m.bytes.WithLabelValues("v"), float64(len(`{"modified":"2026-01-01T00:00:00Z"}`) + 2)},
		{"failures v", m.failures.WithLabelValues("v"), 0},
		{"failures js", m.failures.WithLabelValues("js"), 1},
		{"running v", m.running.WithLabelValues("v"), 0},
	} {
		if got := testutil.ToFloat64(tc.c); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
	n, err := testutil.GatherAndCount(reg, "gomirror_job_last_success_timestamp_seconds", "gomirror_job_last_duration_seconds",
		"gomirror_job_bytes_total", "gomirror_job_failures_total", "gomirror_job_running")
	if err != nil || n != 10 {
		t.Errorf("gathered %d series (%v), want 10: five metrics for two jobs", n, err)
	}
}

func TestMetricRunningDuringRun(t *testing.T) {
	f := newFakeMirror()
	started := make(chan string, 1)
	f.hook = ctxBlock(started)
	r := newTestRunner(t, f, nil, "", Spec{Name: "v", Kind: "vuln", Schedule: "1h"})
	ctx, cancel := contextWithCancel(t)
	done, _ := r.Trigger(ctx, "v")
	<-started
	if got := testutil.ToFloat64(r.metrics.running.WithLabelValues("v")); got != 1 {
		t.Errorf("running during the run: got %v, want 1", got)
	}
	st, _ := r.Job("v")
	if !st.Running || st.Progress == nil {
		t.Errorf("status during the run: got running %v, progress %v, want both", st.Running, st.Progress)
	}
	cancel()
	<-done
	if got := testutil.ToFloat64(r.metrics.running.WithLabelValues("v")); got != 0 {
		t.Errorf("running after the run: got %v, want 0", got)
	}
}

func TestOpsHandler(t *testing.T) {
	f := newFakeMirror()
	f.set("/vuln/index/db.json", `{"modified":"2026-01-01T00:00:00Z"}`)
	f.set("/vuln/index/modules.json", `[]`)
	r := newTestRunner(t, f, nil, "", Spec{Name: "v", Kind: "vuln", Schedule: "1h"})
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()

	resp, err := http.Post(srv.URL+"/-/jobs/v/run?wait=1", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var last ProgressLine
	dec := json.NewDecoder(resp.Body)
	for dec.More() {
		if err := dec.Decode(&last); err != nil {
			t.Fatal(err)
		}
	}
	resp.Body.Close()
	if !last.Done || last.Status == nil || last.Status.Result != Success {
		t.Fatalf("last line: got %+v, want done with success", last)
	}

	for _, tc := range []struct {
		method, path string
		code         int
		body         string
	}{
		{"GET", "/-/jobs", 200, `"name": "v"`},
		{"GET", "/-/jobs/v", 200, `"result": "success"`},
		{"GET", "/-/jobs/nope", 404, `"error": "unknown job \"nope\""`},
		{"POST", "/-/jobs/nope/run", 404, `unknown job`},
		{"GET", "/-/jobs/v/run", 405, `method GET not allowed`},
		{"POST", "/-/jobs/v/run", 202, `"name": "v"`},
		{"GET", "/-/jobs/v/x/y", 404, `not found`},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := readBody(t, resp)
		if resp.StatusCode != tc.code || !strings.Contains(body, tc.body) {
			t.Errorf("%s %s: got %d %s, want %d containing %s", tc.method, tc.path, resp.StatusCode, body, tc.code, tc.body)
		}
	}
}

func TestAfterRun(t *testing.T) {
	f := newFakeMirror()
	f.set("/vuln/index/db.json", `{"modified":"2026-01-01T00:00:00Z"}`)
	f.set("/vuln/index/modules.json", `[]`)
	got := make(chan Status, 2)
	r, err := New(Options{Jobs: []Spec{{Name: "v", Kind: "vuln", Schedule: "1h"}}, Handler: f,
		AfterRun: func(_ context.Context, st Status) { got <- st }})
	if err != nil {
		t.Fatal(err)
	}
	runOnce(t, r, "v")
	select {
	case st := <-got:
		if st.Name != "v" || st.Mirror != "vuln" || st.Result != Success {
			t.Errorf("AfterRun got %+v, want job v of mirror vuln, success", st)
		}
	default:
		t.Errorf("AfterRun was not called before the run was reported done")
	}
}
