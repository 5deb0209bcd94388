package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// phaseSums are the sums and counts of gomirror's fill-phase and checksum
// database histograms, read from its /metrics: where a cold fill's time
// goes beyond the upstream's own answer.
type phaseSums struct {
	// fill is keyed by kind and phase (upstream, check, lookup, store).
	fill map[[2]string]*sumCount
	// sumdb is keyed by the kind of checksum database request.
	sumdb map[string]*sumCount
}

type sumCount struct {
	sum   float64
	count int64
}

func (s *sumCount) mean() time.Duration {
	if s == nil || s.count == 0 {
		return 0
	}
	return time.Duration(s.sum / float64(s.count) * float64(time.Second))
}

var metricLine = regexp.MustCompile(`^(gomirror_fill_phase_seconds|gomirror_sumdb_fetch_duration_seconds)_(sum|count)\{([^}]*)\} (\S+)$`)

// readPhases adds what gomirror at url has observed to p.
func (p *phaseSums) read(ctx context.Context, url string) error {
	if p.fill == nil {
		p.fill = make(map[[2]string]*sumCount)
		p.sumdb = make(map[string]*sumCount)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/metrics", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		m := metricLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		labels := map[string]string{}
		for kv := range strings.SplitSeq(m[3], ",") {
			k, v, _ := strings.Cut(kv, "=")
			labels[k] = strings.Trim(v, `"`)
		}
		var sc *sumCount
		if m[1] == "gomirror_fill_phase_seconds" {
			if labels["ecosystem"] != "go" {
				continue
			}
			key := [2]string{labels["kind"], labels["phase"]}
			if sc = p.fill[key]; sc == nil {
				sc = &sumCount{}
				p.fill[key] = sc
			}
		} else {
			if sc = p.sumdb[labels["kind"]]; sc == nil {
				sc = &sumCount{}
				p.sumdb[labels["kind"]] = sc
			}
		}
		v, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			continue
		}
		if m[2] == "sum" {
			sc.sum += v
		} else {
			sc.count += int64(v)
		}
	}
	return sc.Err()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

// rows adds the table rows of p to s, under section.
func (p *phaseSums) rows(s *suite, section, label string) {
	for _, kind := range []string{"info", "mod", "zip", "list"} {
		up := p.fill[[2]string{kind, "upstream"}]
		if up == nil || up.count == 0 {
			continue
		}
		check, lookup, store := p.fill[[2]string{kind, "check"}], p.fill[[2]string{kind, "lookup"}], p.fill[[2]string{kind, "store"}]
		verify := check.mean() - lookup.mean()
		beyond := check.mean() + store.mean()
		s.add(row{section, fmt.Sprintf("%s: a .%s fill, mean of %d: upstream's answer / lookup wait / verification after the last byte / store", label, kind, up.count),
			fmt.Sprintf("%s / %s / %s / %s", ms(up.mean()), ms(lookup.mean()), ms(verify), ms(store.mean())),
			"", fmt.Sprintf("%s beyond upstream (%.2f×)", ms(beyond), float64(up.mean()+beyond)/float64(max(up.mean(), 1))), "", ""})
	}
	var parts []string
	for _, kind := range []string{"lookup", "tile", "latest"} {
		if sc := p.sumdb[kind]; sc != nil && sc.count > 0 {
			parts = append(parts, fmt.Sprintf("%s %d × %s", kind, sc.count, ms(sc.mean())))
		}
	}
	if len(parts) > 0 {
		s.add(row{section, label + ": checksum database requests sent upstream, count × mean", strings.Join(parts, ", "), "", "", "", ""})
	}
}
