package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// downloadAll runs the real `go mod download all` of the module in modDir
// (its go.mod and go.sum, copied into a fresh directory) against proxy,
// with an empty module cache and the checksum database gosumdb, and
// returns how long it took. With go.sum present and GOSUMDB=off, the go
// command asks no checksum database: what it waits for is the proxy.
func (b *bench) downloadAll(ctx context.Context, modDir, proxy, gosumdb string) (time.Duration, error) {
	work, err := os.MkdirTemp(b.work, "download-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(work)
	mod := filepath.Join(work, "mod")
	if err := os.MkdirAll(mod, 0o755); err != nil {
		return 0, err
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(modDir, f))
		if err != nil {
			return 0, err
		}
		if err := os.WriteFile(filepath.Join(mod, f), data, 0o644); err != nil {
			return 0, err
		}
	}
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "all")
	cmd.Dir = mod
	cmd.Env = append(os.Environ(),
		"GOPROXY="+proxy,
		"GOSUMDB="+gosumdb,
		"GONOSUMDB=", "GONOSUMCHECK=", "GOPRIVATE=", "GONOPROXY=", "GOINSECURE=",
		"GOFLAGS=-modcacherw",
		"GOTOOLCHAIN=local",
		"GOMODCACHE="+filepath.Join(work, "modcache"),
		"GOPATH="+filepath.Join(work, "gopath"),
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	t0 := time.Now()
	err = cmd.Run()
	d := time.Since(t0)
	if err != nil {
		return d, fmt.Errorf("go mod download all through %s: %v\n%s", proxy, err, out.String())
	}
	return d, nil
}

// goCommand times the real go command's cold download through a fresh
// gomirror against the same download straight from the simulated
// upstream, alternating, on the near link: the replay's figure checked
// with the client it models, whose own work (checking go.sum, unpacking
// every zip) is part of what a developer waits for.
func (b *bench) goCommand(ctx context.Context, s *suite) error {
	s.sim.setLink(s.near)
	var direct, cold []time.Duration
	for i := range s.runs {
		d, err := b.downloadAll(ctx, b.traceDir(), s.simURL, "off")
		if err != nil {
			return fmt.Errorf("straight from the upstream: %w", err)
		}
		direct = append(direct, d)
		m, err := b.startMirror(ctx, s.dataDir(b), s.simURL)
		if err != nil {
			return err
		}
		d, err = b.downloadAll(ctx, b.traceDir(), m.URL, "off")
		m.stop()
		if err != nil {
			return fmt.Errorf("through a cold gomirror: %w", err)
		}
		cold = append(cold, d)
		b.logf("go command run %d: straight %v, through a cold gomirror %v", i+1, direct[i].Round(time.Millisecond), d.Round(time.Millisecond))
	}
	r := median(cold).Seconds() / median(direct).Seconds()
	s.add(row{"gocmd", fmt.Sprintf("the go command's cold `go mod download all`, through gomirror (runs: %s)", runList(cold)),
		secs(median(cold)), fmt.Sprintf("%s straight from upstream (runs: %s)", secs(median(direct)), runList(direct)),
		fmt.Sprintf("%.2f×", r), "≤ 1.25×", verdict(r, 1.25, false)})
	return nil
}

// runList formats the durations of runs, in order.
func runList(ds []time.Duration) string {
	var b bytes.Buffer
	for i, d := range ds {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.2f", d.Seconds())
	}
	return b.String()
}
