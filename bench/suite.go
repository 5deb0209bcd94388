package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// suite says what one run of the measurements does.
type suite struct {
	trace      trace
	sim        *simulator
	simURL     string
	runs       int
	warmRuns   int  // warm replays of each server; the best counts
	peers      bool // also measure the peers
	clients    int
	conns      int
	loadDur    time.Duration
	near, far  link
	bigSizes   []int64 // file sizes of the memory test
	scaleSizes []int   // stored versions of the scale test
	scaleCache string  // where synthetic stores are kept
	hitCount   int     // requests per scale point
	sections   map[string]bool

	rows []row
	ndir int
	// coldRatio is gomirror's median cold fill over the straight replay,
	// once the cold section has run.
	coldRatio float64
	// rss is gomirror's memory as the peers' is measured: idle after the
	// warm passes, restAfterWarm later, and the peak (VmHWM) over its
	// cold fills and its warm and wrk runs; zero where not measured.
	rss struct{ idle, rested, peak int64 }
}

// restAfterWarm is how long a server is left without a request before
// its idle RSS is read again: long enough for gomirror to drop the files
// its memory cache kept for the last burst (5 s after their last hit,
// swept every 10 s).
const restAfterWarm = 16 * time.Second

// rest waits restAfterWarm; a smoke run, which reads no figure, does not
// wait and returns errSkip.
func (b *bench) rest(ctx context.Context) error {
	if b.smoke {
		return errSkip
	}
	select {
	case <-time.After(restAfterWarm):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// row is one line of the results table.
type row struct {
	section, measure, value, baseline, ratio, target, verdict string
}

func (s *suite) add(r row) { s.rows = append(s.rows, r) }

func (s *suite) want(section string) bool { return len(s.sections) == 0 || s.sections[section] }

// dataDir returns a new empty data directory.
func (s *suite) dataDir(b *bench) string {
	s.ndir++
	dir := filepath.Join(b.work, fmt.Sprintf("data-%d", s.ndir))
	os.MkdirAll(dir, 0o755)
	return dir
}

func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func medianF(fs []float64) float64 {
	fs = slices.Clone(fs)
	slices.Sort(fs)
	return fs[len(fs)/2]
}

func secs(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
func mb(n int64) string           { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

// verdict says whether ratio meets a target of at most (or, with atLeast,
// at least) limit.
func verdict(ratio, limit float64, atLeast bool) string {
	if atLeast == (ratio >= limit) || ratio == limit {
		return "met"
	}
	return "NOT met"
}

// runSuite runs the sections of s.
func (b *bench) runSuite(ctx context.Context, s *suite) error {
	var warmData string
	var nearCold time.Duration
	if s.want("cold") {
		var direct, cold, cpu []time.Duration
		var idleStart, peak int64
		var phases phaseSums
		for i := range s.runs {
			s.sim.setLink(s.near)
			d, err := replay(ctx, s.simURL, s.trace, s.clients)
			if err != nil {
				return fmt.Errorf("straight from the upstream: %w", err)
			}
			direct = append(direct, d)
			data := s.dataDir(b)
			m, err := b.startMirror(ctx, data, s.simURL)
			if err != nil {
				return err
			}
			if mem, err := readMemory(m.pid()); err == nil && i == 0 {
				idleStart = mem.RSS
			}
			d, err = replay(ctx, m.URL, s.trace, s.clients)
			if err != nil {
				m.stop()
				return fmt.Errorf("cold fill through gomirror: %w", err)
			}
			cold = append(cold, d)
			if err := phases.read(ctx, m.URL); err != nil {
				b.logf("reading gomirror's fill phases: %v", err)
			}
			if mem, err := readMemory(m.pid()); err == nil {
				peak = max(peak, mem.HWM)
			}
			if c, err := cpuTime(m.pid()); err == nil {
				cpu = append(cpu, c)
			}
			m.stop()
			warmData = data
			b.logf("cold run %d: straight %v, through gomirror %v (CPU %v)", i+1, direct[i].Round(time.Millisecond), d.Round(time.Millisecond), cpu[len(cpu)-1])
		}
		nearCold = median(cold)
		r := nearCold.Seconds() / median(direct).Seconds()
		s.coldRatio = r
		s.add(row{"cold", fmt.Sprintf("cold fill, verified (%d requests, %s, %d clients)", len(s.trace), mb(s.trace.totalBytes()), s.clients),
			secs(nearCold), secs(median(direct)) + " straight from upstream", fmt.Sprintf("%.2f×", r), "≤ 1.25×", verdict(r, 1.25, false)})
		if len(cpu) > 0 {
			s.add(row{"cold", "CPU time of gomirror during the cold fill (user+system)", secs(median(cpu)), "", "", "", ""})
		}
		phases.rows(s, "cold", fmt.Sprintf("fill phases over %d cold runs", s.runs))
		s.add(row{"memory", "RSS idle, just started", mb(idleStart), "", "", "≤ 40 MB", verdict(float64(idleStart), 40e6, false)})
		s.add(row{"memory", "peak RSS (VmHWM) during a cold fill", mb(peak), "", "", "", ""})
		s.rss.peak = max(s.rss.peak, peak)
	}
	if s.want("gocmd") && !b.smoke {
		if err := b.goCommand(ctx, s); err != nil {
			return err
		}
	}
	if warmData == "" && (s.want("warm") || s.want("load") || s.want("memory") || s.peers) {
		s.sim.setLink(link{})
		warmData = s.dataDir(b)
		m, err := b.startMirror(ctx, warmData, s.simURL)
		if err != nil {
			return err
		}
		_, err = replay(ctx, m.URL, s.trace, s.clients)
		m.stop()
		if err != nil {
			return fmt.Errorf("filling: %w", err)
		}
	}
	if s.want("warm") || s.want("load") {
		if err := b.warmAndLoad(ctx, s, warmData); err != nil {
			return err
		}
	}
	if s.want("memory") {
		if err := b.memory(ctx, s, warmData); err != nil {
			return err
		}
	}
	if s.want("scale") {
		if err := b.scale(ctx, s); err != nil {
			return err
		}
	}
	if s.want("far") {
		if err := b.farUpstream(ctx, s, nearCold); err != nil {
			return err
		}
	}
	if s.want("eco") && !b.smoke {
		if err := b.ecosystems(ctx, s); err != nil {
			return err
		}
	}
	if s.peers {
		if err := b.measurePeers(ctx, s, warmData); err != nil {
			return err
		}
	}
	return nil
}

// warmAndLoad compares warm gomirror with nginx serving the same files.
func (b *bench) warmAndLoad(ctx context.Context, s *suite, data string) error {
	m, err := b.startMirror(ctx, data, s.simURL)
	if err != nil {
		return err
	}
	defer m.stop()
	ng, ngURL, err := b.startNginx(ctx, data)
	if err != nil {
		return err
	}
	defer ng.stop()
	targets := []struct{ name, url string }{{"nginx", ngURL}, {"gomirror", m.URL}}
	if s.want("warm") {
		times := map[string][]time.Duration{}
		for i := range max(s.warmRuns, 1) + 1 {
			for _, t := range targets {
				d, err := replay(ctx, t.url, s.trace, s.clients)
				if err != nil {
					return fmt.Errorf("warm %s: %w", t.name, err)
				}
				if i > 0 { // the first run warms the page cache
					times[t.name] = append(times[t.name], d)
				}
			}
		}
		// A single pass is noise on a shared machine: the best of the
		// alternating passes counts, the medians are logged.
		g, n := slices.Min(times["gomirror"]), slices.Min(times["nginx"])
		b.logf("warm: best gomirror %v nginx %v; median gomirror %v nginx %v", g, n, median(times["gomirror"]), median(times["nginx"]))
		r := g.Seconds() / n.Seconds()
		s.add(row{"warm", fmt.Sprintf("warm replay (%d clients), best of %d", s.clients, len(times["gomirror"])), secs(g), secs(n) + " nginx (best)", fmt.Sprintf("%.2f×", r), "≤ 1.0×", verdict(r, 1.0, false)})
		s.add(row{"warm", "warm replay, median of the same passes", secs(median(times["gomirror"])), secs(median(times["nginx"])) + " nginx", fmt.Sprintf("%.2f×", median(times["gomirror"]).Seconds()/median(times["nginx"]).Seconds()), "", ""})
		if mem, err := readMemory(m.pid()); err == nil {
			s.add(row{"memory", "RSS idle, after warm replays", mb(mem.RSS), "", "", "≤ 40 MB", verdict(float64(mem.RSS), 40e6, false)})
			s.rss.idle = mem.RSS
		}
		if b.rest(ctx) == nil {
			if mem, err := readMemory(m.pid()); err == nil {
				s.add(row{"memory", "RSS idle, " + restAfterWarm.String() + " after the warm replays", mb(mem.RSS), "", "", "", ""})
				s.rss.rested = mem.RSS
			}
		}
	}
	if s.want("load") {
		paths := hotPaths(s.trace, 256)
		rps, p99 := map[string][]float64{}, map[string][]float64{}
		for range max(s.runs, 1) {
			for _, t := range targets {
				res, err := b.runWrk(ctx, t.url, paths, s.conns, s.loadDur)
				if err != nil {
					return err
				}
				if res.Non2xx > 0 || res.Errors != "" {
					return fmt.Errorf("wrk against %s: %d non-2xx answers; %s", t.name, res.Non2xx, res.Errors)
				}
				rps[t.name] = append(rps[t.name], res.RPS)
				p99[t.name] = append(p99[t.name], float64(res.P99))
				b.logf("wrk %s: %.0f req/s, p50 %v, p99 %v", t.name, res.RPS, res.P50, res.P99)
			}
		}
		g, n := medianF(rps["gomirror"]), medianF(rps["nginx"])
		r := g / n
		s.add(row{"load", fmt.Sprintf("requests/s, %d connections, %d hot files", s.conns, len(paths)), fmt.Sprintf("%.0f", g), fmt.Sprintf("%.0f nginx", n), fmt.Sprintf("%.2f×", r), "≥ 1.0×", verdict(r, 1.0, true)})
		gp, np := time.Duration(medianF(p99["gomirror"])), time.Duration(medianF(p99["nginx"]))
		r = gp.Seconds() / np.Seconds()
		s.add(row{"load", fmt.Sprintf("p99 latency, %d connections", s.conns), gp.String(), np.String() + " nginx", fmt.Sprintf("%.2f×", r), "≤ 1.2×", verdict(r, 1.2, false)})

		// What the access log costs: the same load on a gomirror that
		// logs warnings only.
		quiet, err := b.startMirror(ctx, data, s.simURL, "--log-level", "warn")
		if err != nil {
			return err
		}
		res, err := b.runWrk(ctx, quiet.URL, paths, s.conns, s.loadDur)
		quiet.stop()
		if err != nil {
			return err
		}
		b.logf("wrk gomirror --log-level warn: %.0f req/s, p50 %v, p99 %v", res.RPS, res.P50, res.P99)
		s.add(row{"load", "requests/s as above, gomirror with --log-level warn (no access log)", fmt.Sprintf("%.0f", res.RPS), fmt.Sprintf("%.0f nginx (with its access log)", n), fmt.Sprintf("%.2f×", res.RPS/n), "", ""})
	}
	if mem, err := readMemory(m.pid()); err == nil {
		s.add(row{"memory", "peak RSS (VmHWM) over the warm passes and wrk runs", mb(mem.HWM), "", "", "", ""})
		s.rss.peak = max(s.rss.peak, mem.HWM)
	}
	return nil
}

// hotPaths picks up to n small files of t: .info, .mod and small zips.
func hotPaths(t trace, n int) []string {
	var paths []string
	for _, e := range t {
		if e.Status == 200 && e.Size <= 64<<10 && len(paths) < n {
			paths = append(paths, e.Path)
		}
	}
	return paths
}

// memory measures gomirror's RSS while conns clients download one big
// file, for each size in s.bigSizes.
func (b *bench) memory(ctx context.Context, s *suite, data string) error {
	var peaks []int64
	for i, size := range s.bigSizes {
		name := fmt.Sprintf("example.com/bench/big%d/@v/v1.0.0.zip", i)
		file := filepath.Join(data, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return err
		}
		f, err := os.Create(file)
		if err != nil {
			return err
		}
		_, err = io.CopyN(f, rand.Reader, size)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		m, err := b.startMirror(ctx, data, s.simURL)
		if err != nil {
			return err
		}
		smp := sampleRSS(m.pid())
		res, err := b.runWrk(ctx, m.URL, []string{"/" + name}, s.conns, s.loadDur)
		peak := smp.end()
		mem, _ := readMemory(m.pid())
		m.stop()
		if err != nil {
			return err
		}
		if res.Non2xx > 0 {
			return fmt.Errorf("wrk: %d non-2xx answers for %s", res.Non2xx, name)
		}
		peak = max(peak, mem.HWM)
		peaks = append(peaks, peak)
		b.logf("memory: %s file, %d clients: peak RSS %s, %.0f downloads/s", mb(size), s.conns, mb(peak), res.RPS)
		s.add(row{"memory", fmt.Sprintf("peak RSS, %d clients downloading a %s zip (%.0f downloads/s)", s.conns, mb(size), res.RPS), mb(peak), "", "", "≤ 80 MB", verdict(float64(peak), 80e6, false)})
	}
	if len(peaks) > 1 {
		r := float64(peaks[len(peaks)-1]) / float64(peaks[0])
		s.add(row{"memory", fmt.Sprintf("peak RSS growth from a %s to a %s file", mb(s.bigSizes[0]), mb(s.bigSizes[len(s.bigSizes)-1])), mb(peaks[len(peaks)-1]), mb(peaks[0]), fmt.Sprintf("%.2f×", r), "no growth (≈1.0×)", verdict(r, 1.15, false)})
	}
	return nil
}

// scale measures hit latency and startup with synthetic stores. Hits are
// timed with the filesystem's caches warm, for gomirror and for nginx on
// the same store, so that what grows with the store's size shows as the
// filesystem's share.
func (b *bench) scale(ctx context.Context, s *suite) error {
	var firstP50 time.Duration
	for i, n := range s.scaleSizes {
		dir, err := scaleStore(ctx, s.scaleCache, n, func(msg string) { b.logf("%s", msg) })
		if err != nil {
			return err
		}
		ng, ngURL, err := b.startNginx(ctx, dir)
		if err != nil {
			return err
		}
		// Warm the caches with the requests that are timed.
		if _, _, err := hitLatency(ctx, ngURL, n, s.hitCount); err != nil {
			ng.stop()
			return err
		}
		var starts []time.Duration
		var p50, p99 time.Duration
		for range max(s.runs, 1) {
			m, err := b.startMirror(ctx, dir, s.simURL)
			if err != nil {
				ng.stop()
				return err
			}
			starts = append(starts, m.startup)
			if p50 == 0 {
				p50, p99, err = hitLatency(ctx, m.URL, n, s.hitCount)
			}
			m.stop()
			if err != nil {
				ng.stop()
				return err
			}
		}
		np50, np99, err := hitLatency(ctx, ngURL, n, s.hitCount)
		ng.stop()
		if err != nil {
			return err
		}
		b.logf("scale %d versions: hit p50 %v p99 %v (nginx %v, %v), startup %v", n, p50, p99, np50, np99, median(starts))
		lat := func(a, b time.Duration) string {
			return a.Round(time.Microsecond).String() + " / " + b.Round(time.Microsecond).String()
		}
		measure := fmt.Sprintf("hit latency, %d stored versions, p50 / p99", n)
		if i == 0 {
			firstP50 = p50
			s.add(row{"scale", measure, lat(p50, p99), lat(np50, np99) + " nginx", fmt.Sprintf("%.2f× nginx", p50.Seconds()/np50.Seconds()), "", ""})
		} else {
			r := p50.Seconds() / firstP50.Seconds()
			s.add(row{"scale", measure, lat(p50, p99), lat(np50, np99) + " nginx", fmt.Sprintf("%.2f× nginx; %.2f× the p50 at %d", p50.Seconds()/np50.Seconds(), r, s.scaleSizes[0]), "no growth (≈1.0×)", verdict(r, 1.25, false)})
		}
		st := median(starts)
		s.add(row{"scale", fmt.Sprintf("startup to first /healthz 200, %d stored versions", n), st.Round(time.Millisecond).String(), "", "", "≤ 1 s", verdict(st.Seconds(), 1, false)})
	}
	return nil
}

// farUpstream measures the trace through a cross-border link.
func (b *bench) farUpstream(ctx context.Context, s *suite, nearCold time.Duration) error {
	s.sim.setLink(s.far)
	defer s.sim.setLink(s.near)
	direct, err := replay(ctx, s.simURL, s.trace, s.clients)
	if err != nil {
		return fmt.Errorf("straight from the far upstream: %w", err)
	}
	m, err := b.startMirror(ctx, s.dataDir(b), s.simURL)
	if err != nil {
		return err
	}
	defer m.stop()
	cold, err := replay(ctx, m.URL, s.trace, s.clients)
	if err != nil {
		return fmt.Errorf("cold fill from the far upstream: %w", err)
	}
	var phases phaseSums
	if err := phases.read(ctx, m.URL); err != nil {
		b.logf("reading gomirror's fill phases: %v", err)
	}
	warm, err := replay(ctx, m.URL, s.trace, s.clients)
	if err != nil {
		return fmt.Errorf("warm after the far upstream: %w", err)
	}
	b.logf("far upstream: straight %v, cold %v, warm %v", direct, cold, warm)
	s.add(row{"far", "cross-border upstream (" + s.far.String() + "): straight from it", secs(direct), "", "", "", ""})
	s.add(row{"far", "warm gomirror vs straight from the cross-border upstream", secs(warm), secs(direct) + " straight", fmt.Sprintf("%.0f× faster", direct.Seconds()/warm.Seconds()), "report", ""})
	s.add(row{"far", "cold fill through gomirror vs straight from it", secs(cold), secs(direct) + " straight", fmt.Sprintf("%.2f×", cold.Seconds()/direct.Seconds()), "≤ 1.05×", verdict(cold.Seconds()/direct.Seconds(), 1.05, false)})
	phases.rows(s, "far", "fill phases of the cross-border cold run")
	serial := time.Duration(len(s.trace)) * s.far.RTT
	if nearCold > 0 {
		added := cold - nearCold
		s.add(row{"far", "latency the cold fill's parallelism hides", secs(added) + " added", secs(serial) + " if serial", fmt.Sprintf("%.0f%% hidden", 100*(1-added.Seconds()/serial.Seconds())), "report", ""})
	}
	return nil
}

// table renders the rows as Markdown.
func (s *suite) table() string {
	var b strings.Builder
	b.WriteString("| section | measure | gomirror | baseline | ratio | target | verdict |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- |\n")
	for _, r := range s.rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", r.section, r.measure, r.value, r.baseline, r.ratio, r.target, r.verdict)
	}
	return b.String()
}
