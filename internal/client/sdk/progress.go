package sdk

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// progress reports a download's progress to w: on a terminal, one bar
// redrawn in place at most ten times a second; otherwise a line at the
// start, at every quarter of a known size, and at the end.
type progress struct {
	w        io.Writer
	terminal bool
	name     string
	total    int64 // <= 0 when unknown
	n        int64
	last     time.Time
	quarter  int64
}

func newProgress(w io.Writer, terminal bool, name string, total int64) *progress {
	p := &progress{w: w, terminal: terminal, name: name, total: total}
	if w != nil && !terminal {
		if total > 0 {
			fmt.Fprintf(w, "downloading %s (%s)\n", name, formatSize(total))
		} else {
			fmt.Fprintf(w, "downloading %s\n", name)
		}
	}
	return p
}

// Write counts p's bytes; it never fails.
func (p *progress) Write(b []byte) (int, error) {
	if p.w == nil {
		return len(b), nil
	}
	p.n += int64(len(b))
	if p.terminal {
		if now := time.Now(); now.Sub(p.last) >= 100*time.Millisecond {
			p.last = now
			p.draw()
		}
		return len(b), nil
	}
	if p.total > 0 {
		if q := p.n * 4 / p.total; q > p.quarter && q < 4 {
			p.quarter = q
			fmt.Fprintf(p.w, "downloading %s: %d%% (%s of %s)\n", p.name, q*25, formatSize(p.n), formatSize(p.total))
		}
	}
	return len(b), nil
}

// draw redraws the bar, on one line of at most 80 columns.
func (p *progress) draw() {
	const width = 20
	name := p.name
	if r := []rune(name); len(r) > 28 {
		name = "…" + string(r[len(r)-27:])
	}
	if p.total <= 0 {
		fmt.Fprintf(p.w, "\r\033[K%s %s", name, formatSize(p.n))
		return
	}
	frac := min(float64(p.n)/float64(p.total), 1)
	fill := int(frac * width)
	bar := strings.Repeat("=", fill) + strings.Repeat(" ", width-fill)
	if fill > 0 && fill < width {
		bar = strings.Repeat("=", fill-1) + ">" + strings.Repeat(" ", width-fill)
	}
	fmt.Fprintf(p.w, "\r\033[K%s [%s] %3.0f%% %s / %s", name, bar, frac*100, formatSize(p.n), formatSize(p.total))
}

// done ends the report; ok says whether the download completed.
func (p *progress) done(ok bool) {
	if p.w == nil {
		return
	}
	if p.terminal {
		p.draw()
		fmt.Fprintln(p.w)
	}
	if ok {
		fmt.Fprintf(p.w, "downloaded %s (%s)\n", p.name, formatSize(p.n))
	} else {
		fmt.Fprintf(p.w, "download of %s stopped after %s\n", p.name, formatSize(p.n))
	}
}

// formatSize formats n bytes for people.
func formatSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
