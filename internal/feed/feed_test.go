package feed

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/station"
)

var (
	started = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	ended   = time.Date(2026, 3, 1, 10, 5, 0, 0, time.UTC)
	next    = time.Date(2026, 3, 1, 16, 0, 0, 0, time.UTC)
	older   = time.Date(2026, 2, 28, 10, 5, 0, 0, time.UTC)
)

type fakeSource []station.Mirror

func (f fakeSource) Mirrors(context.Context) []station.Mirror { return f }

var mirrors = fakeSource{
	{ID: "go", Name: "Go modules", Description: "Go module proxy", Path: "/", Upstream: "https://proxy.golang.org", CName: "goproxy",
		Size: 1288490189, SizeKnown: true, Sync: station.Sync{State: station.Success, LastStarted: started, LastEnded: ended, LastSuccess: ended, NextRun: next}},
	{ID: "npm", Name: "npm", Description: "npm registry", Path: "/npm/", Upstream: "https://registry.npmjs.org", CName: "npm",
		Size: 640 << 30, SizeKnown: true, Sync: station.Sync{State: station.Failed, LastStarted: started, LastEnded: ended, LastSuccess: older, NextRun: next, Error: "js: fetched nothing"}},
	{ID: "pypi", Name: "PyPI", Description: "Python package index", Path: "/pypi/simple/", Upstream: "https://pypi.org", CName: "pypi",
		Sync: station.Sync{State: station.Syncing, LastStarted: started}},
	{ID: "oci", Name: "OCI images", Description: "Container images", Path: "/v2/", Upstream: "https://registry-1.docker.io", CName: "dockerhub",
		Size: 4096, SizeKnown: true, Sync: station.Sync{State: station.Cache}},
	{ID: "vuln", Name: "Vulnerability database", Description: "Go vulns", Path: "/vuln/", Upstream: "https://vuln.go.dev", CName: "govulndb",
		Size: 500, SizeKnown: true, Sync: station.Sync{State: station.Pending, NextRun: next}},
}

// getJSON serves path with h and decodes the body into v.
func getJSON(t *testing.T, h http.Handler, target string, v any) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest("GET", target, nil)
	req.Host = "mirror.example:8080"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type: got %q, want application/json", ct)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatalf("GET %s: %v\n%s", target, err, rec.Body)
	}
	return rec
}

