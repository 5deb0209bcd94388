package benchmark

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gomirror/gomirror/internal/client/mirrortest"
	"github.com/gomirror/gomirror/internal/client/probes"
)

func TestRunRanksBestFirst(t *testing.T) {
	u, err := mirrortest.NewUniverse(probes.SumDB, mirrortest.DefaultModules())
	if err != nil {
		t.Fatal(err)
	}
	servers := map[string]string{}
	for name, b := range map[string]mirrortest.Behavior{"fast": mirrortest.Fast, "stale": mirrortest.Stale, "broken": mirrortest.Broken, "slow": mirrortest.Slow} {
		s := httptest.NewServer(u.Handler(b))
		defer s.Close()
		servers[name] = s.URL
	}
	var ms []Mirror
	for _, n := range []string{"slow", "broken", "stale", "fast"} {
		ms = append(ms, Mirror{Name: n, URL: servers[n]})
	}
	results := Run(t.Context(), Options{Mirrors: ms, Timeout: 2 * time.Second})
	if len(results) != 4 {
		t.Fatalf("got %d results, want 4", len(results))
	}
	want := []struct {
		name, fresh string
		rate        float64
	}{{"fast", "yes", 1}, {"stale", "no", 1}}
	for i, w := range want {
		r := results[i]
		if r.Name != w.name || r.Fresh != w.fresh || r.SuccessRate != w.rate || r.Rank != i+1 {
			t.Errorf("result %d: got %s fresh=%s rate=%v rank=%d, want %s fresh=%s rate=%v rank=%d", i, r.Name, r.Fresh, r.SuccessRate, r.Rank, w.name, w.fresh, w.rate, i+1)
		}
	}
	for _, r := range results[2:] {
		if r.Succeeded != 0 || len(r.Errors) == 0 {
			t.Errorf("%s: got %d successes and errors %v, want 0 and some errors", r.Name, r.Succeeded, r.Errors)
		}
	}
	if got, want := results[0].Requests, 2+3*len(probes.Modules()); got != want {
		t.Errorf("got %d requests per mirror, want %d", got, want)
	}
	if results[0].Newest != "v0.2.0" || results[1].Newest != "v0.1.0" {
		t.Errorf("got newest %q and %q, want v0.2.0 and v0.1.0", results[0].Newest, results[1].Newest)
	}
}
