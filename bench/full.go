package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// runFull runs every measurement with the committed trace.
func (b *bench) runFull(ctx context.Context, o options) error {
	t, err := readTrace(b.tracePath())
	if err != nil {
		return fmt.Errorf("%v (record one with go run ./bench -record)", err)
	}
	if err := fetchBodies(ctx, b, t); err != nil {
		return err
	}
	for _, tool := range [][2]string{{"nginx", "nginx"}, {"wrk", "wrk"}} {
		if err := b.ensureTool(ctx, tool[0], tool[1]); err != nil {
			return err
		}
	}
	if err := b.build(ctx); err != nil {
		return err
	}
	b.gosumdb = "sum.golang.org"
	sdb := &sumdbCache{dir: filepath.Join(b.cache, "sumdb"), upstream: b.realProxy, client: b.netClient}
	sim := &simulator{dir: b.bodies, sumdb: sdb}
	sim.setLink(link{})
	simURL, stopSim, err := sim.start()
	if err != nil {
		return err
	}
	defer stopSim()

	// Prime the checksum database cache: not timed.
	b.logf("priming: %d requests, %.1f MB, through gomirror", len(t), float64(t.totalBytes())/1e6)
	data, err := os.MkdirTemp(b.work, "prime-")
	if err != nil {
		return err
	}
	m, err := b.startMirror(ctx, data, simURL)
	if err != nil {
		return err
	}
	_, err = replay(ctx, m.URL, t, o.clients)
	m.stop()
	os.RemoveAll(data)
	if err != nil {
		return fmt.Errorf("priming: %w", err)
	}
	primed := sdb.misses.Load()

	s := &suite{
		trace: t, sim: sim, simURL: simURL,
		runs: o.runs, warmRuns: o.warmRuns, peers: o.peers, clients: o.clients, conns: o.conns, loadDur: o.loadDur,
		near: o.near, far: o.far,
		bigSizes:   []int64{1e6, 100e6},
		scaleSizes: []int{1_000, 1_000_000},
		scaleCache: b.cache,
		hitCount:   5000,
		sections:   sections(o.only),
	}
	err = b.runSuite(ctx, s)
	fmt.Fprintf(b.out, "\n%s\nSimulated upstream: %s. Replays: %d runs each, median.\n", machine(), o.near, o.runs)
	fmt.Fprintf(b.out, "Checksum database requests passed through to %s: %d while priming, %d while measuring.\n\n", b.realProxy, primed, sdb.misses.Load()-primed)
	fmt.Fprint(b.out, s.table())
	if o.out != "" {
		os.WriteFile(o.out, []byte(s.table()), 0o644)
	}
	return err
}

func sections(only string) map[string]bool {
	if only == "" {
		return nil
	}
	m := map[string]bool{}
	for s := range strings.SplitSeq(only, ",") {
		m[strings.TrimSpace(s)] = true
	}
	return m
}

// machine describes this machine for the report.
func machine() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Machine: %d CPUs (nproc)", runtime.NumCPU())
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(data), "\n")
		fmt.Fprintf(&b, ", %s", strings.Join(strings.Fields(line), " "))
	}
	if out, err := exec.Command("uname", "-sr").Output(); err == nil {
		fmt.Fprintf(&b, ", kernel %s", strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("go", "env", "GOVERSION").Output(); err == nil {
		fmt.Fprintf(&b, ", %s", strings.TrimSpace(string(out)))
	}
	if out, err := exec.Command("nginx", "-v").CombinedOutput(); err == nil {
		fmt.Fprintf(&b, ", %s", strings.TrimSpace(strings.TrimPrefix(string(out), "nginx version: ")))
	}
	if out, err := exec.Command("wrk", "-v").CombinedOutput(); err == nil || len(out) > 0 {
		line, _, _ := strings.Cut(string(out), "\n")
		fmt.Fprintf(&b, ", %s", strings.Fields(line + " wrk")[0]+" "+strings.Fields(line + " ? ?")[1])
	}
	fmt.Fprintf(&b, ", %s", time.Now().UTC().Format("2006-01-02"))
	return b.String()
}