func TestTunasyncJobs(t *testing.T) {
	var got []map[string]any
	getJSON(t, TunasyncHandler(mirrors), "/jobs", &got)
	zeroText, zeroTs := "0001-01-01 00:00:00 +0000", float64(-62135596800)
	want := []map[string]any{
		{"name": "go", "is_master": true, "status": "success",
			"last_update": "2026-03-01 10:05:00 +0000", "last_update_ts": float64(ended.Unix()),
			"last_started": "2026-03-01 10:00:00 +0000", "last_started_ts": float64(started.Unix()),
			"last_ended": "2026-03-01 10:05:00 +0000", "last_ended_ts": float64(ended.Unix()),
			"next_schedule": "2026-03-01 16:00:00 +0000", "next_schedule_ts": float64(next.Unix()),
			"upstream": "https://proxy.golang.org", "size": "1.2G"},
		{"name": "npm", "is_master": true, "status": "failed",
			"last_update": "2026-02-28 10:05:00 +0000", "last_update_ts": float64(older.Unix()),
			"last_started": "2026-03-01 10:00:00 +0000", "last_started_ts": float64(started.Unix()),
			"last_ended": "2026-03-01 10:05:00 +0000", "last_ended_ts": float64(ended.Unix()),
			"next_schedule": "2026-03-01 16:00:00 +0000", "next_schedule_ts": float64(next.Unix()),
			"upstream": "https://registry.npmjs.org", "size": "640G"},
		{"name": "pypi", "is_master": true, "status": "syncing",
			"last_update": zeroText, "last_update_ts": zeroTs,
			"last_started": "2026-03-01 10:00:00 +0000", "last_started_ts": float64(started.Unix()),
			"last_ended": zeroText, "last_ended_ts": zeroTs,
			"next_schedule": zeroText, "next_schedule_ts": zeroTs,
			"upstream": "https://pypi.org", "size": "unknown"},
		{"name": "oci", "is_master": true, "status": "none",
			"last_update": zeroText, "last_update_ts": zeroTs, "last_started": zeroText, "last_started_ts": zeroTs,
			"last_ended": zeroText, "last_ended_ts": zeroTs, "next_schedule": zeroText, "next_schedule_ts": zeroTs,
			"upstream": "https://registry-1.docker.io", "size": "4.0K"},
		{"name": "vuln", "is_master": true, "status": "none",
			"last_update": zeroText, "last_update_ts": zeroTs, "last_started": zeroText, "last_started_ts": zeroTs,
			"last_ended": zeroText, "last_ended_ts": zeroTs,
			"next_schedule": "2026-03-01 16:00:00 +0000", "next_schedule_ts": float64(next.Unix()),
			"upstream": "https://vuln.go.dev", "size": "500"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d jobs, want %d", len(got), len(want))
	}
	for i := range want {
		for k, v := range want[i] {
			if !reflect.DeepEqual(got[i][k], v) {
				t.Errorf("job %d (%v) %s: got %#v, want %#v", i, want[i]["name"], k, got[i][k], v)
			}
		}
		for k := range got[i] {
			if _, ok := want[i][k]; !ok {
				t.Errorf("job %d: unexpected field %q", i, k)
			}
		}
	}
}

func TestMirrorz(t *testing.T) {
	var got map[string]any
	rec := getJSON(t, MirrorzHandler(mirrors, Options{Site: Site{Name: "Example mirror", Email: "ops@example.org"}}), "/mirrorz.json", &got)
	if rec.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("CORS: got %q, want *", rec.Header().Get("Access-Control-Allow-Origin"))
	}
	if got["version"] != 1.7 {
		t.Errorf("version: got %v, want 1.7", got["version"])
	}
	wantSite := map[string]any{"url": "http://mirror.example:8080", "abbr": "gomirror", "name": "Example mirror", "email": "ops@example.org"}
	if !reflect.DeepEqual(got["site"], wantSite) {
		t.Errorf("site: got %v, want %v", got["site"], wantSite)
	}
	if info, ok := got["info"].([]any); !ok || len(info) != 0 {
		t.Errorf("info: got %#v, want []", got["info"])
	}
	want := []map[string]any{
		{"cname": "goproxy", "desc": "Go module proxy", "url": "http://mirror.example:8080", "help": "/help/go",
			"upstream": "https://proxy.golang.org", "size": "1.2G", "status": "S1772359500X1772380800"},
		{"cname": "npm", "desc": "npm registry", "url": "/npm", "help": "/help/npm",
			"upstream": "https://registry.npmjs.org", "size": "640G", "status": "F1772359500O1772273100X1772380800"},
		{"cname": "pypi", "desc": "Python package index", "url": "/pypi/simple", "help": "/help/pypi",
			"upstream": "https://pypi.org", "status": "Y1772359200"},
		{"cname": "dockerhub", "desc": "Container images", "url": "/v2", "help": "/help/oci",
			"upstream": "https://registry-1.docker.io", "size": "4.0K", "status": "C"},
		{"cname": "govulndb", "desc": "Go vulns", "url": "/vuln", "help": "/help/vuln",
			"upstream": "https://vuln.go.dev", "size": "500", "status": "D1772380800"},
	}
	ms, _ := got["mirrors"].([]any)
	if len(ms) != len(want) {
		t.Fatalf("got %d mirrors, want %d", len(ms), len(want))
	}
	for i, w := range want {
		m := ms[i].(map[string]any)
		if !reflect.DeepEqual(m, w) {
			t.Errorf("mirror %d:\ngot  %v\nwant %v", i, m, w)
		}
	}
	// The timestamps above are the fixture's times.
	for _, c := range []struct {
		ts   int64
		want time.Time
	}{{1772359500, ended}, {1772380800, next}, {1772273100, older}, {1772359200, started}} {
		if !time.Unix(c.ts, 0).Equal(c.want) {
			t.Errorf("fixture: %d is not %v", c.ts, c.want)
		}
	}
}

func TestMirrorzStatusPattern(t *testing.T) {
	// Every status is one main status and auxiliary ones, each [A-Z](\d+)?.
	for _, s := range []station.Sync{{State: station.Success}, {State: station.Partial, LastEnded: ended}, {State: "weird"}} {
		got := MirrorzStatus(s)
		if got == "" || got[0] < 'A' || got[0] > 'Z' || !slices.Contains([]byte("SYFDCU"), got[0]) {
			t.Errorf("MirrorzStatus(%v) = %q, want a main status first", s.State, got)
		}
	}
	if got := MirrorzStatus(station.Sync{State: station.Partial, LastEnded: ended}); got != "F1772359500" {
		t.Errorf("partial: got %q, want F with the end time", got)
	}
}

func TestFeedsRefuseOtherMethods(t *testing.T) {
	for _, h := range []http.Handler{TunasyncHandler(mirrors), MirrorzHandler(mirrors, Options{})} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/jobs", nil))
		if rec.Code != http.StatusMethodNotAllowed || rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("POST: got %d, Allow %q, want 405, GET, HEAD", rec.Code, rec.Header().Get("Allow"))
		}
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 1023: "1023", 1024: "1.0K", 1536: "1.5K", 10 << 20: "10M", 596 << 30: "596G", 3 << 40: "3.0T"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
