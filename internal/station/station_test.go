package station

import (
	"crypto/tls"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/jobs"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func at(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }

func job(name, mirror string, edit func(*jobs.Status)) jobs.Status {
	s := jobs.Status{Name: name, Mirror: mirror, Kind: mirror}
	edit(&s)
	return s
}

func ok(start, end, next int) func(*jobs.Status) {
	return func(s *jobs.Status) {
		s.LastStart, s.LastEnd, s.LastSuccess, s.Result, s.NextRun = at(start), at(end), at(end), jobs.Success, at(next)
	}
}

func TestSummarize(t *testing.T) {
	for _, tc := range []struct {
		name string
		jobs []jobs.Status
		want Sync
	}{
		{"no job", nil, Sync{State: Cache}},
		{"never ran", []jobs.Status{job("a", "npm", func(s *jobs.Status) { s.NextRun = at(0) })},
			Sync{State: Pending, Jobs: []string{"a"}, NextRun: at(0)}},
		{"all succeeded", []jobs.Status{job("a", "npm", ok(0, 1, 7)), job("b", "npm", ok(2, 3, 5))},
			Sync{State: Success, Jobs: []string{"a", "b"}, LastStarted: at(2), LastEnded: at(3), LastSuccess: at(1), NextRun: at(5)}},
		{"one failed", []jobs.Status{job("a", "npm", ok(0, 1, 7)), job("b", "npm", func(s *jobs.Status) {
			ok(2, 3, 5)(s)
			s.LastSuccess, s.Result, s.Error = time.Time{}, jobs.Failed, "fetched nothing"
		})}, Sync{State: Failed, Jobs: []string{"a", "b"}, LastStarted: at(2), LastEnded: at(3), NextRun: at(5), Error: "b: fetched nothing"}},
		{"partial", []jobs.Status{job("a", "npm", func(s *jobs.Status) {
			ok(0, 1, 7)(s)
			s.Result, s.Error = jobs.Partial, "1 of 3 requests failed"
		})}, Sync{State: Partial, Jobs: []string{"a"}, LastStarted: at(0), LastEnded: at(1), LastSuccess: at(1), NextRun: at(7), Error: "a: 1 of 3 requests failed"}},
		{"running wins", []jobs.Status{job("a", "npm", func(s *jobs.Status) {
			ok(0, 1, 7)(s)
			s.Result, s.Running, s.LastStart = jobs.Failed, true, at(4)
		})}, Sync{State: Syncing, Jobs: []string{"a"}, LastStarted: at(4), LastEnded: at(1), LastSuccess: at(1), NextRun: at(7)}},
		{"ran elsewhere", []jobs.Status{job("a", "npm", func(s *jobs.Status) {
			s.LastStart, s.LastEnd, s.Elsewhere, s.NextRun = at(0), at(2), true, at(8)
		})}, Sync{State: Success, Jobs: []string{"a"}, LastStarted: at(0), LastEnded: at(2), LastSuccess: at(2), NextRun: at(8)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Summarize(tc.jobs)
			if got.State != tc.want.State || !slices.Equal(got.Jobs, tc.want.Jobs) || got.Error != tc.want.Error ||
				!got.LastStarted.Equal(tc.want.LastStarted) || !got.LastEnded.Equal(tc.want.LastEnded) ||
				!got.LastSuccess.Equal(tc.want.LastSuccess) || !got.NextRun.Equal(tc.want.NextRun) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

type fakeJobs []jobs.Status

func (f fakeJobs) Jobs() []jobs.Status { return f }

type fakeSizes map[string]int64

func (f fakeSizes) Size(id string) (int64, time.Time, bool) {
	n, ok := f[id]
	return n, t0, ok
}

func TestCatalog(t *testing.T) {
	c := NewCatalog([]Info{{ID: "go", Upstream: "https://goproxy.example"}, {ID: "npm"}, {ID: "extra", Name: "Extra"}},
		fakeJobs{job("js", "npm", ok(0, 1, 2))}, fakeSizes{"npm": 42})
	ms := c.Mirrors(t.Context())
	if len(ms) != 3 {
		t.Fatalf("got %d mirrors, want 3", len(ms))
	}
	if m := ms[0]; m.ID != "go" || m.Name != "Go modules" || m.Path != "/" || m.Upstream != "https://goproxy.example" ||
		m.CName != "goproxy" || m.Sync.State != Cache || m.SizeKnown {
		t.Errorf("go: got %+v", m)
	}
	if m := ms[1]; m.ID != "npm" || m.Upstream != "https://registry.npmjs.org" || m.Sync.State != Success || m.Size != 42 || !m.SizeKnown {
		t.Errorf("npm: got %+v", m)
	}
	if m := ms[2]; m.Name != "Extra" || m.Path != "/extra/" {
		t.Errorf("extra: got %+v", m)
	}
}

func TestBaseURL(t *testing.T) {
	for _, tc := range []struct {
		name, host, public, proto string
		tls                       bool
		want                      string
	}{
		{"host", "mirror.example:8080", "", "", false, "http://mirror.example:8080"},
		{"tls", "mirror.example", "", "", true, "https://mirror.example"},
		{"proxy", "mirror.example", "", "https", false, "https://mirror.example"},
		{"public", "10.0.0.1", "https://goproxy.example/", "", false, "https://goproxy.example"},
		{"ipv6", "[::1]:8080", "", "", false, "http://[::1]:8080"},
		{"bad host", "evil.example\"><script>", "", "", false, "http://localhost"},
		{"bad port", "mirror.example:x", "", "", false, "http://localhost"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Host = tc.host
			if tc.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tc.proto)
			}
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if got := BaseURL(r, tc.public); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func FuzzBaseURL(f *testing.F) {
	for _, s := range []string{"mirror.example:8080", "[::1]:80", "a b", "x\"><y", "", "ex.com:99999999999999999999", "ünï.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, host string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.Host = host
		got := BaseURL(r, "")
		if strings.ContainsAny(got, "\"'<> \t\n\\") {
			t.Errorf("BaseURL with Host %q = %q: unsafe characters", host, got)
		}
		if u, err := url.Parse(got); err != nil || u.Host == "" || u.Path != "" {
			t.Errorf("BaseURL with Host %q = %q: not a base URL (%v)", host, got, err)
		}
	})
}
